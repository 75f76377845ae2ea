/* talos run IMAGE [--switchless]: start a fresh lineage of a TA image. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "talos/talos.h"

const char cmd_run_usage[] =
    "usage: talos [--node DIR] run [--switchless] [--json] IMAGE\n"
    "\n"
    "Start a fresh TA from the image file IMAGE on the node and print its id\n"
    "(32 hex characters) alone on stdout, so that TA=$(talos run IMAGE) works.\n"
    "The node is sent the absolute path of IMAGE and keeps its own copy.\n"
    "When IMAGE.sig exists (talos sign), its signature goes with the image.\n"
    "\n"
    "options:\n"
    "  --switchless   call the TA over shared-memory rings instead of a socket\n" CLI_COMMON_HELP;

static const struct cli_field run_fields[] = {
    {"id", CLI_J_HEX, TALOS_LINEAGE_BYTES, 0},
    {"name", CLI_J_STR, 0, 0},
    {"measurement", CLI_J_HEX, TALOS_MEASUREMENT_BYTES, 0},
};

/* IMAGE.sig, if there is one: 128 hex characters (and a newline), sent as
 * the request's "signature". */
static int attach_signature(struct cli_ctx *ctx, json_t *req, const char *image)
{
    char path[4096], hex[130] = "";
    FILE *f = NULL;
    size_t n = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s.sig", image) >= sizeof(path) ||
        !(f = fopen(path, "re")))
        return CLI_PROCEED; /* no signature: the image goes alone */
    n = fread(hex, 1, sizeof(hex) - 1, f);
    fclose(f);
    while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r'))
        hex[--n] = '\0';
    if (n != 128 || strspn(hex, "0123456789abcdef") != 128) {
        cli_fail(ctx->label, TALOS_ERR_MALFORMED, "%s: not a signature (128 hex characters)", path);
        return CLI_FAIL;
    }
    if (cli_set_str(req, "signature", hex) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        return CLI_FAIL;
    }
    return CLI_PROCEED;
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
    int switchless = 0, npos = 0;
    const struct cli_opt opts[] = {{"switchless", 0, NULL, &switchless}};
    char *path = NULL;
    json_t *req = NULL, *resp = NULL;
    struct stat st = {0};
    int rc = cli_args(ctx, argc, argv, opts, 1, 0, &npos);

    if (rc != CLI_PROCEED)
        goto out;
    if (npos != 1) {
        rc = cli_usage(ctx->cmd->name, npos == 0 ? "missing IMAGE" : "expected exactly one IMAGE");
        goto out;
    }
    rc = CLI_FAIL;
    /* The node runs elsewhere (another cwd): it needs the absolute path. */
    path = realpath(argv[1], NULL);
    if (!path) {
        cli_fail(ctx->label, TALOS_ERR_IO, "%s: %s", argv[1], strerror(errno));
        goto out;
    }
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_fail(ctx->label, TALOS_ERR_IMAGE, "%s: not a regular file", argv[1]);
        goto out;
    }
    req = cli_request("run");
    if (!req) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        goto out;
    }
    if (cli_set_str(req, "image", path) != TALOS_OK) {
        rc = cli_usage(ctx->cmd->name, "the path of IMAGE is not valid UTF-8");
        goto out;
    }
    if ((rc = attach_signature(ctx, req, path)) != CLI_PROCEED)
        goto out;
    rc = CLI_FAIL;
    if (cli_set_str(req, "mode", switchless ? "switchless" : "passive") != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        goto out;
    }
    rc = cli_rpc(ctx, req, &resp);
    if (rc != CLI_PROCEED)
        goto out;
    rc = cli_check_fields(ctx->label, NULL, resp, run_fields, sizeof(run_fields) / sizeof(run_fields[0]));
    if (rc != CLI_PROCEED)
        goto out;
    if (ctx->json)
        rc = cli_print_json(resp);
    else
        rc = printf("%s\n", json_string_value(json_object_get(resp, "id"))) < 0 ? CLI_FAIL : CLI_OK;
out:
    json_decref(resp);
    json_decref(req);
    free(path);
    return rc;
}
