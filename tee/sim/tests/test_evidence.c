/* Sim evidence: sign, verify, and every refusal with its exact code.
 * Also the TA-side check of evidence a host hands back (enclave.c).
 *
 * One file over 400 lines: one case per refusal of one format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/wire.h"
#include "tee/sim/verify/evidence.h"
#include "tee/tee.h"

/* The enclave side is not in the host libraries unit tests link; include it
 * to drive its evidence check with a fake host. */
#include "tee/sim/enclave/enclave.c"
#include "tests/tmpdir.h"
#include "tests/bytes.h"

struct fixture {
    char base[64], ca[96], ca2[96], st_a[96], st_b[96], st_c[96];
    const struct talos_tee_host_ops *ops;
    struct talos_platform *a, *b, *c; /* a, b: CA 1; c: CA 2 */
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t ev_len;
};

static const uint8_t meas[TALOS_MEASUREMENT_BYTES] = {0x11, 0x12, 0x13},
                     cfg_id[TALOS_CONFIG_ID_BYTES] = {0x22}, cfgd[TALOS_CFG_DIGEST_BYTES] = {0x44},
                     rdata[TALOS_REPORT_DATA_BYTES] = {0x33, 0x34};

static struct talos_platform *open_platform(struct fixture *f, const char *st, const char *ca)
{
    struct talos_backend_option ca_opt = {"ca", ca};
    struct talos_platform_config cfg = {.state_dir = st, .options = &ca_opt, .n_options = 1};
    struct talos_platform *p = NULL;

