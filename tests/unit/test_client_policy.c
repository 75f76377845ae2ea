/* The client library's policy (client/policy*.c) and its verdict on a TA's
 * session certificate (client/verify.c), with real sim evidence: every
 * refusal with its exact code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/policy.h"
#include "client/verify.h"
#include "tests/bytes.h"
#include "tests/unit/client_fixture.h"

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static int setup(void **state)
{
    struct client_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    cf_open(f, "clpol");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    cf_close(*state);
    free(*state);
    return 0;
}

#define HEX_A "1112130000000000000000000000000000000000000000000000000000000000"
#define HEX_B "ff00000000000000000000000000000000000000000000000000000000000000"

static int load(struct client_fixture *f, const char *text, struct talos_policy **p, char *why)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/policy.json", f->base);
    write_file(path, text);
    return talos_policy_load(path, p, why, 256);
}

static void test_load_good(void **state)
{
    struct client_fixture *f = *state;
    struct talos_policy *p = NULL;
    char why[256] = "", pem_path[128];

    snprintf(pem_path, sizeof(pem_path), "%s/anchors.pem", f->base);
    FILE *fp = fopen(pem_path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(f->pem, 1, f->pem_len, fp), f->pem_len);
    fclose(fp);
    assert_int_equal(load(f, "{\"measurements\": [\"" HEX_A "\", \"" HEX_B "\"],"
                             " \"cfg_digests\": [], \"allow_sim\": true, \"allow_debug\": false,"
                             " \"anchors\": \"anchors.pem\"}", &p, why), TALOS_OK);
    assert_string_equal(why, "");
    assert_int_equal(p->n_meas, 2);
    assert_int_equal(p->meas[0][0], 0x11);
    assert_int_equal(p->n_cfg, 0);
    assert_int_equal(p->flags, TALOS_VERIFY_ALLOW_SIM);
    /* The relative anchors path is the policy file's folder's. */
    assert_int_equal(p->anchors_len, f->pem_len);
    assert_memory_equal(p->anchors, f->pem, f->pem_len);
    talos_policy_free(p);
}

static void test_load_refusals(void **state)
{
    struct client_fixture *f = *state;
    struct talos_policy *p = NULL;
    char why[256];
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{}", "\"measurements\" is missing"},
        {"{\"measurements\": []}", "non-empty"},
        {"{\"measurements\": [\"xyz\"]}", "\"measurements\"[0] is not 64 hex digits"},
        {"{\"measurements\": [\"" HEX_A "0\"]}", "not 64 hex digits"},
        {"{\"measurements\": [\"" HEX_A "\"], \"cfg_digests\": [\"zz\"]}", "\"cfg_digests\"[0]"},
        {"{\"measurements\": [\"" HEX_A "\"], \"allow_sim\": 1}", "\"allow_sim\" must be"},
        /* A misspelt constraint is refused, not ignored. */
        {"{\"measurements\": [\"" HEX_A "\"], \"cfg_digest\": [\"" HEX_B "\"]}",
         "unknown field \"cfg_digest\""},
        {"[1]", "not a JSON object"},
        {"{\"measurements\": [\"" HEX_A "\"], \"anchors\": \"nosuch.pem\"}", "cannot read"},
        {"{\"measurements\": [\"" HEX_A "\"], \"measurements\": [\"" HEX_A "\"]}", "not a JSON object"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        int rc = load(f, bad[i].text, &p, why);
        if (strstr(bad[i].text, "nosuch"))
            assert_int_equal(rc, TALOS_ERR_IO);
        else
            assert_int_equal(rc, TALOS_ERR_MALFORMED);
        assert_null(p);
        if (!strstr(why, bad[i].why))
            fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, why, bad[i].why);
    }
    assert_int_equal(talos_policy_load("/nonexistent/policy.json", &p, why, sizeof(why)), TALOS_ERR_IO);
    assert_null(p);
}

