/* talos stop TA: stop a TA; its lineage ends. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "talos/talos.h"

const char cmd_stop_usage[] =
    "usage: talos [--node DIR] stop [--json] TA\n"
    "\n"
    "Stop the TA with id TA (32 hex characters). Its lineage ends: its state\n"
    "is gone and the id is never served again. Prints nothing on success\n"
    "(with --json, the node's answer).\n"
    "\n"
    "options:\n" CLI_COMMON_HELP;

int cmd_stop(struct cli_ctx *ctx, int argc, char **argv)
{
    uint8_t lineage[TALOS_LINEAGE_BYTES] = {0};
    char id[2 * TALOS_LINEAGE_BYTES + 1] = "";
    json_t *req = NULL, *resp = NULL;
    int rc = cli_ta_command(ctx, argc, argv, NULL, 0, "stop", lineage, id, &req);

    if (rc == CLI_PROCEED)
        rc = cli_exchange(ctx, req, NULL, 0, &resp);
    if (rc == CLI_PROCEED)
        rc = ctx->json ? cli_print_json(resp) : CLI_OK;
    json_decref(resp);
    json_decref(req);
    return rc;
}
