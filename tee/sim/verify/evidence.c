/* Sim evidence: encode+sign on the platform, decode+verify anywhere: the
 * sim row of the evidence formats (tee/evidence.c dispatches to it). The
 * blob is hostile input for every reader: one strict decoder below. */
#include "tee/sim/verify/evidence.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/wire.h"

static void put_claims(struct talos_wr *w, uint32_t flags,
                       const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                       const uint8_t config_id[TALOS_CONFIG_ID_BYTES],
                       const uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES],
                       const uint8_t report_data[TALOS_REPORT_DATA_BYTES],
                       const uint8_t platform_id[TALOS_PLATFORM_ID_BYTES])
{
    talos_wr_u32(w, TALOS_EV_MAGIC);
    talos_wr_u16(w, TALOS_SIM_EV_VERSION);
    talos_wr_str(w, "sim");
    talos_wr_u32(w, flags);
    talos_wr_raw(w, measurement, TALOS_MEASUREMENT_BYTES);
    talos_wr_raw(w, config_id, TALOS_CONFIG_ID_BYTES);
    talos_wr_raw(w, cfg_digest, TALOS_CFG_DIGEST_BYTES);
    talos_wr_raw(w, report_data, TALOS_REPORT_DATA_BYTES);
    talos_wr_raw(w, platform_id, TALOS_PLATFORM_ID_BYTES);
}

int talos_sim_evidence_sign(EVP_PKEY *key, const uint8_t *cert_der, size_t cert_len, uint32_t flags,
                            const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                            const uint8_t config_id[TALOS_CONFIG_ID_BYTES],
                            const uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES],
                            const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev,
                            size_t *len)
{
    static const uint8_t no_cfg[TALOS_CFG_DIGEST_BYTES];
    struct talos_wr w = {0};
    EVP_MD_CTX *md = NULL;
    uint8_t pub[TALOS_ED25519_PUB_BYTES] = {0};
    uint8_t platform_id[TALOS_SHA256_BYTES] = {0};
    uint8_t sig[TALOS_ED25519_SIG_BYTES] = {0};
    size_t pub_len = sizeof(pub), sig_len = sizeof(sig);
    int rc = TALOS_ERR_INVALID_ARG;

    talos_wr_init(&w, TALOS_EVIDENCE_MAX);
    if (!key || !cert_der || !measurement || !config_id || !report_data || !ev || !len ||
        cert_len == 0 || cert_len > TALOS_SIM_EV_CERT_MAX || flags != TALOS_CLAIM_SIMULATED ||
        EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
        goto out;
    rc = TALOS_ERR_CRYPTO;
    if (EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 || pub_len != sizeof(pub))
        goto out;
    talos_sha256(pub, sizeof(pub), platform_id);
    if (!cfg_digest) {
        flags |= TALOS_CLAIM_NO_CFG;
        cfg_digest = no_cfg;
    }
    put_claims(&w, flags, measurement, config_id, cfg_digest, report_data, platform_id);
    talos_wr_bytes(&w, cert_der, cert_len);
    if (w.err) {
        rc = w.err;
        goto out;
    }
    md = EVP_MD_CTX_new();
    if (!md) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    /* Ed25519 is one-shot and takes no digest (NULL md). */
    if (EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, w.p, w.len) != 1 || sig_len != sizeof(sig))
        goto out;
    talos_wr_bytes(&w, sig, sig_len);
    if (w.err) {
        rc = w.err;
        goto out;
    }
    rc = TALOS_ERR_TOO_LARGE;
    if (w.len > *len)
        goto out;
    memcpy(ev, w.p, w.len);
    *len = w.len;
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK)
        TLOG_WARN("sim evidence: signing failed: %s", talos_strerror(rc));
    EVP_MD_CTX_free(md);
    talos_wr_free(&w);
    ERR_clear_error();
    return rc;
}

/* SIMULATED, plus NO_CFG exactly when the digest is zero: one encoding
 * per claim set. */
static int flags_ok(const struct talos_claims *c)
{
    static const uint8_t zero[TALOS_CFG_DIGEST_BYTES];
    int no_cfg = memcmp(c->cfg_digest, zero, sizeof(zero)) == 0;

    return c->flags == (TALOS_CLAIM_SIMULATED | (no_cfg ? TALOS_CLAIM_NO_CFG : 0u));
}

