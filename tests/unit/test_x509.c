/* core/x509: keys, CA and leaf certificates, PEM in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/x509.h"

struct fixture {
    EVP_PKEY *ca_key, *leaf_key;
    X509 *ca;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct talos_x509_req r = {.cn = "test CA", .days = 30, .kind = TALOS_X509_CA};

    assert_non_null(f);
    assert_int_equal(talos_x509_key_new(&f->ca_key), TALOS_OK);
    assert_int_equal(talos_x509_key_new(&f->leaf_key), TALOS_OK);
    r.key = f->ca_key;
    assert_int_equal(talos_x509_issue(&r, &f->ca), TALOS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    X509_free(f->ca);
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->leaf_key);
    free(f);
    return 0;
}

static void assert_cn(X509 *x, const char *cn)
{
    char buf[128] = "";
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
                                          sizeof(buf)) > 0);
    assert_string_equal(buf, cn);
}

static void test_ca(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(EVP_PKEY_get_id(f->ca_key), EVP_PKEY_ED25519);
    assert_cn(f->ca, "test CA");
    assert_int_equal(X509_get_version(f->ca), X509_VERSION_3);
    assert_int_equal(X509_check_ca(f->ca), 1);
    assert_true(X509_get_key_usage(f->ca) & KU_KEY_CERT_SIGN);
    assert_int_equal(X509_check_issued(f->ca, f->ca), X509_V_OK); /* self-signed */
    assert_int_equal(X509_verify(f->ca, f->ca_key), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(f->ca), f->ca_key), 1);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(f->ca)) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(f->ca)) > 0);
}

static void test_leaves(void **state)
{
    struct fixture *f = *state;
    struct talos_x509_req r = {.cn = "node 1", .key = f->leaf_key, .issuer = f->ca,
                               .issuer_key = f->ca_key, .days = 1, .kind = TALOS_X509_LEAF};
    X509 *plain = NULL, *tls = NULL;

    assert_int_equal(talos_x509_issue(&r, &plain), TALOS_OK);
    r.flags = TALOS_X509_EKU_TLS;
    assert_int_equal(talos_x509_issue(&r, &tls), TALOS_OK);
    assert_cn(tls, "node 1");
    assert_int_equal(X509_check_ca(plain), 0);
    assert_int_equal(X509_check_issued(f->ca, plain), X509_V_OK);
    assert_int_equal(X509_verify(plain, f->ca_key), 1);
    assert_int_equal(X509_verify(tls, f->ca_key), 1);
    assert_int_not_equal(X509_verify(tls, f->leaf_key), 1);
    assert_true(X509_get_key_usage(plain) & KU_DIGITAL_SIGNATURE);
    assert_false(X509_get_extension_flags(plain) & EXFLAG_XKUSAGE);
    assert_true(X509_get_extension_flags(tls) & EXFLAG_XKUSAGE);
    assert_int_equal(X509_get_extended_key_usage(tls) & (XKU_SSL_SERVER | XKU_SSL_CLIENT),
                     XKU_SSL_SERVER | XKU_SSL_CLIENT);
    /* Serials are random: two issues differ. */
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(plain),
                                          X509_get0_serialNumber(tls)), 0);
    X509_free(plain);
    X509_free(tls);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    const struct talos_x509_req good = {.cn = "x", .key = f->leaf_key, .issuer = f->ca,
                                        .issuer_key = f->ca_key, .days = 1,
                                        .kind = TALOS_X509_LEAF};
    struct talos_x509_req r;
    X509 *x = (X509 *)1;

    r = good, r.issuer = NULL, r.issuer_key = NULL; /* self-signed leaf */
    assert_int_equal(talos_x509_issue(&r, &x), TALOS_ERR_INVALID_ARG);
    assert_null(x);
    r = good, r.issuer_key = NULL;
    assert_int_equal(talos_x509_issue(&r, &x), TALOS_ERR_INVALID_ARG);
    r = good, r.kind = TALOS_X509_CA, r.flags = TALOS_X509_EKU_TLS; /* EKU on a CA */
    assert_int_equal(talos_x509_issue(&r, &x), TALOS_ERR_INVALID_ARG);
    r = good, r.flags = 0x80;
    assert_int_equal(talos_x509_issue(&r, &x), TALOS_ERR_INVALID_ARG);
    r = good, r.days = 0;
    assert_int_equal(talos_x509_issue(&r, &x), TALOS_ERR_INVALID_ARG);
    r = good, r.cn = "";
    assert_int_equal(talos_x509_issue(&r, &x), TALOS_ERR_INVALID_ARG);
    r = good, r.kind = (enum talos_x509_kind)7;
    assert_int_equal(talos_x509_issue(&r, &x), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_x509_issue(NULL, &x), TALOS_ERR_INVALID_ARG);
}

