/* talos abort TA: give up on a PREPARED migration target that waits for a
 * resent HANDOFF (on the target node). */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "talos/talos.h"

const char cmd_abort_usage[] =
    "usage: talos [--node DIR] abort [--json] TA\n"
    "\n"
    "On the TARGET node of a migration whose channel broke after the target\n"
    "was PREPARED: make that target give up now instead of waiting for the\n"
    "source's HANDOFF (talosd --handoff-wait). The target becomes FAILED (it\n"
    "never serves) and seals an ABORT token, printed on stdout (--json:\n"
    "{\"id\", \"token\"}). The source's node fetches it by itself when it\n"
    "resends the HANDOFF; an operator may also carry it to\n"
    "'talos resume TA --token HEX' on the source node. Exit 1 (STATE) when no\n"
    "target of TA waits here.\n"
    "\n"
    "options:\n" CLI_COMMON_HELP;

static const struct cli_field abort_fields[] = {
    {"id", CLI_J_HEX, TALOS_LINEAGE_BYTES, 0},
    {"token", CLI_J_HEX, 0, 0},
};

int cmd_abort(struct cli_ctx *ctx, int argc, char **argv)
{
    uint8_t lineage[TALOS_LINEAGE_BYTES] = {0};
    char id[2 * TALOS_LINEAGE_BYTES + 1] = "";
    json_t *req = NULL, *resp = NULL;
    int rc = cli_ta_command(ctx, argc, argv, NULL, 0, "abort", lineage, id, &req);

    if (rc != CLI_PROCEED)
        goto out;
    if ((rc = cli_exchange(ctx, req, abort_fields, sizeof(abort_fields) / sizeof(abort_fields[0]),
                           &resp)) != CLI_PROCEED)
        goto out;
    if (ctx->json) {
        rc = cli_print_json(resp);
        goto out;
    }
    printf("%s\n", json_string_value(json_object_get(resp, "token")));
    rc = CLI_OK;
out:
    json_decref(resp);
    json_decref(req);
    return rc;
}
