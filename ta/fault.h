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

/* Test builds only, too: $TALOS_MIG_TAMPER=name makes a source put one
 * wrong field into a record it sends inside its authenticated channel (a
 * BEGIN naming another previous chain head, a renumbered CHUNK, a HANDOFF
 * sealed for another version), so that tests can show the target refuses
 * what only a genuine but faulty source could send
 * (tests/attacks/t08_wrong_fields.sh). TALOS_TAMPER(name) is 1 when
 * the knob names `name` (and says so in the log); in a normal build it is
 * the constant 0 and the compiler drops the branch. */
#ifdef TALOS_FAULT_POINTS
int talos_fault_tamper(const char *name);
#define TALOS_TAMPER(name) talos_fault_tamper(name)
#else
#define TALOS_TAMPER(name) 0
#endif

#endif
