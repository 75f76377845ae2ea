/* Seed inputs for the harnesses of the sim formats (`make fuzz-seeds` runs
 * it beside tests/fuzz/gen_seeds.c, into the same tests/fuzz/corpus/):
 * evidence/sim-valid, signed with the fixed platform key of
 * tests/fuzz/fuzz_keys.h so that it chains to the fixed CA and verifies in
 * full. Deterministic: Ed25519 signatures are. */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "talos/talos.h"
#include "tee/sim/verify/evidence.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/seeds.h"

static const char *root;
static int failed;

static void put(const char *harness, const char *name, const void *p, size_t n)
{
    if (seed_write(root, harness, name, p, n) != 0)
        failed = 1;
}

/* evidence: signed by the fixed platform key. */
static void gen_evidence(void)
{
    BIO *b = NULL;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    uint8_t *der = NULL, ev[TALOS_EVIDENCE_MAX];
    uint8_t m[TALOS_MEASUREMENT_BYTES], cfg[TALOS_CFG_DIGEST_BYTES], rd[TALOS_REPORT_DATA_BYTES],
        nonce[TALOS_NONCE_BYTES], lineage[TALOS_LINEAGE_BYTES];
    size_t len = sizeof(ev);
    int n = 0;

    b = BIO_new_mem_buf(fuzz_platform_key, -1);
    key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    b = BIO_new_mem_buf(fuzz_platform_pem, -1);
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!key || !x || (n = i2d_X509(x, &der)) <= 0) {
        fprintf(stderr, "gen_seeds: cannot load the fuzz keys\n");
        failed = 1;
        goto out;
    }
    seed_fill(m, sizeof(m), 8);
    seed_fill(cfg, sizeof(cfg), 9);
    seed_fill(nonce, sizeof(nonce), 10);
    seed_fill(lineage, sizeof(lineage), 11);
    talos_attest_report_data(nonce, lineage, rd);
    if (talos_sim_evidence_sign(key, der, (size_t)n, TALOS_CLAIM_SIMULATED, m, cfg, m, rd, ev, &len) !=
        TALOS_OK) {
        failed = 1;
        goto out;
    }
    put("evidence", "sim-valid", ev, len);
out:
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(key);
}

int main(int argc, char **argv)
{
    int rc = seed_root(argc, argv, "gen_seeds_sim", &root);

    if (rc != 0)
        return rc;
    gen_evidence();
    return failed;
}
