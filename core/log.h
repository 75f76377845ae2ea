/* One logger with levels. Lines go to stderr (or a file set by the program)
 * as "<prog>: <level>: <message>", one line each: control characters in a
 * message (hostile text quoted in it) become '?'. Never pass secrets or
 * state bytes. */
#ifndef TALOS_CORE_LOG_H
#define TALOS_CORE_LOG_H

enum talos_log_level { TALOS_LOG_ERROR = 0, TALOS_LOG_WARN, TALOS_LOG_INFO, TALOS_LOG_DEBUG };

/* Program tag and threshold; the threshold may also come from $TALOS_LOG
 * (error|warn|info|debug). */
void talos_log_init(const char *prog, enum talos_log_level level);
void talos_log(enum talos_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define TLOG_ERR(...) talos_log(TALOS_LOG_ERROR, __VA_ARGS__)
#define TLOG_WARN(...) talos_log(TALOS_LOG_WARN, __VA_ARGS__)
#define TLOG_INFO(...) talos_log(TALOS_LOG_INFO, __VA_ARGS__)
#define TLOG_DEBUG(...) talos_log(TALOS_LOG_DEBUG, __VA_ARGS__)

#endif
