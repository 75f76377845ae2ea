/* talos migrate TA --to HOST:PORT: move a running TA to another node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "talos/talos.h"

const char cmd_migrate_usage[] =
    "usage: talos [--node DIR] migrate [--json] TA --to HOST:PORT\n"
    "                                  [--precopy | --stop-and-copy] [--max-rounds N]\n"
    "\n"
    "Move the TA with id TA to the node listening at HOST:PORT. The source and\n"
    "target TAs attest each other over their own TLS 1.3 channel and the state\n"
    "moves between them; the nodes only relay bytes. Progress goes to stderr,\n"
    "then a phase breakdown to stdout. Exit 0 only when the target serves; on\n"
    "a refusal the TA serves on here, unchanged. If the channel breaks after\n"
    "the source handed off, the source is in doubt and its node resends the\n"
    "HANDOFF (talosd --handoff-wait); migrate waits for that to settle: exit 0\n"
    "on the target's RECEIPT, exit 1 with the target's code on its ABORT (the\n"
    "TA serves on here), exit 1 (STATE) while still in doubt (see talos ps).\n"
    "\n"
    "Pre-copy copies the state in rounds while the TA keeps serving and freezes\n"
    "it only for the last few pages written (the default from 4 MiB of state);\n"
    "stop-and-copy freezes it for the whole transfer (the default below).\n"
    "\n"
    "options:\n"
    "  --to HOST:PORT   the target node's peer listener (talosd --listen)\n"
    "  --precopy        pre-copy, whatever the state size\n"
    "  --stop-and-copy  stop-and-copy, whatever the state size\n"
    "  --max-rounds N   pre-copy rounds before the freeze at the latest (1-1000;\n"
    "                   default 30)\n" CLI_COMMON_HELP;

static void show_progress(const char *step, const char *detail)
{
    fprintf(stderr, "migrate: %s%s%s\n", step, detail ? ": " : "", detail ? detail : "");
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : -1;
}

static int print_breakdown(const char *id, const char *to, const json_t *resp)
{
    const json_t *ph = json_object_get(resp, "phases");
    static const struct {
        const char *key, *name, *what;
    } rows[] = {
        {"prepare_ms", "prepare", "channel + mutual attestation"},
        {"checkpoint_ms", "checkpoint", "hashing state pages (overlaps transfer)"},
        {"transfer_ms", "transfer", "pipelined state stream"},
        {"restore_ms", "restore", "target: install + verify root and chain"},
        {"activate_ms", "activate", "HANDOFF .. RECEIPT"},
    };

    if (!json_is_object(ph) || num(resp, "downtime_ms") < 0 || num(resp, "total_ms") < 0 ||
        !json_is_integer(json_object_get(resp, "version")))
        return cli_malformed("migrate", "phases");
    printf("moved %s to %s at version %lld (%.1f KiB of state)\n", id, to,
           (long long)json_integer_value(json_object_get(resp, "version")),
           num(resp, "state_bytes") / 1024.0);
    printf("%-11s %9s\n", "phase", "ms");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        printf("%-11s %9.3f  %s\n", rows[i].name, num(ph, rows[i].key), rows[i].what);
    printf("%-11s %9.3f  source frozen .. target serving\n", "downtime", num(resp, "downtime_ms"));
    printf("%-11s %9.3f\n", "total", num(resp, "total_ms"));
    const json_t *mode = json_object_get(resp, "mode");
    if (json_is_string(mode) && strcmp(json_string_value(mode), "pre-copy") == 0) {
        const json_t *conv = json_object_get(resp, "converged"), *wt = json_object_get(resp, "write_tracking");
        printf("pre-copy: %lld round%s (%s), %.1f KiB sent frozen, write tracking %s\n",
               (long long)num(resp, "rounds"), num(resp, "rounds") == 1 ? "" : "s",
               json_is_string(conv) ? json_string_value(conv) : "?", num(resp, "frozen_bytes") / 1024.0,
               json_is_string(wt) ? json_string_value(wt) : "?");
    } else {
        printf("stop-and-copy: the TA was frozen for the whole transfer\n");
    }
    return CLI_OK;
}

int cmd_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
    uint8_t lineage[TALOS_LINEAGE_BYTES] = {0};
    char id[2 * TALOS_LINEAGE_BYTES + 1] = "";
    const char *to = NULL, *rounds = NULL;
    int precopy = 0, stop_copy = 0;
    const struct cli_opt opts[] = {{"to", 0, &to, NULL},
                                   {"precopy", 0, NULL, &precopy},
                                   {"stop-and-copy", 0, NULL, &stop_copy},
                                   {"max-rounds", 0, &rounds, NULL}};
    long nrounds = 0;
    char *end = NULL;
    json_t *req = NULL, *resp = NULL;
    int npos = 0;
    int rc = cli_args(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), 0, &npos);

    if (rc != CLI_PROCEED)
        goto out;
    if (npos != 1 || !to) {
        rc = cli_usage(ctx->cmd->name, npos != 1 ? "expected exactly one TA" : "missing --to HOST:PORT");
        goto out;
    }
    if (precopy && stop_copy) {
        rc = cli_usage(ctx->cmd->name, "--precopy and --stop-and-copy exclude each other");
        goto out;
    }
    if (rounds && ((nrounds = strtol(rounds, &end, 10)) < 1 || nrounds > 1000 || *end)) {
        rc = cli_usage(ctx->cmd->name, "--max-rounds takes a number from 1 to 1000");
        goto out;
    }
    if ((rc = cli_ta_request(ctx, npos, argv, "migrate", lineage, id, &req)) != CLI_PROCEED)
        goto out;
    rc = CLI_FAIL;
    if (precopy || stop_copy)
        json_object_set_new(req, "precopy", json_boolean(precopy));
    if (nrounds)
        json_object_set_new(req, "max_rounds", json_integer(nrounds));
    if (cli_set_str(req, "to", to) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        goto out;
    }
    ctx->progress = ctx->json ? NULL : show_progress;
    if ((rc = cli_rpc(ctx, req, &resp)) != CLI_PROCEED)
        goto out;
    rc = ctx->json ? cli_print_json(resp) : print_breakdown(id, to, resp);
out:
    json_decref(resp);
    json_decref(req);
    return rc;
}
