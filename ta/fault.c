/* Fault points (ta/fault.h): compiled in only for test builds. */
#include "ta/fault.h"

#ifdef TALOS_FAULT_POINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void talos_fault_point(const char *name)
{
    const char *want = getenv("TALOS_FAULT");
    size_t n = 0;

    if (!name || !want)
        return;
    n = strcspn(want, ":");
    if (strlen(name) != n || strncmp(name, want, n) != 0)
        return;
    if (strcmp(want + n, ":stall") == 0)
        for (;;)
            pause();
    /* kill(), not raise(): the whole process stops, whichever thread got here. */
    if (strcmp(want + n, ":stop") == 0) {
        kill(getpid(), SIGSTOP);
        return;
    }
    raise(SIGKILL);
}
#else
/* An empty translation unit is not valid C. */
typedef int talos_fault_points_disabled;
#endif