    assert_int_equal(mkdir(st, 0700), 0);
    assert_int_equal(f->ops->open(&cfg, &p), TALOS_OK);
    return p;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_non_null(test_tmpdir_make(f->base, sizeof(f->base), "ev"));
    snprintf(f->ca, sizeof(f->ca), "%s/ca1", f->base);
    snprintf(f->ca2, sizeof(f->ca2), "%s/ca2", f->base);
    snprintf(f->st_a, sizeof(f->st_a), "%s/a", f->base);
    snprintf(f->st_b, sizeof(f->st_b), "%s/b", f->base);
    snprintf(f->st_c, sizeof(f->st_c), "%s/c", f->base);
    f->ops = talos_tee_host_find("sim");
    assert_non_null(f->ops);
    f->a = open_platform(f, f->st_a, f->ca);
    f->b = open_platform(f, f->st_b, f->ca);
    f->c = open_platform(f, f->st_c, f->ca2);
    f->ev_len = sizeof(f->ev);
    assert_int_equal(f->ops->quote(f->a, meas, cfg_id, cfgd, rdata, f->ev, &f->ev_len), TALOS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    f->ops->close(f->a);
    f->ops->close(f->b);
    f->ops->close(f->c);
    test_tmpdir_remove(f->base);
    free(f);
    return 0;
}

static void anchors_of(struct fixture *f, struct talos_platform *p, const uint8_t **pem, size_t *len)
{
    assert_int_equal(f->ops->anchors(p, pem, len), TALOS_OK);
    assert_true(*len > 0);
}

static int verify(struct fixture *f, const uint8_t *ev, size_t len, unsigned flags)
{
    const uint8_t *pem = NULL;
    size_t pem_len = 0;
    struct talos_claims c;
    int rc = 0;

    memset(&c, 0xa5, sizeof(c));
    anchors_of(f, f->a, &pem, &pem_len);
    rc = talos_verify_evidence(ev, len, pem, pem_len, flags, &c);
    if (rc != TALOS_OK)
        assert_true(test_is_zero(&c, sizeof(c)));
    return rc;
}

static void test_sign_verify_ok(void **state)
{
    struct fixture *f = *state;
    const uint8_t *pem = NULL;
    size_t pem_len = 0;
    struct talos_claims c;
    struct talos_sim_evidence e;

    anchors_of(f, f->a, &pem, &pem_len);
    assert_true(f->ev_len <= TALOS_EVIDENCE_MAX);
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, pem, pem_len, TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_OK);
    assert_string_equal(c.backend, "sim");
    assert_int_equal(c.flags, TALOS_CLAIM_SIMULATED);
    assert_memory_equal(c.measurement, meas, TALOS_MEASUREMENT_BYTES);
    assert_memory_equal(c.config_id, cfg_id, TALOS_CONFIG_ID_BYTES);
    assert_memory_equal(c.cfg_digest, cfgd, TALOS_CFG_DIGEST_BYTES);
    assert_memory_equal(c.report_data, rdata, TALOS_REPORT_DATA_BYTES);
    /* platform_id is the hash of the key in the certificate. */
    assert_int_equal(talos_sim_evidence_decode(f->ev, f->ev_len, &e), TALOS_OK);
    assert_memory_equal(e.claims.platform_id, c.platform_id, TALOS_PLATFORM_ID_BYTES);
    /* The registry's verifier gives the same answer. */
    assert_int_equal(talos_tee_verifier_find("sim")->verify(f->ev, f->ev_len, pem, pem_len,
                                                            TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_OK);
    /* Another platform of the same CA has another platform_id. */
    uint8_t ev2[TALOS_EVIDENCE_MAX];
    size_t len2 = sizeof(ev2);
    struct talos_claims c2;
    assert_int_equal(f->ops->quote(f->b, meas, cfg_id, cfgd, rdata, ev2, &len2), TALOS_OK);
    assert_int_equal(talos_verify_evidence(ev2, len2, pem, pem_len, TALOS_VERIFY_ALLOW_SIM, &c2), TALOS_OK);
    assert_memory_not_equal(c.platform_id, c2.platform_id, TALOS_PLATFORM_ID_BYTES);
}

static void test_sim_refused_without_flag(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(verify(f, f->ev, f->ev_len, 0), TALOS_ERR_EVIDENCE_SIM);
    assert_int_equal(verify(f, f->ev, f->ev_len, TALOS_VERIFY_ALLOW_DEBUG), TALOS_ERR_EVIDENCE_SIM);
}

/* Expected refusal for a flipped bit at byte i. 0 means "MALFORMED or
 * EVIDENCE_CHAIN" (certificate bytes: DER damage vs. signature damage), 1
 * means "MALFORMED or NOT_IMPLEMENTED" (backend name length). */
static int expected_for(struct fixture *f, size_t i, size_t cert_off, size_t cert_len)
{
    const size_t name_len_off = 6, name_off = 10, flags_off = 13, claims_off = 17;
    if (i < name_len_off)
        return TALOS_ERR_MALFORMED; /* magic, version */
    if (i < name_off)
        return 1;
    if (i < flags_off)
        return TALOS_ERR_NOT_IMPLEMENTED; /* "sim" becomes another name */
    if (i < claims_off)
        return TALOS_ERR_MALFORMED; /* flags other than SIMULATED */
    if (i < cert_off - 4)
        return TALOS_ERR_EVIDENCE_SIG; /* measurement, config, CFG digest, report data, platform id */
    if (i < cert_off)
        return TALOS_ERR_MALFORMED; /* certificate length */
    if (i < cert_off + cert_len)
        return 0;
    if (i < cert_off + cert_len + 4)
        return TALOS_ERR_MALFORMED; /* signature length */
    return TALOS_ERR_EVIDENCE_SIG;
}

static void test_bitflip_every_bit(void **state)
{
    struct fixture *f = *state;
    struct talos_sim_evidence e;
    uint8_t *copy = malloc(f->ev_len);
    size_t cert_off = 0, counts[4] = {0};

    assert_non_null(copy);
    assert_int_equal(talos_sim_evidence_decode(f->ev, f->ev_len, &e), TALOS_OK);
    cert_off = (size_t)(e.cert_der - f->ev);
    assert_int_equal(cert_off, 17 + 32 + 32 + 32 + 64 + 32 + 4);
    assert_int_equal(f->ev_len, cert_off + e.cert_len + 4 + 64);
    for (size_t i = 0; i < f->ev_len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            int want = expected_for(f, i, cert_off, e.cert_len);
            int rc = 0;
            memcpy(copy, f->ev, f->ev_len);
            copy[i] ^= (uint8_t)(1u << bit);
            rc = verify(f, copy, f->ev_len, TALOS_VERIFY_ALLOW_SIM);
            if (want == 0)
                assert_true(rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_EVIDENCE_CHAIN);
            else if (want == 1)
                assert_true(rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_NOT_IMPLEMENTED);
            else if (rc != want)
                fail_msg("byte %zu bit %d: got %s, want %s", i, bit, talos_errname(rc), talos_errname(want));
            counts[rc == TALOS_ERR_MALFORMED ? 0 : rc == TALOS_ERR_EVIDENCE_SIG ? 1 : rc == TALOS_ERR_EVIDENCE_CHAIN ? 2 : 3]++;
            /* A forged blob never earns the "simulated" answer. */
            if (want != TALOS_ERR_MALFORMED && want != 0 && want != 1)
                assert_int_equal(verify(f, copy, f->ev_len, 0), want);
        }
    }
    assert_true(counts[2] > 0); /* some certificate flips parse and fail the chain */
    free(copy);
}

