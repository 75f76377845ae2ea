/* The sim evidence format: one platform's Ed25519 signature over the claims.
 *
 * Layout (core/wire.h, big-endian):
 *   u32 magic 0x544c4556 ("TLEV") ‖ u16 version (2) ‖ str backend ("sim") ‖
 *   u32 flags ‖ raw measurement[32] ‖ raw config_id[32] ‖ raw cfg_digest[32] ‖
 *   raw report_data[64] ‖ raw platform_id[32] ‖ bytes cert_der ‖ bytes signature[64]
 * The signature covers every byte before the signature's length prefix.
 * platform_id = SHA-256 of the raw 32-byte Ed25519 public key in cert_der.
 * flags is TALOS_CLAIM_SIMULATED, or TALOS_CLAIM_SIMULATED |
 * TALOS_CLAIM_NO_CFG with an all-zero cfg_digest (the platform could not
 * build the image's CFG): sim has no debug mode and never claims isolation,
 * so any other value is malformed. Version 1 (no cfg_digest) is refused as
 * malformed: a TA's identity now includes its CFG.
 *
 * The magic, version and backend name form the envelope every backend's
 * evidence starts with (tee/tee.h); talos_verify_evidence() dispatches on
 * the name.
 */
#ifndef TALOS_TEE_SIM_EVIDENCE_H
#define TALOS_TEE_SIM_EVIDENCE_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "talos/talos.h"
#include "tee/tee.h"

#define TALOS_SIM_EV_VERSION 2
#define TALOS_SIM_EV_CERT_MAX 4096 /* bytes of DER platform certificate */

/* A decoded (not yet verified) sim evidence blob. Pointers point into the
 * blob that was decoded and live as long as it does. */
struct talos_sim_evidence {
    struct talos_claims claims;
    const uint8_t *cert_der;
    size_t cert_len;
    const uint8_t *sig;   /* TALOS_ED25519_SIG_BYTES */
    size_t signed_len;    /* bytes [0, signed_len) are signed */
};

/* Encode and sign evidence with the platform key `key` (Ed25519) whose
 * certificate is cert_der. flags must be TALOS_CLAIM_SIMULATED; cfg_digest
 * NULL signs a zero digest and adds TALOS_CLAIM_NO_CFG. *len in: the
 * capacity of ev, out: bytes written. TALOS_ERR_INVALID_ARG (bad key/flags),
 * TALOS_ERR_TOO_LARGE (capacity or TALOS_EVIDENCE_MAX), TALOS_ERR_CRYPTO. */
int talos_sim_evidence_sign(EVP_PKEY *key, const uint8_t *cert_der, size_t cert_len, uint32_t flags,
                            const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                            const uint8_t config_id[TALOS_CONFIG_ID_BYTES],
                            const uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES],
                            const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev,
                            size_t *len);

/* Decode strictly, without checking the signature or the certificate:
 * TALOS_OK or TALOS_ERR_MALFORMED (out zeroed). A TA uses it to check the
 * evidence its host returned; verifiers use talos_sim_evidence_verify. */
int talos_sim_evidence_decode(const uint8_t *ev, size_t len, struct talos_sim_evidence *out);

/* Verify a sim blob against PEM anchors (one or more CA certificates).
 * Checks, in order: decoding (TALOS_ERR_MALFORMED, also for a certificate
 * that is not DER), the certificate chain to an anchor (TALOS_ERR_EVIDENCE_CHAIN,
 * also when the anchors hold no certificate), the certificate key being
 * the Ed25519 key named by platform_id and the signature (TALOS_ERR_EVIDENCE_SIG),
 * then simulation against TALOS_VERIFY_ALLOW_SIM (TALOS_ERR_EVIDENCE_SIM).
 * *out is filled on success and zeroed on every failure. */
int talos_sim_evidence_verify(const uint8_t *ev, size_t len, const uint8_t *anchors_pem,
                              size_t anchors_len, unsigned flags, struct talos_claims *out);

/* The sim row of the evidence formats (tee/evidence.c). */
extern const struct talos_tee_verifier talos_tee_sim_format;

#endif
