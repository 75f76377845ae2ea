/* What `talos` prints: failure and usage lines on stderr, JSON and text on
 * stdout, and the shape checks applied to a node's answer before any field
 * of it is used. Strings that came from the node are sanitized before they
 * reach a terminal (no control characters, no escape sequences). */
#ifndef TALOS_CLI_OUTPUT_H
#define TALOS_CLI_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* "talos: LABEL: MESSAGE (ERRNAME)" on stderr; err is an enum talos_err. */
void cli_fail(const char *label, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with an error name given as text (a code this client does not
 * know). */
void cli_fail_name(const char *label, const char *errname, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "talos: CMD: MESSAGE" and "try 'talos CMD --help'" on stderr (CMD NULL:
 * the top level). Returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "node sent a malformed response (FIELD)" as a failure line (MALFORMED).
 * Returns CLI_FAIL. */
int cli_malformed(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy s into out (cap bytes, NUL-terminated), replacing control
 * characters (C0, DEL, C1) with '?' and cutting at a UTF-8 character
 * boundary when it does not fit. Returns the display width (characters). */
size_t cli_sanitize(const char *s, char *out, size_t cap);

/* Print j on stdout, indented, with a final newline. CLI_OK or CLI_FAIL. */
int cli_print_json(const json_t *j);

/* cli_print_json(j) when `built` (j, an object the command built, is
 * whole); otherwise a failure line under label: the output could not be
 * built (NOMEM). CLI_OK or CLI_FAIL. */
int cli_print_built(const char *label, const json_t *j, int built);

/* Shape of one field of a node's answer. */
enum cli_jtype {
    CLI_J_STR = 1,
    CLI_J_BOOL,
    CLI_J_UINT,  /* integer >= 0 */
    CLI_J_HEX,   /* string of hex digits: 2*bytes of them, or any even count when bytes is 0 */
    CLI_J_ARRAY,
};

struct cli_field {
    const char *name;
    enum cli_jtype type;
    size_t bytes;  /* CLI_J_HEX only */
    int optional;  /* may be absent; when present it must have the type */
};

/* Check that obj is an object holding each field with its type. `where`
 * prefixes the field name in the message ("tas[2]"), or NULL. Returns
 * CLI_PROCEED, or prints a malformed-response line and returns CLI_FAIL. */
int cli_check_fields(const char *label, const char *where, const json_t *obj,
                     const struct cli_field *fields, size_t n);

#endif
