#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "talos";
static enum talos_log_level log_level = TALOS_LOG_WARN;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void talos_log_init(const char *prog, enum talos_log_level level)
{
    const char *env = getenv("TALOS_LOG");
    log_prog = prog;
    log_level = level;
    if (env)
        for (int i = 0; i <= TALOS_LOG_DEBUG; i++)
            if (strcmp(env, level_names[i]) == 0)
                log_level = (enum talos_log_level)i;
}

void talos_log(enum talos_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One line, printable: what a TA, a peer or a client said (a reason, a
     * name) reaches the log too, and must not forge a line of its own
     * ("lineage ... lost", I7) or steer a terminal. */
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    for (char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
            *c = '?';
    /* One fprintf per line keeps lines whole when threads log at once. */
    fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[level], line);
}