static void test_wrong_anchor(void **state)
{
    struct fixture *f = *state;
    const uint8_t *pem1 = NULL, *pem2 = NULL;
    size_t len1 = 0, len2 = 0;
    struct talos_claims c;
    uint8_t *both = NULL;
    static const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    anchors_of(f, f->a, &pem1, &len1);
    anchors_of(f, f->c, &pem2, &len2);
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, pem2, len2, TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_ERR_EVIDENCE_CHAIN);
    assert_true(test_is_zero(&c, sizeof(c)));
    /* Checked before simulation: not EVIDENCE_SIM without ALLOW_SIM either. */
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, pem2, len2, 0, &c), TALOS_ERR_EVIDENCE_CHAIN);
    /* No anchors, or anchors without a certificate. */
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, NULL, 0, TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_ERR_EVIDENCE_CHAIN);
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, junk, sizeof(junk) - 1,
                                           TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_ERR_EVIDENCE_CHAIN);
    /* Several anchors: the right one anywhere in the bundle is enough. */
    both = malloc(len1 + len2);
    assert_non_null(both);
    memcpy(both, pem2, len2);
    memcpy(both + len2, pem1, len1);
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, both, len1 + len2, TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_OK);
    free(both);
}

/* Evidence carrying another genuine platform's certificate: the chain holds,
 * the key does not match platform_id or the signature. */
static void test_spliced_certificate(void **state)
{
    struct fixture *f = *state;
    struct talos_sim_evidence ea, eb;
    uint8_t evb[TALOS_EVIDENCE_MAX];
    size_t lenb = sizeof(evb);
    struct talos_wr w;

    assert_int_equal(f->ops->quote(f->b, meas, cfg_id, cfgd, rdata, evb, &lenb), TALOS_OK);
    assert_int_equal(talos_sim_evidence_decode(f->ev, f->ev_len, &ea), TALOS_OK);
    assert_int_equal(talos_sim_evidence_decode(evb, lenb, &eb), TALOS_OK);
    /* A's claims and signature, B's certificate. */
    talos_wr_init(&w, 0);
    talos_wr_raw(&w, f->ev, (size_t)(ea.cert_der - f->ev) - 4);
    talos_wr_bytes(&w, eb.cert_der, eb.cert_len);
    talos_wr_bytes(&w, ea.sig, 64);
    assert_int_equal(w.err, 0);
    assert_int_equal(verify(f, w.p, w.len, TALOS_VERIFY_ALLOW_SIM), TALOS_ERR_EVIDENCE_SIG);
    /* ... and with B's platform_id too: only the signature is left to fail. */
    memcpy(w.p + 17 + 32 + 32 + 32 + 64, eb.claims.platform_id, TALOS_PLATFORM_ID_BYTES);
    assert_int_equal(verify(f, w.p, w.len, TALOS_VERIFY_ALLOW_SIM), TALOS_ERR_EVIDENCE_SIG);
    assert_int_equal(verify(f, w.p, w.len, 0), TALOS_ERR_EVIDENCE_SIG);
    talos_wr_free(&w);
}

