/* Sim evidence (tee/sim/verify/evidence.c): the strict decoder
 * talos_sim_evidence_decode and the public verifier talos_verify_evidence
 * (envelope, backend registry, certificate chain to a fixed CA, platform
 * key, Ed25519 signature, the simulated flag).
 *
 * Input: one evidence blob. Checked:
 *  - a decoded blob is "sim", flagged simulated, with a certificate of
 *    1..TALOS_SIM_EV_CERT_MAX bytes and a 64-byte signature inside the
 *    input, right after the signed bytes;
 *  - a verified blob decodes to the same claims and names the only
 *    platform the CA certified; on failure the claims are zeroed;
 *  - without TALOS_VERIFY_ALLOW_SIM nothing verifies (I3, T11);
 *  - re-signed with the platform key (second pass), a decoded blob
 *    re-encodes to the input except for platform id and signature, and
 *    verifies when it carries the platform's certificate: this reaches
 *    the checks behind the signature with fuzzed claims.
 * The CA and platform key are fixed (tests/fuzz/fuzz_keys.h) so that the
 * committed seeds verify in full. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "talos/err.h"
#include "talos/talos.h"
#include "tee/sim/verify/evidence.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/bytes.h"

/* Offset of platform_id in the encoding: magic, version, "sim", flags,
 * measurement, config id, CFG digest, report data. */
#define PLATFORM_ID_OFF                                                                            \
    (4 + 2 + 4 + 3 + 4 + TALOS_MEASUREMENT_BYTES + TALOS_CONFIG_ID_BYTES +                         \
     TALOS_CFG_DIGEST_BYTES + TALOS_REPORT_DATA_BYTES)

static EVP_PKEY *platform_key;
static uint8_t *platform_cert;
static size_t platform_cert_len;
static uint8_t platform_id[TALOS_PLATFORM_ID_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    BIO *b = NULL;
    X509 *x = NULL;
    uint8_t raw[TALOS_ED25519_PUB_BYTES];
    size_t raw_len = sizeof(raw);
    int n = 0;

    talos_log_init("fuzz_evidence", TALOS_LOG_ERROR);
    b = BIO_new_mem_buf(fuzz_platform_key, -1);
    platform_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    b = BIO_new_mem_buf(fuzz_platform_pem, -1);
    x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    FUZZ_CHECK(platform_key && x);
    n = i2d_X509(x, &platform_cert);
    FUZZ_CHECK(n > 0);
    platform_cert_len = (size_t)n;
    X509_free(x);
    FUZZ_CHECK(EVP_PKEY_get_raw_public_key(platform_key, raw, &raw_len) == 1 &&
               raw_len == TALOS_ED25519_PUB_BYTES);
    talos_sha256(raw, sizeof(raw), platform_id);
    return 0;
}

static int same_claims(const struct talos_claims *a, const struct talos_claims *b)
{
    return strcmp(a->backend, b->backend) == 0 && a->flags == b->flags &&
           memcmp(a->measurement, b->measurement, sizeof(a->measurement)) == 0 &&
           memcmp(a->config_id, b->config_id, sizeof(a->config_id)) == 0 &&
           memcmp(a->report_data, b->report_data, sizeof(a->report_data)) == 0 &&
           memcmp(a->platform_id, b->platform_id, sizeof(a->platform_id)) == 0;
}

