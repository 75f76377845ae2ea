/* Ed25519 signatures over OpenSSL 3 (crypto glue, like core/crypto.h): the
 * lineage keys of state certificates (docs/state-certs.md). A private key is
 * its 32-byte seed; callers wipe it. No primitive is implemented here. */
#ifndef TALOS_CORE_SIGN_H
#define TALOS_CORE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h" /* TALOS_ED25519_PUB_BYTES, TALOS_ED25519_SIG_BYTES, TALOS_SHA256_BYTES */

#define TALOS_ED25519_SEED_BYTES 32

/* A fresh key: seed from the DRBG, its public key. TALOS_ERR_CRYPTO. */
int talos_ed25519_keygen(uint8_t seed[TALOS_ED25519_SEED_BYTES],
                         uint8_t pub[TALOS_ED25519_PUB_BYTES]);
/* The public key of `seed`. TALOS_ERR_CRYPTO. */
int talos_ed25519_public(const uint8_t seed[TALOS_ED25519_SEED_BYTES],
                         uint8_t pub[TALOS_ED25519_PUB_BYTES]);
/* sig over msg with the key of `seed`. TALOS_ERR_CRYPTO. */
int talos_ed25519_sign(const uint8_t seed[TALOS_ED25519_SEED_BYTES], const void *msg, size_t n,
                       uint8_t sig[TALOS_ED25519_SIG_BYTES]);
/* Image signatures (talos sign, talosd --image-policy "signers"): an
 * Ed25519 signature over "talos-image-v1\0" ‖ the image file's SHA-256. */
#define TALOS_IMAGE_SIG_LABEL "talos-image-v1"
#define TALOS_IMAGE_SIG_MSG_BYTES (sizeof(TALOS_IMAGE_SIG_LABEL) + TALOS_SHA256_BYTES)
#define TALOS_IMAGE_SIG_BYTES TALOS_ED25519_SIG_BYTES
void talos_image_sig_msg(const uint8_t sha[TALOS_SHA256_BYTES],
                         uint8_t out[TALOS_IMAGE_SIG_MSG_BYTES]);

/* TALOS_OK when sig is pub's signature over msg; TALOS_ERR_CRYPTO when the
 * library fails, 1 when the signature is wrong (the caller names the error). */
int talos_ed25519_verify(const uint8_t pub[TALOS_ED25519_PUB_BYTES], const void *msg, size_t n,
                         const uint8_t sig[TALOS_ED25519_SIG_BYTES]);

#endif