static void test_truncated_every_length(void **state)
{
    struct fixture *f = *state;
    uint8_t longer[TALOS_EVIDENCE_MAX + 1];

    for (size_t n = 0; n < f->ev_len; n++)
        if (verify(f, f->ev, n, TALOS_VERIFY_ALLOW_SIM) != TALOS_ERR_MALFORMED)
            fail_msg("truncated to %zu bytes: not MALFORMED", n);
    memset(longer, 0, sizeof(longer));
    memcpy(longer, f->ev, f->ev_len);
    assert_int_equal(verify(f, longer, f->ev_len + 1, TALOS_VERIFY_ALLOW_SIM), TALOS_ERR_MALFORMED);
    assert_int_equal(verify(f, longer, sizeof(longer), TALOS_VERIFY_ALLOW_SIM), TALOS_ERR_MALFORMED);
    assert_int_equal(verify(f, NULL, 0, TALOS_VERIFY_ALLOW_SIM), TALOS_ERR_MALFORMED);
}

static void test_unknown_backend(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"sgx-gramine", "skeleton", "", "sim2"};
    struct talos_claims c;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct talos_wr w;
        talos_wr_init(&w, 0);
        talos_wr_u32(&w, TALOS_EV_MAGIC);
        talos_wr_u16(&w, 1);
        talos_wr_str(&w, names[i]);
        talos_wr_raw(&w, f->ev + 13, f->ev_len - 13);
        memset(&c, 0xa5, sizeof(c));
        assert_int_equal(talos_verify_evidence(w.p, w.len, NULL, 0, TALOS_VERIFY_ALLOW_SIM, &c),
                         TALOS_ERR_NOT_IMPLEMENTED);
        assert_true(test_is_zero(&c, sizeof(c)));
        talos_wr_free(&w);
    }
    assert_null(talos_tee_verifier_find(NULL));
    assert_null(talos_tee_verifier_find("nope"));
    assert_null(talos_tee_host_find(NULL));
    assert_non_null(talos_tee_host_find("skeleton"));
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, NULL, 0, 0, NULL), TALOS_ERR_INVALID_ARG);
}

static void test_sign_limits(void **state)
{
    struct fixture *f = *state;
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t len = f->ev_len - 1;

    assert_int_equal(f->ops->quote(f->a, meas, cfg_id, cfgd, rdata, ev, &len), TALOS_ERR_TOO_LARGE);
    len = sizeof(ev);
    assert_int_equal(talos_sim_evidence_sign(NULL, (const uint8_t *)"x", 1, TALOS_CLAIM_SIMULATED, meas,
                                             cfg_id, cfgd, rdata, ev, &len),
                     TALOS_ERR_INVALID_ARG);
}

/* A platform without a CFG signs a zero digest and says so in the flags;
 * the flag and the digest must agree, or the blob is malformed. */