/* Verify with and without ALLOW_SIM; returns the ALLOW_SIM result. */
static int verify(const uint8_t *ev, size_t n, const struct talos_sim_evidence *dec, int dec_rc)
{
    struct talos_claims c;
    int rc, rc0;

    memset(&c, 0xa5, sizeof(c));
    rc = talos_verify_evidence(ev, n, (const uint8_t *)fuzz_ca_pem, strlen(fuzz_ca_pem),
                               TALOS_VERIFY_ALLOW_SIM, &c);
    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_EVIDENCE_CHAIN ||
               rc == TALOS_ERR_EVIDENCE_SIG || rc == TALOS_ERR_NOT_IMPLEMENTED ||
               rc == TALOS_ERR_CRYPTO || rc == TALOS_ERR_NOMEM);
    if (rc == TALOS_OK) {
        FUZZ_CHECK(dec_rc == TALOS_OK && same_claims(&c, &dec->claims));
        FUZZ_CHECK(memcmp(c.platform_id, platform_id, TALOS_PLATFORM_ID_BYTES) == 0);
        FUZZ_CHECK(c.flags == TALOS_CLAIM_SIMULATED ||
                   c.flags == (TALOS_CLAIM_SIMULATED | TALOS_CLAIM_NO_CFG));
    } else {
        FUZZ_CHECK(test_is_zero(&c, sizeof(c)));
    }
    rc0 = talos_verify_evidence(ev, n, (const uint8_t *)fuzz_ca_pem, strlen(fuzz_ca_pem), 0, &c);
    FUZZ_CHECK(rc0 != TALOS_OK && test_is_zero(&c, sizeof(c)));
    if (rc == TALOS_OK)
        FUZZ_CHECK(rc0 == TALOS_ERR_EVIDENCE_SIM);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct talos_sim_evidence e, e2;
    uint8_t ev2[TALOS_EVIDENCE_MAX];
    size_t len2 = sizeof(ev2);
    int rc = talos_sim_evidence_decode(data, size, &e);

    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_MALFORMED);
    if (rc == TALOS_OK) {
        FUZZ_CHECK(strcmp(e.claims.backend, "sim") == 0);
        FUZZ_CHECK(e.claims.flags == TALOS_CLAIM_SIMULATED ||
                   e.claims.flags == (TALOS_CLAIM_SIMULATED | TALOS_CLAIM_NO_CFG));
        FUZZ_CHECK(e.cert_len >= 1 && e.cert_len <= TALOS_SIM_EV_CERT_MAX);
        FUZZ_CHECK(e.cert_der >= data && e.cert_der + e.cert_len <= data + size);
        FUZZ_CHECK(e.cert_der + e.cert_len == data + e.signed_len);
        FUZZ_CHECK(e.sig == data + e.signed_len + 4 && e.signed_len + 4 + 64 == size);
    } else {
        FUZZ_CHECK(test_is_zero(&e, sizeof(e)));
    }
    (void)verify(data, size, &e, rc);
    if (rc != TALOS_OK)
        return 0;

    /* Second pass: the same claims and certificate, signed by the platform. */
    rc = talos_sim_evidence_sign(platform_key, e.cert_der, e.cert_len,
                                 e.claims.flags & ~TALOS_CLAIM_NO_CFG, e.claims.measurement,
                                 e.claims.config_id,
                                 (e.claims.flags & TALOS_CLAIM_NO_CFG) ? NULL : e.claims.cfg_digest,
                                 e.claims.report_data, ev2, &len2);
    FUZZ_CHECK(rc == TALOS_OK && len2 == size);
    FUZZ_CHECK(memcmp(ev2, data, PLATFORM_ID_OFF) == 0);
    FUZZ_CHECK(memcmp(ev2 + PLATFORM_ID_OFF, platform_id, TALOS_PLATFORM_ID_BYTES) == 0);
    FUZZ_CHECK(memcmp(ev2 + PLATFORM_ID_OFF + TALOS_PLATFORM_ID_BYTES,
                      data + PLATFORM_ID_OFF + TALOS_PLATFORM_ID_BYTES,
                      e.signed_len + 4 - PLATFORM_ID_OFF - 32) == 0);
    FUZZ_CHECK(talos_sim_evidence_decode(ev2, len2, &e2) == TALOS_OK);
    rc = verify(ev2, len2, &e2, TALOS_OK);
    if (e.cert_len == platform_cert_len && memcmp(e.cert_der, platform_cert, e.cert_len) == 0)
        FUZZ_CHECK(rc == TALOS_OK);
    return 0;
}
