/* talos attest TA: fetch fresh evidence from the node and verify it HERE.
 *
 * The node is untrusted: it only relays evidence. Trust comes from the
 * anchors this machine holds, a nonce this process drew, and the TA id the
 * user asked about (never an id or lineage the node names). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "core/crypto.h"
#include "talos/talos.h"

const char cmd_attest_usage[] =
    "usage: talos [--node DIR] attest [--anchors PEM] [--allow-sim] [--json] TA\n"
    "\n"
    "Ask the TA for evidence over a fresh random nonce and verify it on this\n"
    "machine: the evidence must chain to a trust anchor, and its report data\n"
    "must bind the nonce and the TA id given here. Exits 0 only when the\n"
    "evidence verifies.\n"
    "\n"
    "options:\n"
    "  --anchors PEM  trust anchors (CA certificates, PEM); default: the local\n"
    "                 sim CA, $TALOS_SIM_CA/ca.pem or\n"
    "                 $HOME/.local/state/talos/sim-ca/ca.pem\n"
    "  --allow-sim    accept evidence of the sim backend, which gives NO\n"
    "                 hardware isolation (also: TALOS_ALLOW_SIM=1)\n" CLI_COMMON_HELP;

/* Trust anchors are a few certificates; anything larger is not ours. */
#define ANCHORS_MAX (1u << 20)

static const struct cli_field attest_fields[] = {
    {"evidence", CLI_J_HEX, 0, 0},
    /* Relayed for the curious but never used: the lineage is the user's. */
    {"lineage", CLI_J_HEX, TALOS_LINEAGE_BYTES, 1},
};

/* Outcome of one attestation, for both output forms. */
struct attest_result {
    char id[2 * TALOS_LINEAGE_BYTES + 1];
    char nonce[2 * TALOS_NONCE_BYTES + 1];
    struct talos_claims claims;
    int have_claims; /* the signature chain verified; claims are authentic */
    int err;         /* TALOS_OK when verified */
    const char *message;
};

static int read_anchors_file(const struct cli_ctx *ctx, const char *path, const char *hint,
                             uint8_t **pem, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = CLI_FAIL;

    if (!f) {
        cli_fail(ctx->label, TALOS_ERR_IO, "cannot read trust anchors %s: %s%s", path, strerror(errno),
                 hint);
        goto out;
    }
    buf = malloc(ANCHORS_MAX + 1);
    if (!buf) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot hold the trust anchors");
        goto out;
    }
    n = fread(buf, 1, ANCHORS_MAX + 1, f);
    if (ferror(f)) {
        cli_fail(ctx->label, TALOS_ERR_IO, "cannot read trust anchors %s: %s%s", path, strerror(errno), hint);
        goto out;
    }
    if (n == 0 || n > ANCHORS_MAX) {
        cli_fail(ctx->label, n ? TALOS_ERR_TOO_LARGE : TALOS_ERR_MALFORMED, "trust anchors %s: %s%s", path,
                 n ? "larger than 1 MiB" : "empty file", hint);
        goto out;
    }
    *pem = buf;
    *len = n;
    buf = NULL;
    rc = CLI_PROCEED;
out:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

int cli_read_anchors(const struct cli_ctx *ctx, const char *path, uint8_t **pem, size_t *len)
{
    char dflt[PATH_MAX + 16] = "", *hint_line = NULL;
    const char *hint = "";
    int rc = CLI_FAIL;

    if (path)
        return read_anchors_file(ctx, path, "", pem, len);
    /* The default backend's local anchors, wherever it keeps them. */
    if (talos_default_anchors(NULL, dflt, sizeof(dflt), &hint) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_INVALID_ARG, "no trust anchors: pass --anchors PEM%s%s",
                 *hint ? " or " : "", hint);
        return CLI_FAIL;
    }
    if (asprintf(&hint_line, " (pass --anchors PEM%s%s)", *hint ? " or " : "", hint) < 0) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot hold the trust anchors");
        return CLI_FAIL;
    }
    rc = read_anchors_file(ctx, dflt, hint_line, pem, len);
    free(hint_line);
    return rc;
}