static void test_no_cfg_flag(void **state)
{
    struct fixture *f = *state;
    const uint8_t *pem = NULL;
    size_t pem_len = 0;
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t len = sizeof(ev);
    struct talos_claims c;
    struct talos_sim_evidence e;

    assert_int_equal(f->ops->quote(f->a, meas, cfg_id, NULL, rdata, ev, &len), TALOS_OK);
    anchors_of(f, f->a, &pem, &pem_len);
    assert_int_equal(talos_verify_evidence(ev, len, pem, pem_len, TALOS_VERIFY_ALLOW_SIM, &c), TALOS_OK);
    assert_int_equal(c.flags, TALOS_CLAIM_SIMULATED | TALOS_CLAIM_NO_CFG);
    assert_true(test_is_zero(c.cfg_digest, sizeof(c.cfg_digest)));
    /* NO_CFG cleared on a zero digest, or set on a real one: malformed. */
    ev[16] &= (uint8_t)~TALOS_CLAIM_NO_CFG;
    assert_int_equal(talos_sim_evidence_decode(ev, len, &e), TALOS_ERR_MALFORMED);
    memcpy(ev, f->ev, f->ev_len);
    ev[16] |= TALOS_CLAIM_NO_CFG;
    assert_int_equal(talos_sim_evidence_decode(ev, f->ev_len, &e), TALOS_ERR_MALFORMED);
    /* Version 1 (no CFG digest) is refused. */
    memcpy(ev, f->ev, f->ev_len);
    ev[5] = 1;
    assert_int_equal(verify(f, ev, f->ev_len, TALOS_VERIFY_ALLOW_SIM), TALOS_ERR_MALFORMED);
}

static void test_attest_report_data(void **state)
{
    uint8_t nonce[TALOS_NONCE_BYTES], lineage[TALOS_LINEAGE_BYTES], out[TALOS_REPORT_DATA_BYTES],
        buf[15 + 48], want[TALOS_SHA256_BYTES];

    memset(nonce, 7, sizeof(nonce));
    memset(lineage, 9, sizeof(lineage));
    memset(out, 0xff, sizeof(out));
    talos_attest_report_data(nonce, lineage, out);
    memcpy(buf, "talos-attest-v1", 15);
    memcpy(buf + 15, nonce, TALOS_NONCE_BYTES);
    memcpy(buf + 47, lineage, TALOS_LINEAGE_BYTES);
    talos_sha256(buf, sizeof(buf), want);
    assert_memory_equal(out, want, TALOS_SHA256_BYTES);
    assert_true(test_is_zero(out + TALOS_SHA256_BYTES, TALOS_REPORT_DATA_BYTES - TALOS_SHA256_BYTES));
}

/* `talos attest`'s check (cli/cmd_attest.c): genuine, verified evidence
 * counts only when its report data binds the verifier's nonce and the TA
 * it asked; evidence over another nonce (replayed) or of another TA is
 * REPORT_DATA. */
