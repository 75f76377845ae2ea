/* Porting template, verifier: checks one evidence format anywhere (node, CLI,
 * a peer TA). A real verifier decodes strictly (TALOS_ERR_MALFORMED), checks
 * the vendor chain against anchors_pem (TALOS_ERR_EVIDENCE_CHAIN: Intel PCK
 * chain and TCB info for SGX DCAP quotes, AMD ARK/ASK/VCEK for SEV-SNP, the
 * device root key for Keystone), the report signature
 * (TALOS_ERR_EVIDENCE_SIG), refuses debug enclaves unless
 * TALOS_VERIFY_ALLOW_DEBUG, and fills talos_claims (measurement = MRENCLAVE /
 * enclave hash / MEASUREMENT, report_data = the 64 bytes the TA chose).
 * See tee/sim/verify/evidence.c for a complete example. Its row joins the
 * table in tee/evidence.c through the backend's line in TALOS_TEE_BACKENDS
 * (tee/tee.h); set .claims to TALOS_CLAIM_SIMULATED only for a format that
 * proves no hardware isolation, and give .decode so that tools can show
 * what a blob claims. */
#include <string.h>

#include "tee/tee.h"

static int skel_verify(const uint8_t *ev, size_t len, const uint8_t *anchors_pem,
                       size_t anchors_len, unsigned flags, struct talos_claims *out)
{
    if (out)
        memset(out, 0, sizeof(*out));
    return TALOS_ERR_NOT_IMPLEMENTED;
}

const struct talos_tee_verifier talos_tee_skeleton_format = {
    .name = "skeleton",
    .verify = skel_verify,
};
