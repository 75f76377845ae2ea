/* What the client library's unit tests share: a sim platform with its own
 * CA, and a TA session certificate (core/ratls.h) over a fresh Ed25519 key
 * whose sim evidence binds that key as the TA runtime does (role 'C',
 * docs/sessions.md §2). */
#ifndef TALOS_TESTS_CLIENT_FIXTURE_H
#define TALOS_TESTS_CLIENT_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/migcheck.h"
#include "core/ratls.h"
#include "core/sess.h"
#include "tee/tee.h"
#include "tests/tmpdir.h"

static const uint8_t cf_meas[TALOS_MEASUREMENT_BYTES] = {0x11, 0x12, 0x13},
                     cf_cfg_id[TALOS_CONFIG_ID_BYTES] = {0x22},
                     cf_cfgd[TALOS_CFG_DIGEST_BYTES] = {0x44};

struct client_fixture {
    char base[64], ca[96], st[96];
    const struct talos_tee_host_ops *ops;
    struct talos_platform *plat;
    const uint8_t *pem;
    size_t pem_len;
};

static inline void cf_open(struct client_fixture *f, const char *tag)
{
    struct talos_backend_option ca_opt = {"ca", f->ca};
    struct talos_platform_config cfg = {.state_dir = f->st, .options = &ca_opt, .n_options = 1};

    assert_non_null(test_tmpdir_make(f->base, sizeof(f->base), tag));
    snprintf(f->ca, sizeof(f->ca), "%s/ca", f->base);
    snprintf(f->st, sizeof(f->st), "%s/st", f->base);
    assert_int_equal(mkdir(f->st, 0700), 0);
    assert_non_null(f->ops = talos_tee_host_find("sim"));
    assert_int_equal(f->ops->open(&cfg, &f->plat), TALOS_OK);
    assert_int_equal(f->ops->anchors(f->plat, &f->pem, &f->pem_len), TALOS_OK);
}

static inline void cf_close(struct client_fixture *f)
{
    f->ops->close(f->plat);
    test_tmpdir_remove(f->base);
}

/* A session certificate for key whose evidence binds bound_key (the same
 * key for an honest TA), with measurement meas. */
static inline X509 *cf_cert(struct client_fixture *f, EVP_PKEY *key, EVP_PKEY *bound_key,
                            const uint8_t *meas)
{
    uint8_t pub[TALOS_ED25519_PUB_BYTES], rd[TALOS_REPORT_DATA_BYTES], ev[TALOS_EVIDENCE_MAX];
    size_t pub_len = sizeof(pub), ev_len = sizeof(ev);
    struct talos_mig_binding b = {.role = TALOS_SESS_ROLE, .pub = pub, .config = cf_cfg_id};

    assert_int_equal(EVP_PKEY_get_raw_public_key(bound_key, pub, &pub_len), 1);
    talos_mig_binding_report_data(&b, rd);
    assert_int_equal(f->ops->quote(f->plat, meas, cf_cfg_id, cf_cfgd, rd, ev, &ev_len), TALOS_OK);
    X509 *x = talos_ratls_cert(key, ev, ev_len);
    assert_non_null(x);
    return x;
}

static inline EVP_PKEY *cf_key(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    return k;
}

#endif
