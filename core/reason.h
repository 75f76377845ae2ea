/* A refusal with its one-line reason: the error code a check returns and
 * the text it writes for the log or the user, in one call. */
#ifndef TALOS_CORE_REASON_H
#define TALOS_CORE_REASON_H

#include <stddef.h>

/* Format the reason into why (cap bytes, NUL-terminated, truncated; nothing
 * when why is NULL or cap 0) and return rc. */
int talos_reason(int rc, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