/* json_object_set_new: 0 on success; failures are OR-ed and checked once. */
static int hex_field(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1] = "";
    talos_hex(p, n, hex);
    return json_object_set_new(o, key, json_string(hex));
}

static int print_json(const struct attest_result *r)
{
    const struct talos_claims *c = &r->claims;
    json_t *j = json_object(), *cl = r->have_claims ? json_object() : json_null();
    int bad = !j || !cl, rc = CLI_FAIL;

    if (!bad && r->have_claims) {
        bad |= json_object_set_new(cl, "backend", json_string(c->backend));
        bad |= json_object_set_new(cl, "simulated", json_boolean(c->flags & TALOS_CLAIM_SIMULATED));
        bad |= json_object_set_new(cl, "debug", json_boolean(c->flags & TALOS_CLAIM_DEBUG));
        bad |= hex_field(cl, "measurement", c->measurement, sizeof(c->measurement));
        bad |= hex_field(cl, "config_id", c->config_id, sizeof(c->config_id));
        /* null when the platform computed no CFG (TALOS_CLAIM_NO_CFG) */
        if (c->flags & TALOS_CLAIM_NO_CFG)
            bad |= json_object_set_new(cl, "cfg_digest", json_null());
        else
            bad |= hex_field(cl, "cfg_digest", c->cfg_digest, sizeof(c->cfg_digest));
        bad |= hex_field(cl, "report_data", c->report_data, sizeof(c->report_data));
        bad |= hex_field(cl, "platform_id", c->platform_id, sizeof(c->platform_id));
    }
    if (!bad) {
        bad |= json_object_set_new(j, "id", json_string(r->id));
        bad |= json_object_set_new(j, "nonce", json_string(r->nonce));
        /* Claims are null unless the evidence's signatures verified. */
        bad |= json_object_set(j, "claims", cl);
        bad |= json_object_set_new(j, "verified", json_boolean(r->err == TALOS_OK));
        bad |= json_object_set_new(j, "error",
                                   r->err == TALOS_OK ? json_null() : json_string(talos_errname(r->err)));
        bad |= json_object_set_new(j, "message", r->message ? json_string(r->message) : json_null());
    }
    rc = cli_print_built("attest", j, !bad);
    json_decref(cl);
    json_decref(j);
    return rc;
}

static void print_hex_line(const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1] = "";
    talos_hex(p, n, hex);
    printf("%s: %s\n", key, hex);
}

static int print_human(const struct attest_result *r)
{
    const struct talos_claims *c = &r->claims;
    char backend[TALOS_BACKEND_NAME_MAX] = "";

    printf("ta: %s\n", r->id);
    if (r->have_claims) {
        cli_sanitize(c->backend, backend, sizeof(backend));
        printf("backend: %s%s%s\n", backend,
               c->flags & TALOS_CLAIM_SIMULATED ? " (SIMULATED — no hardware isolation)" : "",
               c->flags & TALOS_CLAIM_DEBUG ? " (DEBUG)" : "");
        print_hex_line("measurement", c->measurement, sizeof(c->measurement));
        print_hex_line("config_id", c->config_id, sizeof(c->config_id));
        if (c->flags & TALOS_CLAIM_NO_CFG)
            printf("cfg_digest: none (the platform computed no CFG)\n");
        else
            print_hex_line("cfg_digest", c->cfg_digest, sizeof(c->cfg_digest));
        print_hex_line("platform", c->platform_id, sizeof(c->platform_id));
    }
    printf("nonce: %s\n", r->nonce);
    if (r->have_claims)
        printf("report_data: %s\n", r->err == TALOS_ERR_REPORT_DATA
                                        ? "NOT bound to this nonce and lineage"
                                        : "bound to nonce and lineage");
    if (r->err == TALOS_OK)
        printf("verified: yes\n");
    else
        printf("verified: no — %s (%s)\n", r->message, talos_errname(r->err));
    return ferror(stdout) ? CLI_FAIL : CLI_OK;
}