static void test_api(void **state)
{
    struct talos_policy *p = NULL, *c = NULL;
    uint8_t m[TALOS_MEASUREMENT_BYTES] = {1};
    (void)state;

    assert_int_equal(talos_policy_new(&p), TALOS_OK);
    assert_int_equal(talos_policy_allow_measurement(p, m), TALOS_OK);
    assert_int_equal(talos_policy_allow_measurement(p, m), TALOS_OK); /* once */
    assert_int_equal(p->n_meas, 1);
    assert_int_equal(talos_policy_set_anchors(p, (const uint8_t *)"x", 0), TALOS_ERR_INVALID_ARG);
    talos_policy_set_flags(p, 0xff);
    assert_int_equal(p->flags, TALOS_VERIFY_ALLOW_SIM | TALOS_VERIFY_ALLOW_DEBUG);
    assert_int_equal(talos_policy_dup(p, &c), TALOS_OK);
    assert_int_equal(c->n_meas, 1);
    assert_memory_equal(c->meas[0], m, sizeof(m));
    talos_policy_free(c);
    talos_policy_free(p);
    talos_policy_free(NULL);
}

/* A policy allowing cf_meas, the fixture's anchors and (allow_sim) sim. */
static struct talos_policy *policy(struct client_fixture *f, int allow_sim)
{
    struct talos_policy *p = NULL;
    assert_int_equal(talos_policy_new(&p), TALOS_OK);
    assert_int_equal(talos_policy_allow_measurement(p, cf_meas), TALOS_OK);
    assert_int_equal(talos_policy_set_anchors(p, f->pem, f->pem_len), TALOS_OK);
    talos_policy_set_flags(p, allow_sim ? TALOS_VERIFY_ALLOW_SIM : 0);
    return p;
}

static void test_verify(void **state)
{
    struct client_fixture *f = *state;
    EVP_PKEY *k = cf_key(), *other = cf_key();
    static const uint8_t meas2[TALOS_MEASUREMENT_BYTES] = {0x99};
    X509 *good = cf_cert(f, k, k, cf_meas), *unbound = cf_cert(f, k, other, cf_meas),
         *wrong_meas = cf_cert(f, k, k, meas2);
    struct talos_policy *p = policy(f, 1), *nosim = policy(f, 0);
    struct talos_claims c;
    char why[256] = "";
    uint8_t d[TALOS_CFG_DIGEST_BYTES] = {0x45};

    assert_int_equal(talos_client_verify_cert(p, good, &c, why, sizeof(why)), TALOS_OK);
    assert_memory_equal(c.measurement, cf_meas, sizeof(cf_meas));
    assert_string_equal(c.backend, "sim");
    assert_true(c.flags & TALOS_CLAIM_SIMULATED);

    assert_int_equal(talos_client_verify_cert(p, wrong_meas, &c, why, sizeof(why)),
                     TALOS_ERR_MEASUREMENT);
    assert_non_null(strstr(why, "measurement 99"));
    assert_true(test_is_zero(&c, sizeof(c)));
    assert_int_equal(talos_client_verify_cert(p, unbound, &c, why, sizeof(why)),
                     TALOS_ERR_REPORT_DATA);
    assert_int_equal(talos_client_verify_cert(nosim, good, &c, why, sizeof(why)),
                     TALOS_ERR_EVIDENCE_SIM);

    /* CFG digests: once named, the evidence's must be one of them. */
    assert_int_equal(talos_policy_allow_cfg_digest(p, d), TALOS_OK);
    assert_int_equal(talos_client_verify_cert(p, good, &c, why, sizeof(why)), TALOS_ERR_CFG_DIGEST);
    assert_int_equal(talos_policy_allow_cfg_digest(p, cf_cfgd), TALOS_OK);
    assert_int_equal(talos_client_verify_cert(p, good, &c, why, sizeof(why)), TALOS_OK);

    /* Evidence that chains to no anchor of the client's. */
    struct client_fixture g = {0};
    cf_open(&g, "clpol2");
    X509 *foreign = cf_cert(&g, k, k, cf_meas);
    assert_int_equal(talos_client_verify_cert(p, foreign, &c, why, sizeof(why)),
                     TALOS_ERR_EVIDENCE_CHAIN);
    X509_free(foreign);
    cf_close(&g);

    X509_free(good);
    X509_free(unbound);
    X509_free(wrong_meas);
    talos_policy_free(p);
    talos_policy_free(nosim);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api),
        cmocka_unit_test_setup_teardown(test_load_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
