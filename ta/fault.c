/* Fault points (ta/fault.h): compiled in only for test builds. */
#include "ta/fault.h"

#ifdef TALOS_FAULT_POINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

int talos_fault_tamper(const char *name)
{
    const char *want = getenv("TALOS_MIG_TAMPER");

    if (!want || strcmp(want, name) != 0)
        return 0;
    TLOG_WARN("test build: TALOS_MIG_TAMPER=%s: sending a wrong field", name);
    return 1;
}

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
    /* raise() (a signal to this thread), not kill(): a stop signal stops
     * the whole process either way, but kill() leaves it to the main
     * thread to take the signal, and on a busy machine this thread went on
     * past the fault point (sending the very chunk T15 then tampers) before
     * the main thread ran and stopped it. This thread stops before it
     * returns from raise(). */
    if (strcmp(want + n, ":stop") == 0) {
        raise(SIGSTOP);
        return;
    }
    raise(SIGKILL);
}
#else
/* An empty translation unit is not valid C. */
typedef int talos_fault_points_disabled;
#endif
