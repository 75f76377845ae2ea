/* talos state-cert TA: ask a TA for a signed state certificate.
 *
 * The node only relays the certificate; this command decodes it (so that a
 * broken answer is caught here) but trusts nothing in it: `talos verify`
 * checks signatures, evidence and the chain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cert_json.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "core/cert.h"
#include "core/crypto.h"
#include "talos/talos.h"

const char cmd_state_cert_usage[] =
    "usage: talos [--node DIR] state-cert [--output FILE] [--json] TA\n"
    "\n"
    "Ask the TA for a state certificate: it checkpoints (Merkle root over its\n"
    "state pages, chain head) and signs its lineage, version, state root,\n"
    "chain head, execution record and identity with its lineage key, a key\n"
    "that rotates at every migration, each new key certified by the previous\n"
    "one, and bound to the TA's code by TEE evidence. Keep the certificates;\n"
    "'talos verify' checks one or a chain of them. The node cannot forge one\n"
    "(with the sim backend, which gives no hardware isolation, it could).\n"
    "\n"
    "options:\n"
    "  --output FILE  write the certificate (JSON) to FILE\n" CLI_COMMON_HELP;

static const struct cli_field cert_fields[] = {
    {"cert", CLI_J_HEX, 0, 0},
    {"version", CLI_J_UINT, 0, 1},
};

static int write_file(const struct cli_ctx *ctx, const char *path, const json_t *j)
{
    FILE *f = fopen(path, "w");
    int ok = f && json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 && fputc('\n', f) != EOF;

    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        cli_fail(ctx->label, TALOS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* What the certificate's evidence claims, not verified here (talos verify
 * does): shown so that nobody takes a simulated identity for isolation. */
static int simulated(const struct talos_cert *c)
{
    struct talos_claims claims;

    return talos_evidence_claims(c->evidence, c->evidence_len, &claims) == TALOS_OK &&
           (claims.flags & TALOS_CLAIM_SIMULATED);
}

static void print_human(const struct talos_cert *c, const char *id)
{
    char h[2 * 64 + 1];
    printf("ta: %s\n", id);
    printf("epoch: %llu (key rotations: one per migration)\n", (unsigned long long)c->epoch);
    talos_hex(c->pub, TALOS_ED25519_PUB_BYTES, h);
    printf("key: %s\n", h);
    printf("version: %llu\n", (unsigned long long)c->version);
    talos_hex(c->root, TALOS_HASH, h);
    printf("state_root: %s\n", h);
    talos_hex(c->head, TALOS_HASH, h);
    printf("chain_head: %s\n", h);
    talos_hex(c->exec_head, TALOS_HASH, h);
    printf("exec_record: %s\n", h);
    talos_hex(c->measurement, sizeof(c->measurement), h);
    printf("identity: %s measurement %s%s\n", c->backend, h,
           simulated(c) ? " (SIMULATED — no hardware isolation)" : "");
    printf("verified: not here — run 'talos verify' on the saved certificate\n");
}

int cmd_state_cert(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *output = NULL;
    const struct cli_opt opts[] = {{"output", 'o', &output, NULL}};
    uint8_t lineage[TALOS_LINEAGE_BYTES] = {0};
    char id[2 * TALOS_LINEAGE_BYTES + 1] = "";
    json_t *req = NULL, *resp = NULL, *j = NULL;
    struct talos_cert c;
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    int npos = 0;
    int rc = cli_args(ctx, argc, argv, opts, 1, 0, &npos);

    memset(&c, 0, sizeof(c));
    if (rc != CLI_PROCEED)
        goto out;
    if ((rc = cli_ta_request(ctx, npos, argv, "state-cert", lineage, id, &req)) != CLI_PROCEED)
        goto out;
    rc = CLI_FAIL;
    if (cli_rpc(ctx, req, &resp) != CLI_PROCEED ||
        cli_check_fields(ctx->label, NULL, resp, cert_fields, 2) != CLI_PROCEED)
        goto out;
    const char *hex = json_string_value(json_object_get(resp, "cert"));
    enc_len = strlen(hex) / 2;
    if (enc_len == 0 || enc_len > TALOS_CERT_MAX_BYTES) {
        rc = cli_malformed(ctx->label, "cert");
        goto out;
    }
    if (!(enc = malloc(enc_len)) || talos_unhex(hex, enc, enc_len) != TALOS_OK ||
        talos_cert_decode(enc, enc_len, &c) != TALOS_OK) {
        rc = cli_malformed(ctx->label, "cert");
        goto out;
    }
    /* The TA the user named, not one the node substituted. */
    if (!talos_ct_eq(c.lineage, lineage, sizeof(lineage))) {
        cli_fail(ctx->label, TALOS_ERR_CERT_LINEAGE, "the node answered a certificate of another TA");
        goto out;
    }
    if (!(j = cli_cert_json(&c, enc, enc_len))) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the output");
        goto out;
    }
    if (output && write_file(ctx, output, j) != CLI_OK)
        goto out;
    if (ctx->json)
        rc = cli_print_json(j);
    else if (output)
        rc = printf("wrote %s (version %llu, epoch %llu)\n", output, (unsigned long long)c.version,
                    (unsigned long long)c.epoch) < 0 ? CLI_FAIL : CLI_OK;
    else {
        print_human(&c, id);
        rc = ferror(stdout) ? CLI_FAIL : CLI_OK;
    }
out:
    talos_cert_clear(&c);
    free(enc);
    json_decref(j);
    json_decref(resp);
    json_decref(req);
    return rc;
}
