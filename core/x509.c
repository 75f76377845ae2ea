/* X.509 certificates and Ed25519 keys (contract in x509.h). */
#include "core/x509.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"

#define DAYS_MAX 36500
/* notBefore this far back tolerates clock skew between nodes. */
#define SKEW_SECONDS 3600

int talos_x509_key_new(EVP_PKEY **out)
{
    if (!out)
        return TALOS_ERR_INVALID_ARG;
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return *out ? TALOS_OK : TALOS_ERR_CRYPTO;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1) == 1;

    X509_EXTENSION_free(ext);
    return ok;
}

static int req_ok(const struct talos_x509_req *r)
{
    int ca = r->kind == TALOS_X509_CA;

    if (!r->cn || !*r->cn || !r->key || r->days < 1 || r->days > DAYS_MAX)
        return 0;
    if (r->kind != TALOS_X509_CA && r->kind != TALOS_X509_LEAF)
        return 0;
    if ((r->flags & ~TALOS_X509_EKU_TLS) || (ca && r->flags))
        return 0;
    /* Self-signed: a CA only, signed by its own key. Issued: both halves. */
    return r->issuer ? r->issuer_key != NULL : ca && !r->issuer_key;
}

static int set_serial(X509 *x)
{
    uint8_t serial[16] = {0};
    BIGNUM *bn = NULL;
    int ok = 0;

    if (talos_random_bytes(serial, sizeof(serial)) != TALOS_OK)
        return 0;
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int add_extensions(X509 *x, const struct talos_x509_req *r)
{
    X509V3_CTX v3 = {0};
    int ca = r->kind == TALOS_X509_CA;

    X509V3_set_ctx(&v3, r->issuer ? r->issuer : x, x, NULL, NULL, 0);
    return add_ext(x, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
           add_ext(x, &v3, NID_key_usage,
                   ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
           add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
           (!r->issuer || add_ext(x, &v3, NID_authority_key_identifier, "keyid:always")) &&
           (!(r->flags & TALOS_X509_EKU_TLS) ||
            add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth"));
}

/* Ed25519 and Ed448 sign the message itself: no digest may be named. */
static const EVP_MD *digest_for(EVP_PKEY *signer)
{
    int id = EVP_PKEY_get_id(signer);
    return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();
}

int talos_x509_issue(const struct talos_x509_req *req, X509 **out)
{
    X509 *x = NULL;
    X509_NAME *name = NULL;
    EVP_PKEY *signer = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (out)
        *out = NULL;
    if (!req || !out || !req_ok(req))
        goto out;
    rc = TALOS_ERR_CRYPTO;
    signer = req->issuer ? req->issuer_key : req->key;
    x = X509_new();
    name = X509_NAME_new();
    if (!x || !name || !set_serial(x) || X509_set_version(x, X509_VERSION_3) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -SKEW_SECONDS) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), req->days, 0, NULL) ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)req->cn, -1,
                                   -1, 0) != 1 ||
        X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, req->issuer ? X509_get_subject_name(req->issuer) : name) != 1 ||
        X509_set_pubkey(x, req->key) != 1 || !add_extensions(x, req) ||
        X509_sign(x, signer, digest_for(signer)) <= 0)
        goto out;
    *out = x;
    x = NULL;
    rc = TALOS_OK;
out:
    X509_NAME_free(name);
    X509_free(x);
    return rc;
}

/* The bytes of a memory BIO, copied into a malloc'd buffer. The BIO's own
 * copy is wiped too: for a key, both hold the secret. */
static int bio_take(BIO *bio, uint8_t **pem, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    int rc = TALOS_ERR_CRYPTO;

    if (n <= 0 || !data)
        goto out;
    rc = TALOS_ERR_NOMEM;
    if (!(*pem = malloc((size_t)n)))
        goto out;
    memcpy(*pem, data, (size_t)n);
    *len = (size_t)n;
    rc = TALOS_OK;
out:
    if (n > 0 && data)
        talos_wipe(data, (size_t)n);
    return rc;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u) { return 0; }

int talos_x509_key_to_pem(EVP_PKEY *key, uint8_t **pem, size_t *len)
{
    BIO *bio = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (pem)
        *pem = NULL;
    if (len)
        *len = 0;
    if (!key || !pem || !len)
        return rc;
    rc = TALOS_ERR_CRYPTO;
    /* A secure-memory BIO: OpenSSL clears its buffer when it is freed. */
    bio = BIO_new(BIO_s_secmem());
    if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
        rc = bio_take(bio, pem, len);
    BIO_free(bio);
    return rc;
}

int talos_x509_cert_to_pem(X509 *cert, uint8_t **pem, size_t *len)
{
    BIO *bio = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (pem)
        *pem = NULL;
    if (len)
        *len = 0;
    if (!cert || !pem || !len)
        return rc;
    rc = TALOS_ERR_CRYPTO;
    bio = BIO_new(BIO_s_mem());
    if (bio && PEM_write_bio_X509(bio, cert) == 1)
        rc = bio_take(bio, pem, len);
    BIO_free(bio);
    return rc;
}

/* A read-only BIO over the caller's bytes, after the argument checks. */
static int pem_bio(const uint8_t *pem, size_t len, BIO **bio)
{
    if (!pem)
        return TALOS_ERR_INVALID_ARG;
    if (len > TALOS_X509_PEM_MAX)
        return TALOS_ERR_TOO_LARGE;
    *bio = BIO_new_mem_buf(pem, (int)len);
    return *bio ? TALOS_OK : TALOS_ERR_NOMEM;
}

int talos_x509_key_from_pem(const uint8_t *pem, size_t len, EVP_PKEY **out)
{
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!out)
        return rc;
    *out = NULL;
    if ((rc = pem_bio(pem, len, &bio)) != TALOS_OK)
        return rc;
    rc = TALOS_ERR_MALFORMED;
    key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) {
        *out = key;
        key = NULL;
        rc = TALOS_OK;
    }
    EVP_PKEY_free(key);
    BIO_free(bio);
    return rc;
}

int talos_x509_cert_from_pem(const uint8_t *pem, size_t len, X509 **out)
{
    BIO *bio = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!out)
        return rc;
    *out = NULL;
    if ((rc = pem_bio(pem, len, &bio)) != TALOS_OK)
        return rc;
    *out = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return *out ? TALOS_OK : TALOS_ERR_MALFORMED;
}

void talos_x509_pem_free(uint8_t *pem, size_t len)
{
    if (!pem)
        return;
    talos_wipe(pem, len);
    free(pem);
}