int talos_sim_evidence_decode(const uint8_t *ev, size_t len, struct talos_sim_evidence *out)
{
    struct talos_rd r = {0};
    uint32_t magic = 0;
    uint16_t version = 0;
    size_t signed_len = 0, sig_len = 0;

    if (!out)
        return TALOS_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (!ev || len > TALOS_EVIDENCE_MAX)
        return TALOS_ERR_MALFORMED;
    talos_rd_init(&r, ev, len);
    magic = talos_rd_u32(&r);
    version = talos_rd_u16(&r);
    talos_rd_str(&r, out->claims.backend, sizeof(out->claims.backend));
    out->claims.flags = talos_rd_u32(&r);
    talos_rd_raw(&r, out->claims.measurement, TALOS_MEASUREMENT_BYTES);
    talos_rd_raw(&r, out->claims.config_id, sizeof(out->claims.config_id));
    talos_rd_raw(&r, out->claims.cfg_digest, sizeof(out->claims.cfg_digest));
    talos_rd_raw(&r, out->claims.report_data, TALOS_REPORT_DATA_BYTES);
    talos_rd_raw(&r, out->claims.platform_id, sizeof(out->claims.platform_id));
    out->cert_der = talos_rd_bytes(&r, &out->cert_len, TALOS_SIM_EV_CERT_MAX);
    signed_len = r.off;
    out->sig = talos_rd_bytes(&r, &sig_len, TALOS_ED25519_SIG_BYTES);
    out->signed_len = signed_len;
    if (talos_rd_finish(&r) != TALOS_OK || magic != TALOS_EV_MAGIC ||
        version != TALOS_SIM_EV_VERSION || strcmp(out->claims.backend, "sim") != 0 ||
        !flags_ok(&out->claims) || out->cert_len == 0 ||
        sig_len != TALOS_ED25519_SIG_BYTES) {
        memset(out, 0, sizeof(*out));
        return TALOS_ERR_MALFORMED;
    }
    return TALOS_OK;
}

/* Anchors are certificates only; never prompt for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) { return 0; }

/* Chain checks that succeeded, by (anchors, certificate) bytes, for a
 * minute: a migration verifies the same platform certificates against the
 * same anchors again and again, and a full X.509 check (PEM parse, store,
 * path validation) cost ~0.3 ms of its critical path each time. Only the
 * chain is cached; the signature over the claims is checked every time. */
#define CHAIN_CACHE 8
#define CHAIN_TTL_S 60

static struct {
    uint8_t key[TALOS_SHA256_BYTES];
    time_t at;
} chain_cache[CHAIN_CACHE];
static size_t chain_next;
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;

static void chain_key(const uint8_t *pem, size_t pem_len, const uint8_t *der, size_t der_len,
                      uint8_t key[TALOS_SHA256_BYTES])
{
    uint8_t h[2 * TALOS_SHA256_BYTES];
    talos_sha256(pem, pem_len, h);
    talos_sha256(der, der_len, h + TALOS_SHA256_BYTES);
    talos_sha256(h, sizeof(h), key);
}

static int chain_cached(const uint8_t key[TALOS_SHA256_BYTES])
{
    time_t now = time(NULL);
    int hit = 0;
    pthread_mutex_lock(&chain_lock);
    for (size_t i = 0; i < CHAIN_CACHE && !hit; i++)
        hit = chain_cache[i].at && now - chain_cache[i].at < CHAIN_TTL_S && now >= chain_cache[i].at &&
              talos_ct_eq(chain_cache[i].key, key, TALOS_SHA256_BYTES);
    pthread_mutex_unlock(&chain_lock);
    return hit;
}

static void chain_remember(const uint8_t key[TALOS_SHA256_BYTES])
{
    pthread_mutex_lock(&chain_lock);
    memcpy(chain_cache[chain_next % CHAIN_CACHE].key, key, TALOS_SHA256_BYTES);
    chain_cache[chain_next % CHAIN_CACHE].at = time(NULL);
    chain_next++;
    pthread_mutex_unlock(&chain_lock);
}

/* The anchors as an X509_STORE, parsed once per anchors (by hash) and
 * shared: parsing the PEM and building a store cost about half of a chain
 * check, on a migration's critical path, twice per side. A store is only
 * read by X509_verify_cert, which OpenSSL allows from several threads. */
static struct {
    uint8_t key[TALOS_SHA256_BYTES];
    X509_STORE *store;
} anchor_store;

