/* Fault points for the crash-matrix tests (SECURITY.md T16). They exist
 * only in test builds (-DTALOS_FAULT_POINTS): a normal TA image has no code
 * here at all. In a test build, $TALOS_FAULT=name[:stall] kills the process
 * with SIGKILL (or stops it forever) when execution reaches the named step. */
#ifndef TALOS_TA_FAULT_H
#define TALOS_TA_FAULT_H

#ifdef TALOS_FAULT_POINTS
void talos_fault_point(const char *name);
#define TALOS_FAULT(name) talos_fault_point(name)
#else
#define TALOS_FAULT(name) ((void)0)
#endif

#endif
