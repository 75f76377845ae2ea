/* talos — the command-line client of a TALOS node.
 *
 * One file per subcommand; main.c holds the table that dispatches to them.
 * The node at the other end of the control socket is untrusted: every
 * handler checks the shape of the node's answer before it reads a field.
 *
 * Exit status: 0 ok, 1 refused or failed (one line on stderr), 2 usage.
 */
#ifndef TALOS_CLI_CLI_H
#define TALOS_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "talos/talos.h"

enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,
    CLI_USAGE = 2,
};

/* Returned by cli_args when the handler should go on (not an exit status). */
#define CLI_PROCEED (-1)

struct cli_ctx;

/* A handler gets argv[0] = its command name and returns an exit status. */
typedef int (*cli_handler)(struct cli_ctx *ctx, int argc, char **argv);

struct cli_command {
    const char *name;
    cli_handler run;
    const char *summary; /* one line for `talos --help` */
    const char *usage;   /* the full text of `talos NAME --help` */
    int needs_node;      /* the command talks to a node */
};

struct cli_ctx {
    const struct cli_command *cmd;
    const char *node; /* state dir: --node, else $TALOS_NODE (set by cli_args) */
    int json;         /* --json: machine-readable stdout */
    char label[96];   /* prefix of failure lines: "run", "call put" */
    /* Called for each progress frame of a long operation; may be NULL. */
    void (*progress)(const char *step, const char *detail);
};

/* One option of a command. Exactly one of value/flag is non-NULL. */
struct cli_opt {
    const char *name;   /* long name without dashes: "anchors" */
    char short_name;    /* 'h' for -h, or 0 */
    const char **value; /* option takes a value: stored here */
    int *flag;          /* option is a switch: set to 1 */
};

/* Parse the options in argv[1..argc) against opts[0..n). Positional
 * arguments are moved, in order, to argv[1..*npos]. After "--", and after
 * the first positional when `stop` is set, everything is positional.
 * On an unknown or incomplete option prints a usage error naming `cmd`
 * (NULL: top level) and returns CLI_USAGE; otherwise CLI_PROCEED. */
int cli_parse_opts(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t n,
                   int stop, int *npos);

/* A handler's argument parsing: its own options plus the common ones
 * (-h/--help, --json, --node DIR). Prints the usage on --help (returns
 * CLI_OK), prints usage errors (returns CLI_USAGE), resolves ctx->node and
 * refuses a missing node when the command needs one. CLI_PROCEED when the
 * handler should go on; positionals are in argv[1..*npos]. */
int cli_args(struct cli_ctx *ctx, int argc, char **argv, const struct cli_opt *extra,
             size_t n_extra, int stop, int *npos);

/* Check a TA id typed by the user (exactly 32 hex characters). Writes its
 * bytes to lineage and its lower-case form to id (33 bytes). CLI_PROCEED,
 * or CLI_USAGE after printing the usage error. */
int cli_ta_id(const struct cli_ctx *ctx, const char *s, uint8_t lineage[TALOS_LINEAGE_BYTES],
              char id[33]);

/* Read PEM trust anchors (at most 1 MiB) from path into *pem (malloc'd);
 * path NULL: the default backend's (talos_default_anchors), and a failure
 * says how to pick others. CLI_PROCEED, or CLI_FAIL after printing the
 * failure (cmd_attest.c). */
int cli_read_anchors(const struct cli_ctx *ctx, const char *path, uint8_t **pem, size_t *len);

/* Subcommands (cmd_*.c). */
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cmd_call(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ps(struct cli_ctx *ctx, int argc, char **argv);
int cmd_attest(struct cli_ctx *ctx, int argc, char **argv);
int cmd_stop(struct cli_ctx *ctx, int argc, char **argv);
int cmd_node(struct cli_ctx *ctx, int argc, char **argv);
int cmd_migrate(struct cli_ctx *ctx, int argc, char **argv);
int cmd_resume(struct cli_ctx *ctx, int argc, char **argv);
int cmd_abort(struct cli_ctx *ctx, int argc, char **argv);
int cmd_cfg(struct cli_ctx *ctx, int argc, char **argv);
int cmd_state_cert(struct cli_ctx *ctx, int argc, char **argv);
int cmd_verify(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sign(struct cli_ctx *ctx, int argc, char **argv);

extern const char cmd_run_usage[];
extern const char cmd_call_usage[];
extern const char cmd_ps_usage[];
extern const char cmd_attest_usage[];
extern const char cmd_stop_usage[];
extern const char cmd_node_usage[];
extern const char cmd_migrate_usage[];
extern const char cmd_resume_usage[];
extern const char cmd_abort_usage[];
extern const char cmd_cfg_usage[];
extern const char cmd_state_cert_usage[];
extern const char cmd_verify_usage[];
extern const char cmd_sign_usage[];

/* The lines every command's --help ends with. */
#define CLI_COMMON_HELP                                                        \
    "  --json         print the result as JSON on stdout\n"                    \
    "  --node DIR     the node's state directory (default: $TALOS_NODE)\n"     \
    "  -h, --help     show this help\n"

#endif
