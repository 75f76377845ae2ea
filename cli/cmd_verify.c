/* talos verify CERT...: check state certificates, alone and as a chain.
 *
 * Everything is checked here, against this machine's trust anchors: each
 * certificate's signature, the rotation links from the lineage's first key
 * to the signing key, the key's evidence (bound to the key, naming the
 * certificate's identity), then across the files, oldest first: one
 * lineage, one key per epoch, versions and epochs never going back, one
 * state per version, chain heads that link, one identity. The first break
 * ends the run with its specific error (docs/state-certs.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cert_json.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "core/cert.h"
#include "core/crypto.h"
#include "talos/talos.h"

const char cmd_verify_usage[] =
    "usage: talos verify [--anchors PEM] [--allow-sim] [--measurement HEX] [--json] CERT...\n"
    "\n"
    "Verify state certificates written by 'talos state-cert', given oldest\n"
    "first: each one's signature, the rotation links that certify its key\n"
    "from the lineage's first key, and its key's evidence against the trust\n"
    "anchors; then the chain: one lineage, versions never decrease, no fork\n"
    "(two states for one version, two keys for one epoch, an old key serving\n"
    "after the next took over), chain heads link, one identity. Exit 0 when\n"
    "all verify, 1 with the reason of the first break.\n"
    "\n"
    "options:\n"
    "  --anchors PEM      trust anchors (CA certificates, PEM); default: the\n"
    "                     local sim CA, as 'talos attest'\n"
    "  --allow-sim        accept evidence of the sim backend, which gives NO\n"
    "                     hardware isolation (also: TALOS_ALLOW_SIM=1)\n"
    "  --measurement HEX  the TA image every certificate must name (default:\n"
    "                     the first certificate's)\n"
    "  --json             print the result as JSON on stdout\n"
    "  -h, --help         show this help\n";

/* Encoded certificates are at most TALOS_CERT_MAX_BYTES (~150 KiB). */
#define CERT_FILE_MAX (4u << 20)

struct ev_ctx {
    const uint8_t *pem;
    size_t pem_len;
    unsigned flags;
    int simulated;
};

static int ev_verify(void *ctx, const uint8_t *ev, size_t len, struct talos_claims *cl)
{
    struct ev_ctx *x = ctx;
    int rc = talos_verify_evidence(ev, len, x->pem, x->pem_len, x->flags, cl);
    if (rc == TALOS_OK && (cl->flags & TALOS_CLAIM_SIMULATED))
        x->simulated = 1;
    return rc;
}

