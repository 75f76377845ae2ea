/* talos node: what the node says about itself. */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "talos/talos.h"

const char cmd_node_usage[] =
    "usage: talos [--node DIR] node [--json]\n"
    "\n"
    "Show the node's TEE backend (and whether it is simulated), its peer\n"
    "listener, its process id, its version and how many TAs it runs. These\n"
    "are the node's own claims: only 'talos attest' proves anything.\n"
    "\n"
    "options:\n" CLI_COMMON_HELP;

static const struct cli_field node_fields[] = {
    {"backend", CLI_J_STR, 0, 0},
    {"simulated", CLI_J_BOOL, 0, 0},
    {"listen", CLI_J_STR, 0, 0},
    {"pid", CLI_J_UINT, 0, 0},
    {"version", CLI_J_STR, 0, 0},
    {"tas", CLI_J_UINT, 0, 0},
    {"node_identity", CLI_J_STR, 0, 0},
    {"image_policy", CLI_J_STR, 0, 0},
};

/* Node-supplied text: sanitized, one line each. */
static void print_str(const char *key, const json_t *resp, const char *suffix)
{
    char buf[256] = "";
    cli_sanitize(json_string_value(json_object_get(resp, key)), buf, sizeof(buf));
    printf("%s %s%s\n", key, buf, suffix);
}

static int print_human(const json_t *resp)
{
    print_str("backend", resp, json_is_true(json_object_get(resp, "simulated"))
                                   ? " — SIMULATED: no hardware isolation"
                                   : "");
    print_str("listen", resp, "");
    printf("pid %" PRIu64 "\n", (uint64_t)json_integer_value(json_object_get(resp, "pid")));
    print_str("version", resp, "");
    printf("tas %" PRIu64 "\n", (uint64_t)json_integer_value(json_object_get(resp, "tas")));
    print_str("node_identity", resp, " (TLS 1.3 with its peers, mutually authenticated)");
    print_str("image_policy", resp, "");
    return ferror(stdout) ? CLI_FAIL : CLI_OK;
}

int cmd_node(struct cli_ctx *ctx, int argc, char **argv)
{
    json_t *req = NULL, *resp = NULL;
    int rc = cli_plain_request(ctx, argc, argv, "node", &req);

    if (rc == CLI_PROCEED)
        rc = cli_exchange(ctx, req, node_fields, sizeof(node_fields) / sizeof(node_fields[0]), &resp);
    if (rc == CLI_PROCEED)
        rc = ctx->json ? cli_print_json(resp) : print_human(resp);
    json_decref(resp);
    json_decref(req);
    return rc;
}