static void test_pem_round_trip(void **state)
{
    struct fixture *f = *state;
    uint8_t *kp = NULL, *cp = NULL;
    size_t kl = 0, cl = 0;
    EVP_PKEY *k = NULL;
    X509 *c = NULL;

    assert_int_equal(talos_x509_key_to_pem(f->leaf_key, &kp, &kl), TALOS_OK);
    assert_true(kl > 40 && memcmp(kp, "-----BEGIN PRIVATE KEY-----", 27) == 0);
    assert_int_equal(talos_x509_key_from_pem(kp, kl, &k), TALOS_OK);
    assert_int_equal(EVP_PKEY_eq(k, f->leaf_key), 1);
    assert_int_equal(talos_x509_cert_to_pem(f->ca, &cp, &cl), TALOS_OK);
    assert_true(memcmp(cp, "-----BEGIN CERTIFICATE-----", 27) == 0);
    assert_int_equal(talos_x509_cert_from_pem(cp, cl, &c), TALOS_OK);
    assert_int_equal(X509_cmp(c, f->ca), 0);
    /* Each decoder refuses the other's input. */
    EVP_PKEY_free(k);
    X509_free(c);
    assert_int_equal(talos_x509_key_from_pem(cp, cl, &k), TALOS_ERR_MALFORMED);
    assert_null(k);
    assert_int_equal(talos_x509_cert_from_pem(kp, kl, &c), TALOS_ERR_MALFORMED);
    assert_null(c);
    talos_x509_pem_free(kp, kl);
    talos_x509_pem_free(cp, cl);
    talos_x509_pem_free(NULL, 0);
}

static void test_pem_refusals(void **state)
{
    static const uint8_t junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *k = NULL;
    uint8_t *big = calloc(1, TALOS_X509_PEM_MAX + 1);
    uint8_t *ep = NULL;
    size_t el = 0;
    X509 *c = NULL;

    (void)state;
    assert_non_null(ec);
    assert_non_null(big);
    assert_int_equal(talos_x509_key_from_pem(junk, sizeof(junk) - 1, &k), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_x509_key_from_pem(junk, 0, &k), TALOS_ERR_MALFORMED);
    /* A well-formed key of another type: TALOS keys are Ed25519. */
    assert_int_equal(talos_x509_key_to_pem(ec, &ep, &el), TALOS_OK);
    assert_int_equal(talos_x509_key_from_pem(ep, el, &k), TALOS_ERR_MALFORMED);
    assert_null(k);
    assert_int_equal(talos_x509_key_from_pem(big, TALOS_X509_PEM_MAX + 1, &k), TALOS_ERR_TOO_LARGE);
    assert_int_equal(talos_x509_cert_from_pem(big, TALOS_X509_PEM_MAX + 1, &c), TALOS_ERR_TOO_LARGE);
    assert_int_equal(talos_x509_cert_from_pem(junk, sizeof(junk) - 1, &c), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_x509_key_from_pem(NULL, 0, &k), TALOS_ERR_INVALID_ARG);
    talos_x509_pem_free(ep, el);
    EVP_PKEY_free(ec);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca),
        cmocka_unit_test(test_leaves),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_pem_round_trip),
        cmocka_unit_test(test_pem_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
