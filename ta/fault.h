/* Fault points for the crash-matrix tests (SECURITY.md T16). They exist
 * only in test builds (-DTALOS_FAULT_POINTS): a normal TA image has no code
 * here at all. In a test build, $TALOS_FAULT=name[:stall|:stop] kills the
 * process with SIGKILL when execution reaches the named step, or (:stall)
 * blocks it there forever, or (:stop) stops the whole process with SIGSTOP
 * and goes on after SIGCONT — so that a test acting as the hostile host can
 * write the TA's memory at exactly that step (T15; sim has no isolation). */
#ifndef TALOS_TA_FAULT_H
#define TALOS_TA_FAULT_H

#ifdef TALOS_FAULT_POINTS
void talos_fault_point(const char *name);
#define TALOS_FAULT(name) talos_fault_point(name)
#else
#define TALOS_FAULT(name) ((void)0)
#endif

#endif