static void test_attest_check_report_data(void **state)
{
    struct fixture *f = *state;
    const uint8_t *pem = NULL;
    size_t pem_len = 0, len = TALOS_EVIDENCE_MAX;
    uint8_t nonce[32], lineage[16], rd[64], ev[TALOS_EVIDENCE_MAX];
    struct talos_claims c;

    memset(nonce, 7, sizeof(nonce));
    memset(lineage, 9, sizeof(lineage));
    talos_attest_report_data(nonce, lineage, rd);
    assert_int_equal(f->ops->quote(f->a, meas, cfg_id, cfgd, rd, ev, &len), TALOS_OK);
    anchors_of(f, f->a, &pem, &pem_len);
    assert_int_equal(talos_verify_evidence(ev, len, pem, pem_len, TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_OK);
    assert_int_equal(talos_attest_check_report_data(&c, nonce, lineage), TALOS_OK);
    /* The same evidence, shown to a verifier that drew another nonce. */
    for (size_t i = 0; i < sizeof(nonce); i++) {
        nonce[i] ^= 0x01;
        assert_int_equal(talos_attest_check_report_data(&c, nonce, lineage), TALOS_ERR_REPORT_DATA);
        nonce[i] ^= 0x01;
    }
    /* Another TA's evidence over the same nonce. */
    for (size_t i = 0; i < sizeof(lineage); i++) {
        lineage[i] ^= 0x80;
        assert_int_equal(talos_attest_check_report_data(&c, nonce, lineage), TALOS_ERR_REPORT_DATA);
        lineage[i] ^= 0x80;
    }
    /* The half the binding leaves zero is compared too. */
    c.report_data[63] ^= 0x01;
    assert_int_equal(talos_attest_check_report_data(&c, nonce, lineage), TALOS_ERR_REPORT_DATA);
    c.report_data[63] ^= 0x01;
    /* Evidence over other report data altogether (the fixture's). */
    assert_int_equal(talos_verify_evidence(f->ev, f->ev_len, pem, pem_len, TALOS_VERIFY_ALLOW_SIM, &c),
                     TALOS_OK);
    assert_int_equal(talos_attest_check_report_data(&c, nonce, lineage), TALOS_ERR_REPORT_DATA);
}

/* Fake host for enclave.c: answers QUOTE through a real platform, with the
 * measurement and report data the test chooses (a substituting host). */
struct fake_host {
    struct fixture *f;
    uint8_t measurement[TALOS_MEASUREMENT_BYTES];
    int other_report_data;
    size_t truncate;
};

static int fake_quote(void *ctx, uint16_t type, const uint8_t *req, size_t req_len, uint8_t *resp,
                      size_t resp_cap, size_t *resp_len)
{
    struct fake_host *h = ctx;
    uint8_t rd[TALOS_REPORT_DATA_BYTES];
    size_t len = resp_cap;
    int rc = 0;

    assert_int_equal(type, TALOS_HOST_REQ_QUOTE);
    assert_int_equal(req_len, 64);
    memcpy(rd, req, TALOS_REPORT_DATA_BYTES);
    rd[0] ^= (uint8_t)h->other_report_data;
    rc = h->f->ops->quote(h->f->a, h->measurement, cfg_id, cfgd, rd, resp, &len);
    *resp_len = h->truncate ? len - h->truncate : len;
    return rc;
}

static void test_enclave_catches_substitution(void **state)
{
    struct fixture *f = *state;
    struct fake_host h = {.f = f};
    struct talos_tee_env env = {.host_request = fake_quote, .ctx = &h};
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t len = sizeof(ev);

    assert_int_equal(talos_tee_enclave.init(&env), TALOS_OK);
    assert_int_equal(talos_tee_enclave.measure_self(h.measurement), TALOS_OK);
    assert_int_equal(talos_tee_enclave.evidence(rdata, ev, &len), TALOS_OK);
    assert_int_equal(verify(f, ev, len, TALOS_VERIFY_ALLOW_SIM), TALOS_OK);
    h.other_report_data = 1;
    len = sizeof(ev);
    assert_int_equal(talos_tee_enclave.evidence(rdata, ev, &len), TALOS_ERR_BACKEND);
    assert_int_equal(len, 0);
    h.other_report_data = 0;
    h.measurement[5] ^= 1;
    len = sizeof(ev);
    assert_int_equal(talos_tee_enclave.evidence(rdata, ev, &len), TALOS_ERR_BACKEND);
    h.measurement[5] ^= 1;
    h.truncate = 3;
    len = sizeof(ev);
    assert_int_equal(talos_tee_enclave.evidence(rdata, ev, &len), TALOS_ERR_BACKEND);
    h.truncate = 0;
    len = 100; /* capacity too small: the host cannot answer within it */
    assert_int_equal(talos_tee_enclave.evidence(rdata, ev, &len), TALOS_ERR_BACKEND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify_ok),
        cmocka_unit_test(test_sim_refused_without_flag),
        cmocka_unit_test(test_bitflip_every_bit),
        cmocka_unit_test(test_wrong_anchor),
        cmocka_unit_test(test_spliced_certificate),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_unknown_backend),
        cmocka_unit_test(test_sign_limits),
        cmocka_unit_test(test_no_cfg_flag),
        cmocka_unit_test(test_attest_report_data),
        cmocka_unit_test(test_attest_check_report_data),
        cmocka_unit_test(test_enclave_catches_substitution),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
