/* Option parsing shared by the top level and every subcommand: one table
 * of options per command, one set of usage-error messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/crypto.h"
#include "talos/err.h"

/* Room for the common options plus any command's own. */
#define CLI_MAX_OPTS 12

static const struct cli_opt *find_long(const struct cli_opt *opts, size_t n, const char *name,
                                       size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (opts[i].short_name && opts[i].short_name == c)
            return &opts[i];
    return NULL;
}

int cli_parse_opts(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t n,
                   int stop, int *npos)
{
    int out = 1;      /* next slot for a positional; never passes i */
    int only_pos = 0; /* after "--" or, with stop, after the first positional */

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct cli_opt *o = NULL;
        const char *inline_val = NULL;

        if (only_pos || a[0] != '-' || a[1] == '\0') {
            argv[out++] = argv[i];
            only_pos = only_pos || stop;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            o = find_long(opts, n, a + 2, len);
            inline_val = eq ? eq + 1 : NULL;
        } else if (a[2] == '\0') {
            o = find_short(opts, n, a[1]);
        }
        if (!o)
            return cli_usage(cmd, "unknown option '%s'", a);
        if (o->flag) {
            if (inline_val)
                return cli_usage(cmd, "option '--%s' takes no value", o->name);
            *o->flag = 1;
            continue;
        }
        if (!inline_val) {
            if (i + 1 >= argc)
                return cli_usage(cmd, "option '--%s' needs a value", o->name);
            inline_val = argv[++i];
        }
        if (inline_val[0] == '\0')
            return cli_usage(cmd, "option '--%s' needs a non-empty value", o->name);
        *o->value = inline_val;
    }
    *npos = out - 1;
    return CLI_PROCEED;
}

int cli_args(struct cli_ctx *ctx, int argc, char **argv, const struct cli_opt *extra,
             size_t n_extra, int stop, int *npos)
{
    int help = 0;
    const char *node = NULL;
    struct cli_opt opts[CLI_MAX_OPTS] = {
        {"help", 'h', NULL, &help},
        {"json", 0, NULL, &ctx->json},
        {"node", 0, &node, NULL},
    };
    size_t n = 3;
    int rc = CLI_PROCEED;

    /* A command with more options than the table holds is a build bug,
     * not a user error: refuse loudly rather than ignore options. */
    if (n_extra > CLI_MAX_OPTS - n)
        abort();
    for (size_t i = 0; i < n_extra; i++)
        opts[n++] = extra[i];

    rc = cli_parse_opts(ctx->cmd->name, argc, argv, opts, n, stop, npos);
    if (rc != CLI_PROCEED)
        return rc;
    if (help) {
        fputs(ctx->cmd->usage, stdout);
        return CLI_OK;
    }
    if (node)
        ctx->node = node;
    if (!ctx->node) {
        const char *env = getenv("TALOS_NODE");
        if (env && env[0] != '\0')
            ctx->node = env;
    }
    if (ctx->cmd->needs_node && !ctx->node)
        return cli_usage(ctx->cmd->name, "no node given: use --node DIR or set TALOS_NODE");
    return CLI_PROCEED;
}

int cli_ta_id(const struct cli_ctx *ctx, const char *s, uint8_t lineage[TALOS_LINEAGE_BYTES],
              char id[33])
{
    /* Lower-case form: the node names TAs by talos_hex() of the lineage, so
     * an id typed in upper case must still find its TA. */
    if (talos_unhex(s, lineage, TALOS_LINEAGE_BYTES) != TALOS_OK)
        return cli_usage(ctx->cmd->name, "TA id must be 32 hex characters");
    talos_hex(lineage, TALOS_LINEAGE_BYTES, id);
    return CLI_PROCEED;
}
