/* Crypto glue over OpenSSL 3: the only place core names OpenSSL digests and
 * key types. No primitive is implemented here. */
#ifndef TALOS_CORE_CRYPTO_H
#define TALOS_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "talos/common.h" /* TALOS_SHA256_BYTES */

#define TALOS_ED25519_PUB_BYTES 32
#define TALOS_ED25519_SIG_BYTES 64

void talos_sha256(const void *p, size_t n, uint8_t out[TALOS_SHA256_BYTES]);

/* Incremental SHA-256 (opaque OpenSSL context). */
struct talos_sha256_ctx;
int talos_sha256_begin(struct talos_sha256_ctx **ctx);
void talos_sha256_add(struct talos_sha256_ctx *ctx, const void *p, size_t n);
int talos_sha256_end(struct talos_sha256_ctx *ctx, uint8_t out[TALOS_SHA256_BYTES]); /* frees ctx */
/* Reusable form, for hashing many small messages (state pages): restart,
 * add, finish without freeing; free once at the end. */
void talos_sha256_restart(struct talos_sha256_ctx *ctx);
void talos_sha256_finish(struct talos_sha256_ctx *ctx, uint8_t out[TALOS_SHA256_BYTES]);
void talos_sha256_free(struct talos_sha256_ctx *ctx);

/* HKDF-SHA256 (RFC 5869). */
int talos_hkdf(const uint8_t *ikm, size_t ikm_len, const void *salt, size_t salt_len,
               const void *info, size_t info_len, uint8_t *out, size_t out_len);

int talos_random_bytes(void *buf, size_t n);
/* Constant-time equality: 1 when equal. */
int talos_ct_eq(const void *a, const void *b, size_t n);
void talos_wipe(void *p, size_t n);

/* Lower-case hex; out must hold 2n+1 bytes. */
void talos_hex(const uint8_t *p, size_t n, char *out);
/* Parse exactly 2n hex chars into out; TALOS_ERR_MALFORMED otherwise. */
int talos_unhex(const char *s, uint8_t *out, size_t n);



/* HMAC-SHA256 (OpenSSL EVP_Q_mac). */
int talos_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t n,
                      uint8_t out[TALOS_SHA256_BYTES]);
#endif
