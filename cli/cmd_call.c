/* talos call TA ECALL [ARG...]: one ecall; its output goes to stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/call.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "core/crypto.h"
#include "talos/ta.h"
#include "talos/talos.h"

const char cmd_call_usage[] =
    "usage: talos [--node DIR] call [--plain] [--json] TA ECALL [ARG...]\n"
    "       talos [--node DIR] call --secure [--policy FILE | --measurement HEX\n"
    "             [--cfg-digest HEX]] [--anchors PEM] [--allow-sim]\n"
    "             [--connect HOST:PORT] [--verbose] [--json] TA ECALL [ARG...]\n"
    "\n"
    "Call the ecall ECALL of the TA with id TA (32 hex characters), passing\n"
    "each ARG as one text argument, and print the ecall's output as is (with\n"
    "a final newline added to text that lacks one; binary output is written\n"
    "unchanged). Options must come before TA: every word after it is passed\n"
    "to the TA, even one that starts with '-'.\n"
    "\n"
    "An ARG @FILE passes the bytes of FILE (a regular file, text, up to 1 MiB)\n"
    "and @- those of standard input (once): a secret given that way is not in\n"
    "the command line, which every local user can read in /proc. @@TEXT passes\n"
    "@TEXT. The bytes are passed exactly (a file's final newline included).\n"
    "\n"
    "A call the TA refuses exits with status 1 and prints its reason.\n"
    "\n"
    "With --secure the call goes to the TA itself, in a TLS session that the\n"
    "node only relays (docs/sessions.md): the TA's evidence is verified on\n"
    "this machine against the trust anchors and a policy (the allowed\n"
    "measurements, and CFG digests if any) before any byte of the call is\n"
    "sent, and the node sees no argument, result or ecall name. The session\n"
    "follows the TA if it migrates, and a call retried after a move is\n"
    "answered from the TA's record instead of running twice. With the\n"
    "environment variable TALOS_POLICY=FILE every call is secure with that\n"
    "policy unless --plain is given.\n"
    "\n"
    "options:\n"
    "  --secure            call through a session with the TA (needs a policy)\n"
    "  --plain             the node's control socket even with TALOS_POLICY set\n"
    "  --policy FILE       the policy (JSON: measurements, cfg_digests, allow_sim,\n"
    "                      allow_debug, anchors; see talos(1))\n"
    "  --measurement HEX   allow this measurement (64 hex characters) instead\n"
    "  --cfg-digest HEX    with --measurement: require this CFG digest\n"
    "  --anchors PEM       trust anchors (default: the policy's, else the local\n"
    "                      sim CA as for 'talos attest')\n"
    "  --allow-sim         accept a simulated TEE, which gives NO hardware\n"
    "                      isolation (also: TALOS_ALLOW_SIM=1)\n"
    "  --connect HOST:PORT the node's listening port (default: the node's control\n"
    "                      socket, which relays alike; with --connect no --node\n"
    "                      is needed)\n"
    "  --verbose           print the verified identity of the TA on stderr\n" CLI_COMMON_HELP;

static const struct cli_field call_fields[] = {
    {"version", CLI_J_UINT, 0, 0},
    {"out", CLI_J_STR, 0, 1},
    {"out_hex", CLI_J_HEX, 0, 1},
};

/* The bytes of an @FILE or @- argument, read once, at most the TA's
 * argument limit; *len their length. NULL after a one-line complaint. */