/* Read and decode one file; its JSON fields must say what "cert" says. */
static int load(const char *path, struct talos_cert *c, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *j = NULL, *again = NULL;
    const char *hex = NULL;
    uint8_t *enc = NULL;
    struct stat st;
    size_t n = 0;
    int rc = TALOS_ERR_MALFORMED;

    /* A file is hostile input: bound it before a parser holds it. */
    if (stat(path, &st) != 0) {
        snprintf(why, cap, "cannot read: %s", strerror(errno));
        return TALOS_ERR_IO;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > 2ull * CERT_FILE_MAX + 65536) {
        snprintf(why, cap, "not a state certificate file (not a regular file of at most %u MiB)",
                 (2 * CERT_FILE_MAX) >> 20);
        return TALOS_ERR_TOO_LARGE;
    }
    if (!(j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(why, cap, "not JSON: %s", jerr.text);
        return jerr.line < 0 ? TALOS_ERR_IO : TALOS_ERR_MALFORMED;
    }
    hex = json_string_value(json_object_get(j, "cert"));
    n = hex ? strlen(hex) / 2 : 0;
    if (!hex || n == 0 || n > CERT_FILE_MAX || strlen(hex) != 2 * n) {
        snprintf(why, cap, "not a state certificate file (no \"cert\")");
        goto out;
    }
    if (!(enc = malloc(n))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    if (talos_unhex(hex, enc, n) != TALOS_OK || (rc = talos_cert_decode(enc, n, c)) != TALOS_OK) {
        rc = rc == TALOS_ERR_NOMEM ? rc : TALOS_ERR_MALFORMED;
        snprintf(why, cap, "the certificate does not decode");
        goto out;
    }
    if (!(again = cli_cert_json(c, enc, n))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    if (!json_equal(j, again)) {
        rc = TALOS_ERR_CERT;
        snprintf(why, cap, "the file's fields do not match its signed certificate (edited?)");
        goto out;
    }
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK)
        talos_cert_clear(c);
    json_decref(again);
    json_decref(j);
    free(enc);
    return rc;
}

static int report_json(char **files, const struct talos_cert *certs, size_t n, int err,
                       const char *bad_file, const char *why, int simulated)
{
    json_t *j = json_object(), *arr = json_array();
    int bad = !j || !arr, rc = CLI_FAIL;
    char h[2 * TALOS_HASH + 1];

    for (size_t i = 0; !bad && i < n; i++) {
        json_t *o = json_object();
        bad |= !o || json_object_set_new(o, "file", json_string(files[i])) ||
               json_object_set_new(o, "epoch", json_integer((json_int_t)certs[i].epoch)) ||
               json_object_set_new(o, "version", json_integer((json_int_t)certs[i].version));
        talos_hex(certs[i].root, TALOS_HASH, h);
        bad |= json_object_set_new(o, "state_root", json_string(h));
        bad |= json_array_append_new(arr, o);
    }
    if (!bad) {
        bad |= json_object_set_new(j, "verified", json_boolean(err == TALOS_OK));
        bad |= json_object_set_new(j, "error", err == TALOS_OK ? json_null() : json_string(talos_errname(err)));
        bad |= json_object_set_new(j, "message", err == TALOS_OK ? json_null() : json_string(why));
        bad |= json_object_set_new(j, "file", bad_file ? json_string(bad_file) : json_null());
        bad |= json_object_set_new(j, "simulated", json_boolean(simulated));
        if (n) {
            talos_hex(certs[0].lineage, TALOS_LINEAGE_BYTES, h);
            bad |= json_object_set_new(j, "lineage", json_string(h));
        }
        bad |= json_object_set(j, "certificates", arr);
    }
    rc = cli_print_built("verify", j, !bad);
    json_decref(arr);
    json_decref(j);
    return rc;
}

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *anchors = NULL, *meas_hex = NULL, *env = getenv("TALOS_ALLOW_SIM");
    int allow_sim = 0, npos = 0, err = TALOS_OK;
    const struct cli_opt opts[] = {
        {"anchors", 0, &anchors, NULL},
        {"allow-sim", 0, NULL, &allow_sim},
        {"measurement", 0, &meas_hex, NULL},
    };
    uint8_t meas[TALOS_MEASUREMENT_BYTES], *pem = NULL;
    size_t pem_len = 0, n_ok = 0, bad = 0;
    char why[300] = "";
    struct talos_cert *certs = NULL;
    const struct talos_cert **chain = NULL;
    const char *bad_file = NULL;
    struct ev_ctx ev = {0};
    int rc = cli_args(ctx, argc, argv, opts, 3, 0, &npos);

    if (rc != CLI_PROCEED)
        goto out;
    if (npos < 1) {
        rc = cli_usage(ctx->cmd->name, "missing CERT");
        goto out;
    }
    if (meas_hex && talos_unhex(meas_hex, meas, sizeof(meas)) != TALOS_OK) {
        rc = cli_usage(ctx->cmd->name, "--measurement takes %d hex characters", 2 * TALOS_MEASUREMENT_BYTES);
        goto out;
    }
    rc = CLI_FAIL;
    if (cli_read_anchors(ctx, anchors, &pem, &pem_len) != CLI_PROCEED)
        goto out;
    ev.pem = pem;
    ev.pem_len = pem_len;
    ev.flags = allow_sim || (env && strcmp(env, "1") == 0) ? TALOS_VERIFY_ALLOW_SIM : 0;
    certs = calloc((size_t)npos, sizeof(*certs));
    chain = calloc((size_t)npos, sizeof(*chain));
    if (!certs || !chain) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < npos && err == TALOS_OK; i++) {
        bad_file = argv[i + 1];
        if ((err = load(argv[i + 1], &certs[i], why, sizeof(why))) == TALOS_OK &&
            (err = talos_cert_check(&certs[i], ev_verify, &ev, why, sizeof(why))) == TALOS_OK) {
            chain[i] = &certs[i];
            n_ok++;
        }
    }
    if (err == TALOS_OK) {
        bad_file = NULL;
        err = talos_cert_chain_check(chain, n_ok, meas_hex ? meas : NULL, &bad, why, sizeof(why));
        if (err != TALOS_OK)
            bad_file = argv[bad + 1];
    }
    if (ctx->json)
        rc = report_json(argv + 1, certs, n_ok, err, bad_file, why, ev.simulated);
    else if (err == TALOS_OK) {
        char h[33];
        talos_hex(certs[0].lineage, TALOS_LINEAGE_BYTES, h);
        printf("lineage: %s\n", h);
        for (size_t i = 0; i < n_ok; i++)
            printf("  %s: epoch %llu, version %llu\n", argv[i + 1], (unsigned long long)certs[i].epoch,
                   (unsigned long long)certs[i].version);
        printf("identity: %s%s\n", certs[0].backend,
               ev.simulated ? " (SIMULATED — no hardware isolation: the host could forge these)" : "");
        printf("verified: yes (%zu certificate%s, one lineage, no fork, versions never decrease)\n",
               n_ok, n_ok == 1 ? "" : "s");
        rc = ferror(stdout) ? CLI_FAIL : CLI_OK;
    }
    if (err != TALOS_OK) {
        if (err == TALOS_ERR_EVIDENCE_SIM)
            strncat(why, "; pass --allow-sim to accept it", sizeof(why) - strlen(why) - 1);
        cli_fail(ctx->label, err, "%s: %s", bad_file ? bad_file : "chain", why);
        rc = CLI_FAIL;
    }
out:
    for (int i = 0; certs && i < npos; i++)
        talos_cert_clear(&certs[i]);
    free(certs);
    free(chain);
    free(pem);
    return rc;
}
