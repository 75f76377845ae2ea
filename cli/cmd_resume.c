/* talos resume TA [--token HEX]: bring back a source that handed off. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "talos/talos.h"

const char cmd_resume_usage[] =
    "usage: talos [--node DIR] resume [--json] TA [--token HEX]\n"
    "\n"
    "Ask a source TA that handed its state off (HANDED_OFF, 'in doubt') to\n"
    "serve again. The TA itself decides: it resumes only when shown the\n"
    "target's ABORT token for that very session (MAC'd under the session key),\n"
    "so that two instances of a lineage never serve. Without a valid token the\n"
    "TA refuses (safety over liveness).\n"
    "\n"
    "options:\n"
    "  --token HEX    the target's ABORT token, as its node reported it\n" CLI_COMMON_HELP;

int cmd_resume(struct cli_ctx *ctx, int argc, char **argv)
{
    uint8_t lineage[TALOS_LINEAGE_BYTES] = {0};
    char id[2 * TALOS_LINEAGE_BYTES + 1] = "";
    const char *token = NULL;
    const struct cli_opt opts[] = {{"token", 0, &token, NULL}};
    json_t *req = NULL, *resp = NULL;
    int rc = cli_ta_command(ctx, argc, argv, opts, 1, "resume", lineage, id, &req);

    if (rc != CLI_PROCEED)
        goto out;
    if (token && cli_set_str(req, "token", token) != TALOS_OK) {
        rc = CLI_FAIL;
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        goto out;
    }
    if ((rc = cli_exchange(ctx, req, NULL, 0, &resp)) != CLI_PROCEED)
        goto out;
    rc = ctx->json ? cli_print_json(resp) : CLI_OK;
out:
    json_decref(resp);
    json_decref(req);
    return rc;
}