char *cli_call_arg_from(struct cli_ctx *ctx, const char *src, int *stdin_used, size_t *len)
{
    FILE *f = NULL;
    char *buf = malloc(TALOS_MAX_ARG_BYTES + 1);
    int is_stdin = strcmp(src, "-") == 0;

    *len = 0;
    if (!buf) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (is_stdin && (*stdin_used)++) {
        cli_usage(ctx->cmd->name, "@- may be used once");
        goto bad;
    }
    if (!(f = is_stdin ? stdin : fopen(src, "rbe"))) {
        cli_fail(ctx->label, TALOS_ERR_NOT_FOUND, "@%s: %s", src, strerror(errno));
        goto bad;
    }
    struct stat st;
    if (!is_stdin && (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))) {
        cli_fail(ctx->label, TALOS_ERR_INVALID_ARG, "@%s: not a regular file", src);
        goto bad;
    }
    *len = fread(buf, 1, TALOS_MAX_ARG_BYTES + 1, f);
    if (ferror(f) || *len > TALOS_MAX_ARG_BYTES) {
        cli_fail(ctx->label, ferror(f) ? TALOS_ERR_IO : TALOS_ERR_TOO_LARGE,
                 "@%s: %s", src, ferror(f) ? "read error" : "more than 1 MiB");
        goto bad;
    }
    if (!is_stdin)
        fclose(f);
    return buf;
bad:
    if (f && !is_stdin)
        fclose(f);
    talos_wipe(buf, TALOS_MAX_ARG_BYTES + 1);
    free(buf);
    return NULL;
}

static int build_request(struct cli_ctx *ctx, const char *id, int nargs, char **args, json_t **out)
{
    json_t *req = cli_request("call");
    json_t *arr = json_array();
    int rc = CLI_FAIL;

    if (!req || !arr || cli_set_str(req, "id", id) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        goto out;
    }
    if (cli_set_str(req, "ecall", args[0]) != TALOS_OK) {
        rc = cli_usage(ctx->cmd->name, "ECALL is not valid UTF-8");
        goto out;
    }
    int stdin_used = 0;
    for (int i = 1; i < nargs; i++) {
        /* The control protocol carries arguments as JSON text. */
        json_t *s = NULL;
        if (args[i][0] == '@' && args[i][1] != '@') {
            size_t n = 0;
            char *b = cli_call_arg_from(ctx, args[i] + 1, &stdin_used, &n);
            if (!b)
                goto out;
            s = json_stringn(b, n);
            talos_wipe(b, n);
            free(b);
            if (!s) {
                rc = cli_usage(ctx->cmd->name, "%s is not valid UTF-8 text", args[i]);
                goto out;
            }
        } else {
            s = json_string(args[i] + (args[i][0] == '@')); /* @@x passes @x */
        }
        if (!s) {
            rc = cli_usage(ctx->cmd->name, "argument %d is not valid UTF-8 text", i);
            goto out;
        }
        if (json_array_append_new(arr, s) != 0) {
            cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
            goto out;
        }
    }
    if (json_object_set(req, "args", arr) != 0) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        goto out;
    }
    *out = req;
    req = NULL;
    rc = CLI_PROCEED;
out:
    json_decref(arr);
    json_decref(req);
    return rc;
}

/* Raw output: text as is (plus a newline when it lacks one, so a shell
 * prompt does not end up glued to it); decoded bytes exactly. */
static int print_output(struct cli_ctx *ctx, const json_t *resp)
{
    const json_t *out = json_object_get(resp, "out");
    const json_t *out_hex = json_object_get(resp, "out_hex");
    uint8_t *bytes = NULL;
    size_t n = 0;
    int written = 0, rc = CLI_FAIL;

    if (out) {
        const char *s = json_string_value(out);
        n = json_string_length(out);
        written = fwrite(s, 1, n, stdout) == n &&
                  (n == 0 || s[n - 1] == '\n' || putchar('\n') != EOF);
    } else {
        n = json_string_length(out_hex) / 2;
        bytes = malloc(n ? n : 1);
        if (!bytes) {
            cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot hold the ecall's output");
            goto out;
        }
        if (talos_unhex(json_string_value(out_hex), bytes, n) != TALOS_OK) {
            rc = cli_malformed(ctx->label, "out_hex");
            goto out;
        }
        written = fwrite(bytes, 1, n, stdout) == n;
    }
    if (!written) {
        cli_fail(ctx->label, TALOS_ERR_IO, "cannot write the output");
        goto out;
    }
    rc = CLI_OK;
out:
    free(bytes);
    return rc;
}