/* Verify evidence against anchors, then its binding to nonce and lineage. */
static void verify(struct attest_result *r, const uint8_t *ev, size_t ev_len, const uint8_t *pem,
                   size_t pem_len, unsigned flags, const uint8_t nonce[TALOS_NONCE_BYTES],
                   const uint8_t lineage[TALOS_LINEAGE_BYTES])
{
    r->err = talos_verify_evidence(ev, ev_len, pem, pem_len, flags, &r->claims);
    if (r->err == TALOS_OK) {
        /* The claims' backend is printed as a C string: make sure it is one. */
        r->claims.backend[sizeof(r->claims.backend) - 1] = '\0';
        r->have_claims = 1;
        r->err = talos_attest_check_report_data(&r->claims, nonce, lineage);
    }
    if (r->err == TALOS_ERR_EVIDENCE_SIM)
        r->message = "evidence is simulated (sim backend: no hardware isolation); "
                     "pass --allow-sim to accept it";
    else if (r->err == TALOS_ERR_REPORT_DATA)
        r->message = "report data does not bind this nonce and TA id (replayed or another TA's evidence)";
    else if (r->err == TALOS_ERR_MALFORMED)
        r->message = "evidence does not decode";
    else if (r->err == TALOS_ERR_NOT_IMPLEMENTED)
        r->message = "evidence of a backend this verifier does not know";
    else if (r->err != TALOS_OK)
        r->message = talos_strerror(r->err);
}

int cmd_attest(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *anchors = NULL, *env = getenv("TALOS_ALLOW_SIM");
    int allow_sim = 0, npos = 0;
    const struct cli_opt opts[] = {
        {"anchors", 0, &anchors, NULL},
        {"allow-sim", 0, NULL, &allow_sim},
    };
    uint8_t lineage[TALOS_LINEAGE_BYTES] = {0}, nonce[TALOS_NONCE_BYTES] = {0};
    uint8_t *pem = NULL, *ev = NULL;
    size_t pem_len = 0, ev_len = 0;
    struct attest_result r = {.err = TALOS_ERR_INVALID_ARG};
    json_t *req = NULL, *resp = NULL;
    const char *ev_hex = NULL;
    int rc = cli_args(ctx, argc, argv, opts, 2, 0, &npos);

    if (rc != CLI_PROCEED)
        goto out;
    if ((rc = cli_ta_request(ctx, npos, argv, "attest", lineage, r.id, &req)) != CLI_PROCEED)
        goto out;
    rc = CLI_FAIL;
    allow_sim = allow_sim || (env && strcmp(env, "1") == 0);
    /* Anchors before the node: a verifier without anchors has no business asking. */
    if (cli_read_anchors(ctx, anchors, &pem, &pem_len) != CLI_PROCEED)
        goto out;
    if (talos_random_bytes(nonce, sizeof(nonce)) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_CRYPTO, "cannot draw a nonce");
        goto out;
    }
    talos_hex(nonce, sizeof(nonce), r.nonce);
    if (cli_set_str(req, "nonce", r.nonce) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        goto out;
    }
    if (cli_rpc(ctx, req, &resp) != CLI_PROCEED ||
        cli_check_fields(ctx->label, NULL, resp, attest_fields, 2) != CLI_PROCEED)
        goto out;
    ev_hex = json_string_value(json_object_get(resp, "evidence"));
    ev_len = strlen(ev_hex) / 2;
    if (ev_len == 0 || ev_len > TALOS_EVIDENCE_MAX) {
        cli_malformed(ctx->label, "evidence");
        goto out;
    }
    ev = malloc(ev_len);
    if (!ev || talos_unhex(ev_hex, ev, ev_len) != TALOS_OK) {
        cli_fail(ctx->label, ev ? TALOS_ERR_MALFORMED : TALOS_ERR_NOMEM, "cannot decode the evidence");
        goto out;
    }
    verify(&r, ev, ev_len, pem, pem_len, allow_sim ? TALOS_VERIFY_ALLOW_SIM : 0, nonce, lineage);
    rc = ctx->json ? print_json(&r) : print_human(&r);
    if (r.err != TALOS_OK) {
        cli_fail(ctx->label, r.err, "%s", r.message);
        rc = CLI_FAIL;
    }
out:
    json_decref(resp);
    json_decref(req);
    free(ev);
    free(pem);
    return rc;
}