static int build_store(const uint8_t *pem, size_t pem_len, X509_STORE **out)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    X509_STORE *store = X509_STORE_new();
    X509 *anchor = NULL;
    size_t n_anchors = 0;
    int rc = TALOS_ERR_NOMEM;

    if (!bio || !store)
        goto out;
    while ((anchor = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        int added = X509_STORE_add_cert(store, anchor);
        X509_free(anchor);
        if (added != 1) {
            rc = TALOS_ERR_CRYPTO;
            goto out;
        }
        n_anchors++;
    }
    rc = TALOS_ERR_EVIDENCE_CHAIN;
    if (n_anchors == 0) {
        TLOG_WARN("sim evidence: the trust anchors hold no PEM certificate");
        goto out;
    }
    *out = store;
    store = NULL;
    rc = TALOS_OK;
out:
    X509_STORE_free(store);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

/* A reference to the store of these anchors (the caller frees it). */
static int anchors_store(const uint8_t *pem, size_t pem_len, X509_STORE **out)
{
    uint8_t key[TALOS_SHA256_BYTES];
    X509_STORE *store = NULL;
    int rc = TALOS_OK;

    *out = NULL;
    if (!pem || pem_len == 0 || pem_len > INT_MAX)
        return TALOS_ERR_EVIDENCE_CHAIN;
    talos_sha256(pem, pem_len, key);
    pthread_mutex_lock(&chain_lock);
    if (anchor_store.store && talos_ct_eq(anchor_store.key, key, sizeof(key)) &&
        X509_STORE_up_ref(anchor_store.store))
        *out = anchor_store.store;
    pthread_mutex_unlock(&chain_lock);
    if (*out)
        return TALOS_OK;
    if ((rc = build_store(pem, pem_len, &store)) != TALOS_OK)
        return rc;
    pthread_mutex_lock(&chain_lock);
    if (X509_STORE_up_ref(store)) {
        X509_STORE_free(anchor_store.store);
        anchor_store.store = store;
        memcpy(anchor_store.key, key, sizeof(key));
    }
    pthread_mutex_unlock(&chain_lock);
    *out = store;
    return TALOS_OK;
}

/* TALOS_OK when cert chains to one of the PEM anchors. */
static int check_chain(X509 *cert, const uint8_t *pem, size_t pem_len)
{
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    int rc = anchors_store(pem, pem_len, &store);

    if (rc != TALOS_OK)
        return rc;
    rc = TALOS_ERR_NOMEM;
    if (!(ctx = X509_STORE_CTX_new()))
        goto out;
    rc = TALOS_ERR_CRYPTO;
    if (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
        goto out;
    rc = TALOS_ERR_EVIDENCE_CHAIN;
    if (X509_verify_cert(ctx) == 1)
        rc = TALOS_OK;
    else
        TLOG_DEBUG("sim evidence: platform certificate: %s",
                   X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

static void sim_warm(const uint8_t *anchors_pem, size_t anchors_len)
{
    X509_STORE *store = NULL;
    if (anchors_store(anchors_pem, anchors_len, &store) == TALOS_OK)
        X509_STORE_free(store);
}

int talos_sim_evidence_verify(const uint8_t *ev, size_t len, const uint8_t *anchors_pem,
                              size_t anchors_len, unsigned flags, struct talos_claims *out)
{
    struct talos_sim_evidence e = {0};
    X509 *cert = NULL;
    EVP_PKEY *pub = NULL; /* borrowed from cert */
    EVP_MD_CTX *md = NULL;
    const unsigned char *p = NULL;
    uint8_t raw[TALOS_ED25519_PUB_BYTES] = {0};
    uint8_t id[TALOS_SHA256_BYTES] = {0};
    size_t raw_len = sizeof(raw);
    int rc = TALOS_ERR_INVALID_ARG;

    if (!out)
        return TALOS_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = talos_sim_evidence_decode(ev, len, &e);
    if (rc != TALOS_OK)
        goto out;
    p = e.cert_der;
    cert = d2i_X509(NULL, &p, (long)e.cert_len);
    if (!cert || p != e.cert_der + e.cert_len) {
        rc = TALOS_ERR_MALFORMED;
        goto out;
    }
    uint8_t ckey[TALOS_SHA256_BYTES];
    if (anchors_pem && anchors_len)
        chain_key(anchors_pem, anchors_len, e.cert_der, e.cert_len, ckey);
    if (!(anchors_pem && anchors_len && chain_cached(ckey))) {
        rc = check_chain(cert, anchors_pem, anchors_len);
        if (rc != TALOS_OK)
            goto out;
        chain_remember(ckey);
    }
    /* The certified key must be the one the claims name, and must sign. */
    rc = TALOS_ERR_EVIDENCE_SIG;
    pub = X509_get0_pubkey(cert);
    if (!pub || EVP_PKEY_get_id(pub) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(pub, raw, &raw_len) != 1 || raw_len != sizeof(raw))
        goto out;
    talos_sha256(raw, sizeof(raw), id);
    if (!talos_ct_eq(id, e.claims.platform_id, sizeof(id)))
        goto out;
    md = EVP_MD_CTX_new();
    if (!md) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) != 1) {
        rc = TALOS_ERR_CRYPTO;
        goto out;
    }
    if (EVP_DigestVerify(md, e.sig, TALOS_ED25519_SIG_BYTES, ev, e.signed_len) != 1)
        goto out;
    /* Only now, with a genuine signature, may the answer be "simulated". */
    rc = TALOS_ERR_EVIDENCE_SIM;
    if ((e.claims.flags & TALOS_CLAIM_SIMULATED) && !(flags & TALOS_VERIFY_ALLOW_SIM))
        goto out;
    *out = e.claims;
    rc = TALOS_OK;
out:
    EVP_MD_CTX_free(md);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

/* The format's claims without the signature's check (talos_evidence_claims). */
static int sim_decode(const uint8_t *ev, size_t len, struct talos_claims *out)
{
    struct talos_sim_evidence e = {0};
    int rc = talos_sim_evidence_decode(ev, len, &e);

    if (rc == TALOS_OK)
        *out = e.claims;
    return rc;
}

const struct talos_tee_verifier talos_tee_sim_format = {
    .name = "sim",
    .claims = TALOS_CLAIM_SIMULATED,
    .verify = talos_sim_evidence_verify,
    .decode = sim_decode,
    .warm = sim_warm,
};
