#include "os/sched.h"

#include <sys/resource.h>

void talos_thread_background(void)
{
    /* On Linux a nice value belongs to a thread, and PRIO_PROCESS with id 0
     * names the calling thread: the only one a confined sim TA may renice
     * (tee/sim/enclave/confine.c). */
    (void)setpriority(PRIO_PROCESS, 0, 19);
}
