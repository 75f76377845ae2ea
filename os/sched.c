#include "os/sched.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void talos_thread_background(void)
{
    /* On Linux a nice value belongs to a thread: PRIO_PROCESS with a tid. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}
