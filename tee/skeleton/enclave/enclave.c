/* Porting template, enclave side: linked into a TA image built for the
 * backend (`make TEE=skeleton`), as the one `talos_tee_enclave` of that
 * image (tee.h). Every call answers TALOS_ERR_NOT_IMPLEMENTED until filled
 * in, so such a TA stops in the runtime's start, at init, before it serves
 * anything. */
#include <string.h>

#include "tee/tee.h"

/* Keep env to reach the host, as sim does, if the port needs the untrusted
 * side (e.g. to fetch a quote). */
static int skel_init(const struct talos_tee_env *env) { return TALOS_ERR_NOT_IMPLEMENTED; }

/* This TA's code measurement as the hardware recorded it. SGX/Gramine:
 * MRENCLAVE from /dev/attestation/my_target_info or a self report.
 * Keystone: the enclave hash in the SM's attestation report. SEV-SNP: the
 * MEASUREMENT field of a guest report; TDX: MRTD/RTMRs of a TDREPORT. */
static int skel_measure_self(uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    if (out)
        memset(out, 0, TALOS_MEASUREMENT_BYTES);
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* Evidence binding report_data. SGX/Gramine: write it to
 * /dev/attestation/user_report_data, read /dev/attestation/quote. Keystone:
 * attest_enclave(report, data, 64). SEV-SNP: SNP_GET_REPORT with
 * report_data[64]; TDX: TDG.MR.REPORT then a quote. Wrap the result in the
 * TLEV envelope (magic, version, backend name) so talos_verify_evidence
 * can dispatch on it. */
static int skel_evidence(const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev,
                         size_t *len)
{
    if (len)
        *len = 0;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* Verify a peer's evidence: usually talos_verify_evidence, which dispatches
 * to the evidence format of the table in tee/evidence.c. */
static int skel_verify(const uint8_t *ev, size_t len, const uint8_t *anchors_pem,
                       size_t anchors_len, unsigned flags, struct talos_claims *out)
{
    if (out)
        memset(out, 0, sizeof(*out));
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* A key bound to this TA's measurement on this platform, derived inside the
 * TEE. SGX: EGETKEY with KEYPOLICY.MRENCLAVE (Gramine: /dev/attestation/keys).
 * Keystone: get_sealing_key. SEV-SNP: MSG_KEY_REQ with the measurement mixed
 * in. */
static int skel_seal_key(enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES])
{
    if (key)
        memset(key, 0, TALOS_SEAL_KEY_BYTES);
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* The TA's own mappings for introspection. Gramine: its PAL memory ranges
 * (or /proc/self/maps as Gramine emulates it); Keystone: the eapp's
 * runtime-managed regions (EPM/UTM). */
static int skel_memory_map(struct talos_region *out, size_t *n)
{
    if (n)
        *n = 0;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

const struct talos_tee_ops talos_tee_enclave = {
    .name = "skeleton",
    .init = skel_init,
    .measure_self = skel_measure_self,
    .evidence = skel_evidence,
    .verify = skel_verify,
    .seal_key = skel_seal_key,
    .memory_map = skel_memory_map,
};
