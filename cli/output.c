#include "cli/output.h"

#include <stdarg.h>
#include <string.h>

#include "cli/cli.h"
#include "talos/err.h"

/* Long enough for any message of ours; a node's message beyond it is cut. */
#define CLI_LINE_MAX 1024

size_t cli_sanitize(const char *s, char *out, size_t cap)
{
    size_t i = 0, o = 0, width = 0;

    if (cap == 0)
        return 0;
    while (s[i] != '\0' && o + 1 < cap) {
        unsigned char c = (unsigned char)s[i];
        /* C1 controls arrive as UTF-8 C2 80..C2 9F; some terminals obey them. */
        int c1 = c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f;
        if (c < 0x20 || c == 0x7f || c1) {
            out[o++] = '?';
            i += c1 ? 2 : 1;
            width++;
            continue;
        }
        out[o++] = (char)c;
        if ((c & 0xc0) != 0x80)
            width++;
        i++;
    }
    /* Cut mid-character: drop the partial sequence rather than print half
     * of it. */
    if (s[i] != '\0' && ((unsigned char)s[i] & 0xc0) == 0x80) {
        while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
            o--;
        if (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0) {
            o--;
            width--;
        }
    }
    out[o] = '\0';
    return width;
}

__attribute__((format(printf, 2, 0)))
static void vline(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
    char raw[CLI_LINE_MAX] = "";
    char clean[CLI_LINE_MAX] = "";

    vsnprintf(raw, sizeof(raw), fmt, ap);
    cli_sanitize(raw, clean, sizeof(clean));
    /* One fprintf: the line stays whole if stderr is shared. */
    fprintf(stderr, "talos: %s%s%s\n", prefix, clean, suffix);
}

__attribute__((format(printf, 3, 0)))
static void vfail(const char *label, const char *errname, const char *fmt, va_list ap)
{
    char prefix[128] = "";
    char suffix[48] = "";

    if (label)
        snprintf(prefix, sizeof(prefix), "%s: ", label);
    snprintf(suffix, sizeof(suffix), " (%s)", errname);
    vline(prefix, fmt, ap, suffix);
}

void cli_fail_name(const char *label, const char *errname, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(label, errname, fmt, ap);
    va_end(ap);
}

void cli_fail(const char *label, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(label, talos_errname(err), fmt, ap);
    va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char prefix[128] = "";
    va_list ap;

    if (cmd)
        snprintf(prefix, sizeof(prefix), "%s: ", cmd);
    va_start(ap, fmt);
    vline(prefix, fmt, ap, "");
    va_end(ap);
    if (cmd)
        fprintf(stderr, "try 'talos %s --help'\n", cmd);
    else
        fputs("try 'talos --help'\n", stderr);
    return CLI_USAGE;
}

int cli_malformed(const char *label, const char *fmt, ...)
{
    char field[128] = "";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(field, sizeof(field), fmt, ap);
    va_end(ap);
    cli_fail(label, TALOS_ERR_MALFORMED, "node sent a malformed response (%s)", field);
    return CLI_FAIL;
}

int cli_print_json(const json_t *j)
{
    if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || putchar('\n') == EOF) {
        cli_fail(NULL, TALOS_ERR_IO, "cannot write the JSON output");
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_print_built(const char *label, const json_t *j, int built)
{
    if (!j || !built) {
        cli_fail(label, TALOS_ERR_NOMEM, "cannot build the output");
        return CLI_FAIL;
    }
    return cli_print_json(j);
}

static int is_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0')
            return 0;
    return 1;
}

static int field_ok(const json_t *v, const struct cli_field *f)
{
    switch (f->type) {
    case CLI_J_STR:
        return json_is_string(v);
    case CLI_J_BOOL:
        return json_is_boolean(v);
    case CLI_J_UINT:
        return json_is_integer(v) && json_integer_value(v) >= 0;
    case CLI_J_ARRAY:
        return json_is_array(v);
    case CLI_J_HEX: {
        size_t len = json_is_string(v) ? json_string_length(v) : 0;
        if (!json_is_string(v) || len % 2 != 0 || (f->bytes && len != 2 * f->bytes))
            return 0;
        return is_hex(json_string_value(v), len);
    }
    }
    return 0;
}

int cli_check_fields(const char *label, const char *where, const json_t *obj,
                     const struct cli_field *fields, size_t n)
{
    if (!json_is_object(obj))
        return cli_malformed(label, "%s", where ? where : "not an object");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(obj, fields[i].name);
        if ((!v && fields[i].optional) || (v && field_ok(v, &fields[i])))
            continue;
        if (where)
            return cli_malformed(label, "%s.%s", where, fields[i].name);
        return cli_malformed(label, "%s", fields[i].name);
    }
    return CLI_PROCEED;
}
