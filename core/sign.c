#include "core/sign.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/crypto.h"
#include "talos/err.h"

static EVP_PKEY *from_seed(const uint8_t seed[TALOS_ED25519_SEED_BYTES])
{
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, TALOS_ED25519_SEED_BYTES);
}

int talos_ed25519_public(const uint8_t seed[TALOS_ED25519_SEED_BYTES],
                         uint8_t pub[TALOS_ED25519_PUB_BYTES])
{
    EVP_PKEY *k = from_seed(seed);
    size_t n = 32;
    int rc = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == TALOS_ED25519_PUB_BYTES
                 ? TALOS_OK
                 : TALOS_ERR_CRYPTO;
    EVP_PKEY_free(k);
    return rc;
}

int talos_ed25519_keygen(uint8_t seed[TALOS_ED25519_SEED_BYTES],
                         uint8_t pub[TALOS_ED25519_PUB_BYTES])
{
    int rc = TALOS_ERR_CRYPTO;

    if (RAND_priv_bytes(seed, TALOS_ED25519_SEED_BYTES) == 1)
        rc = talos_ed25519_public(seed, pub);
    if (rc != TALOS_OK)
        talos_wipe(seed, TALOS_ED25519_SEED_BYTES);
    return rc;
}

int talos_ed25519_sign(const uint8_t seed[TALOS_ED25519_SEED_BYTES], const void *msg, size_t n,
                       uint8_t sig[TALOS_ED25519_SIG_BYTES])
{
    EVP_PKEY *k = from_seed(seed);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = 64;
    int rc = TALOS_ERR_CRYPTO;

    if (k && md && EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 &&
        EVP_DigestSign(md, sig, &len, msg, n) == 1 && len == TALOS_ED25519_SIG_BYTES)
        rc = TALOS_OK;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k); /* OpenSSL clears the private key it held */
    return rc;
}

void talos_image_sig_msg(const uint8_t sha[TALOS_SHA256_BYTES],
                         uint8_t out[TALOS_IMAGE_SIG_MSG_BYTES])
{
    memcpy(out, TALOS_IMAGE_SIG_LABEL, sizeof(TALOS_IMAGE_SIG_LABEL));
    memcpy(out + sizeof(TALOS_IMAGE_SIG_LABEL), sha, TALOS_SHA256_BYTES);
}

int talos_ed25519_verify(const uint8_t pub[TALOS_ED25519_PUB_BYTES], const void *msg, size_t n,
                         const uint8_t sig[TALOS_ED25519_SIG_BYTES])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, TALOS_ED25519_PUB_BYTES);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = TALOS_ERR_CRYPTO;

    if (k && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1)
        rc = EVP_DigestVerify(md, sig, 64, msg, n) == 1 ? TALOS_OK : 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return rc;
}
