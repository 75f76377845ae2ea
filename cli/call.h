/* talos call: the plain path (cli/cmd_call.c, through the node's control
 * socket) and the secure one (cli/cmd_call_secure.c, a session with the TA
 * itself, docs/sessions.md) share their argument reading. */
#ifndef TALOS_CLI_CALL_H
#define TALOS_CLI_CALL_H

#include <stddef.h>

#include "cli/cli.h"

/* The options of `talos call --secure`. */
struct call_secure_opts {
    const char *policy, *measurement, *cfg_digest, *anchors, *connect;
    int allow_sim, verbose;
};

/* The bytes of an @FILE or @- argument (src without the @), read once, at
 * most the TA's argument limit; *len their length. NULL after a one-line
 * complaint. The caller wipes and frees them. */
char *cli_call_arg_from(struct cli_ctx *ctx, const char *src, int *stdin_used, size_t *len);

/* The secure call of ECALL (argv[2]) of TA (argv[1]) with npos - 2
 * arguments; ctx->label is set. Returns the exit status. */
int cmd_call_secure(struct cli_ctx *ctx, int npos, char **argv, const struct call_secure_opts *o);

#endif
