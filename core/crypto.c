#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "talos/err.h"

struct talos_sha256_ctx {
    EVP_MD_CTX *md;
    EVP_MD *alg; /* fetched once per context: OpenSSL 3 lookups are not free */
};

void talos_sha256(const void *p, size_t n, uint8_t out[TALOS_SHA256_BYTES])
{
    unsigned int len = 0;
    /* EVP_Digest with SHA-256 cannot fail short of memory exhaustion; treat
     * that as fatal rather than returning an unhashed buffer. */
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != TALOS_SHA256_BYTES)
        abort();
}

int talos_sha256_begin(struct talos_sha256_ctx **ctx)
{
    struct talos_sha256_ctx *c = malloc(sizeof(*c));
    if (!c)
        return TALOS_ERR_NOMEM;
    c->md = EVP_MD_CTX_new();
    c->alg = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!c->md || !c->alg || EVP_DigestInit_ex2(c->md, c->alg, NULL) != 1) {
        EVP_MD_CTX_free(c->md);
        EVP_MD_free(c->alg);
        free(c);
        return TALOS_ERR_CRYPTO;
    }
    *ctx = c;
    return TALOS_OK;
}

void talos_sha256_add(struct talos_sha256_ctx *ctx, const void *p, size_t n)
{
    if (EVP_DigestUpdate(ctx->md, p, n) != 1)
        abort();
}

int talos_sha256_end(struct talos_sha256_ctx *ctx, uint8_t out[TALOS_SHA256_BYTES])
{
    unsigned int len = 0;
    int rc = EVP_DigestFinal_ex(ctx->md, out, &len) == 1 ? TALOS_OK : TALOS_ERR_CRYPTO;
    talos_sha256_free(ctx);
    return rc;
}

void talos_sha256_restart(struct talos_sha256_ctx *ctx)
{
    if (EVP_DigestInit_ex2(ctx->md, NULL, NULL) != 1)
        abort();
}

void talos_sha256_finish(struct talos_sha256_ctx *ctx, uint8_t out[TALOS_SHA256_BYTES])
{
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx->md, out, &len) != 1 || len != TALOS_SHA256_BYTES)
        abort();
}

void talos_sha256_free(struct talos_sha256_ctx *ctx)
{
    if (!ctx)
        return;
    EVP_MD_CTX_free(ctx->md);
    EVP_MD_free(ctx->alg);
    free(ctx);
}

int talos_hkdf(const uint8_t *ikm, size_t ikm_len, const void *salt, size_t salt_len,
               const void *info, size_t info_len, uint8_t *out, size_t out_len)
{
    int rc = TALOS_ERR_CRYPTO;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t len = out_len;

    if (!pc)
        return TALOS_ERR_NOMEM;
    if (EVP_PKEY_derive_init(pc) != 1 ||
        EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set1_hkdf_key(pc, ikm, (int)ikm_len) != 1 ||
        (salt_len && EVP_PKEY_CTX_set1_hkdf_salt(pc, salt, (int)salt_len) != 1) ||
        EVP_PKEY_CTX_add1_hkdf_info(pc, info, (int)info_len) != 1 ||
        EVP_PKEY_derive(pc, out, &len) != 1 || len != out_len)
        goto out;
    rc = TALOS_OK;
out:
    EVP_PKEY_CTX_free(pc);
    return rc;
}

int talos_random_bytes(void *buf, size_t n)
{
    if (n > INT32_MAX)
        return TALOS_ERR_INVALID_ARG;
    return RAND_bytes(buf, (int)n) == 1 ? TALOS_OK : TALOS_ERR_CRYPTO;
}

int talos_ct_eq(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

void talos_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void talos_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int talos_unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return TALOS_ERR_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return TALOS_ERR_MALFORMED;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return TALOS_OK;
}

int talos_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t n,
                      uint8_t out[TALOS_SHA256_BYTES])
{
    size_t len = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, n, out,
                   TALOS_SHA256_BYTES, &len) || len != TALOS_SHA256_BYTES)
        return TALOS_ERR_CRYPTO;
    return TALOS_OK;
}
