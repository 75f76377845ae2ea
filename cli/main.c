/* talos: global options, then dispatch through the command table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/log.h"
#include "talos/err.h"

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv);

static const char cmd_help_usage[] =
    "usage: talos help [COMMAND]\n"
    "\n"
    "Show the list of commands, or the help of COMMAND.\n";

static const struct cli_command commands[] = {
    {"run", cmd_run, "start a TA from an image file and print its id", cmd_run_usage, 1},
    /* call checks its node itself: a secure call with --connect needs none. */
    {"call", cmd_call, "call an ecall of a TA and print its output", cmd_call_usage, 0},
    {"ps", cmd_ps, "list the TAs of the node", cmd_ps_usage, 1},
    {"attest", cmd_attest, "fetch a TA's evidence and verify it on this machine", cmd_attest_usage, 1},
    {"stop", cmd_stop, "stop a TA (its lineage ends)", cmd_stop_usage, 1},
    {"node", cmd_node, "show the node's backend, listener and TA count", cmd_node_usage, 1},
    {"migrate", cmd_migrate, "move a TA to another node (TA to TA, attested)", cmd_migrate_usage, 1},
    {"resume", cmd_resume, "resume a handed-off source with the target's ABORT", cmd_resume_usage, 1},
    {"abort", cmd_abort, "give up on a PREPARED target waiting for a HANDOFF", cmd_abort_usage, 1},
    {"state-cert", cmd_state_cert, "get a TA's signed state certificate", cmd_state_cert_usage, 1},
    {"verify", cmd_verify, "verify state certificates across migrations", cmd_verify_usage, 0},
    {"cfg", cmd_cfg, "extract a TA image's control-flow graph and its digest", cmd_cfg_usage, 0},
    {"sign", cmd_sign, "sign a TA image for nodes whose image policy lists the key", cmd_sign_usage, 0},
    {"help", cmd_help, "show the help of a command", cmd_help_usage, 0},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void main_help(FILE *f)
{
    fputs("usage: talos [--node DIR] [--json] COMMAND [ARG...]\n"
          "\n"
          "Drive a TALOS node (talosd) through its control socket DIR/talosd.sock.\n"
          "\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "options:\n"
          "  --node DIR     the node's state directory (default: $TALOS_NODE)\n"
          "  --json         print results as JSON on stdout\n"
          "  -h, --help     show this help\n"
          "  --version      print the version\n"
          "\n"
          "Exit status: 0 ok, 1 refused or failed, 2 usage error.\n"
          "Run 'talos COMMAND --help' for the options of a command.\n",
          f);
}

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
    const struct cli_command *c = NULL;
    int npos = 0;
    int rc = cli_args(ctx, argc, argv, NULL, 0, 0, &npos);

    if (rc != CLI_PROCEED)
        return rc;
    if (npos > 1)
        return cli_usage(ctx->cmd->name, "expected at most one COMMAND");
    if (npos == 0) {
        main_help(stdout);
        return CLI_OK;
    }
    c = find_command(argv[1]);
    if (!c)
        return cli_usage(ctx->cmd->name, "unknown command '%s'", argv[1]);
    fputs(c->usage, stdout);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {0};
    const char *node = NULL;
    int help = 0, version = 0, npos = 0;
    const struct cli_opt opts[] = {
        {"node", 0, &node, NULL},
        {"json", 0, NULL, &ctx.json},
        {"help", 'h', NULL, &help},
        {"version", 0, NULL, &version},
    };
    int rc = CLI_USAGE;

    talos_log_init("talos", TALOS_LOG_WARN);
    /* Stop at the command name: what follows belongs to the command. */
    rc = cli_parse_opts(NULL, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), 1, &npos);
    if (rc != CLI_PROCEED)
        goto out;
    if (help) {
        main_help(stdout);
        rc = CLI_OK;
        goto out;
    }
    if (version) {
        printf("talos %s\n", TALOS_VERSION_STRING);
        rc = CLI_OK;
        goto out;
    }
    if (npos == 0) {
        rc = cli_usage(NULL, "no command given");
        goto out;
    }
    ctx.cmd = find_command(argv[1]);
    if (!ctx.cmd) {
        rc = cli_usage(NULL, "unknown command '%s'", argv[1]);
        goto out;
    }
    ctx.node = node;
    snprintf(ctx.label, sizeof(ctx.label), "%s", ctx.cmd->name);
    rc = ctx.cmd->run(&ctx, npos, argv + 1);
out:
    /* Output that never reached its reader (a full disk, a closed pipe) is
     * a failure, not a success. */
    if (fflush(stdout) != 0 && rc == CLI_OK) {
        cli_fail(NULL, TALOS_ERR_IO, "cannot write output: %s", strerror(errno));
        rc = CLI_FAIL;
    }
    return rc;
}