int cmd_call(struct cli_ctx *ctx, int argc, char **argv)
{
    uint8_t lineage[TALOS_LINEAGE_BYTES] = {0};
    char id[2 * TALOS_LINEAGE_BYTES + 1] = "";
    json_t *req = NULL, *resp = NULL, *j = NULL, *out = NULL;
    int npos = 0, built = 0, secure = 0, plain = 0;
    struct call_secure_opts so = {0};
    const struct cli_opt opts[] = {
        {"secure", 0, NULL, &secure},          {"plain", 0, NULL, &plain},
        {"policy", 0, &so.policy, NULL},
        {"measurement", 0, &so.measurement, NULL}, {"cfg-digest", 0, &so.cfg_digest, NULL},
        {"anchors", 0, &so.anchors, NULL},     {"allow-sim", 0, NULL, &so.allow_sim},
        {"connect", 0, &so.connect, NULL},     {"verbose", 0, NULL, &so.verbose},
    };
    int rc = cli_args(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), 1, &npos);

    if (rc != CLI_PROCEED)
        goto out;
    if (plain && secure) {
        rc = cli_usage(ctx->cmd->name, "--plain and --secure exclude each other");
        goto out;
    }
    /* A user who keeps a policy gets secure calls by default: the plain
     * path then needs --plain. */
    const char *env_policy = getenv("TALOS_POLICY");
    if (!secure && !plain && env_policy && env_policy[0] && !so.measurement) {
        secure = 1;
        if (!so.policy)
            so.policy = env_policy;
    }
    /* The command needs a node unless a secure call is told where to connect. */
    if (!ctx->node && !(secure && so.connect)) {
        rc = cli_usage(ctx->cmd->name, "no node given: use --node DIR or set TALOS_NODE");
        goto out;
    }
    if (!secure && (so.policy || so.measurement || so.cfg_digest || so.anchors || so.allow_sim ||
                    so.connect || so.verbose)) {
        rc = cli_usage(ctx->cmd->name, "--policy, --measurement, --cfg-digest, --anchors, "
                                       "--allow-sim, --connect and --verbose need --secure");
        goto out;
    }
    if (npos < 2) {
        rc = cli_usage(ctx->cmd->name, npos == 0 ? "missing TA and ECALL" : "missing ECALL");
        goto out;
    }
    rc = cli_ta_id(ctx, argv[1], lineage, id);
    if (rc != CLI_PROCEED)
        goto out;
    if (argv[2][0] == '\0') {
        rc = cli_usage(ctx->cmd->name, "ECALL must not be empty");
        goto out;
    }
    /* Failure lines name the ecall: "talos: call put: ...". */
    snprintf(ctx->label, sizeof(ctx->label), "call %s", argv[2]);
    if (secure) {
        rc = cmd_call_secure(ctx, npos, argv, &so);
        goto out;
    }
    rc = build_request(ctx, id, npos - 1, argv + 2, &req);
    if (rc != CLI_PROCEED)
        goto out;
    rc = cli_rpc(ctx, req, &resp);
    if (rc != CLI_PROCEED)
        goto out;
    rc = cli_check_fields(ctx->label, NULL, resp, call_fields, sizeof(call_fields) / sizeof(call_fields[0]));
    if (rc != CLI_PROCEED)
        goto out;
    /* Exactly one of out/out_hex: anything else leaves the output unknown. */
    if (!json_object_get(resp, "out") == !json_object_get(resp, "out_hex")) {
        rc = cli_malformed(ctx->label, "out");
        goto out;
    }
    if (!ctx->json) {
        rc = print_output(ctx, resp);
        goto out;
    }
    /* Text stays "out"; bytes that are not text stay hex under "out_hex". */
    out = json_object_get(resp, "out");
    j = json_object();
    built = j &&
            json_object_set(j, out ? "out" : "out_hex",
                            out ? out : json_object_get(resp, "out_hex")) == 0 &&
            json_object_set(j, "version", json_object_get(resp, "version")) == 0;
    rc = cli_print_built(ctx->label, j, built);
out:
    json_decref(j);
    json_decref(resp);
    json_decref(req);
    return rc;
}
