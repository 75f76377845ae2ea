/* Scheduling hints for the threads of TALOS processes (os/: both sides). */
#ifndef TALOS_OS_SCHED_H
#define TALOS_OS_SCHED_H

/* Lower the calling thread's priority to the minimum (nice 19): for
 * cleanup that must happen but must not compete with the work a client is
 * waiting for (wiping a retired source's state, closing an import's
 * channel). Best effort: failures are ignored. */
void talos_thread_background(void);

#endif
