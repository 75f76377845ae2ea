/* Porting template, host side. Copy this folder to tee/<name>/, rename the
 * ops talos_tee_<name>_host, add the backend's line to TALOS_TEE_BACKENDS
 * (tee/tee.h), and fill in each call. Until then every call answers
 * TALOS_ERR_NOT_IMPLEMENTED, so the node refuses to start cleanly.
 *
 * The host side is the untrusted half of a backend: it loads images into the
 * TEE and reaches the platform's quoting and key services on behalf of TAs.
 */
#include <string.h>

#include "core/reason.h"
#include "tee/tee.h"

/* Open the TEE device or driver and the platform's services. The backend's
 * options (those talosd got as --backend-option skeleton.KEY=VALUE, keys
 * listed in the ops' .options) are read with talos_tee_option(cfg, KEY).
 * SGX/Gramine: check /dev/sgx_enclave and the AESM or DCAP quote provider.
 * Keystone: open /dev/keystone_enclave. SEV-SNP: /dev/sev-guest in the
 * confidential VM. TDX: /dev/tdx_guest. */
static int skel_open(const struct talos_platform_config *cfg, struct talos_platform **out)
{
    if (out)
        *out = NULL;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* Release what open acquired; must accept NULL. */
static void skel_close(struct talos_platform *p) {}

/* Whether an image file (read from fd, never by path) is something this
 * TEE can load: SGX/Gramine: a manifest and its SIGSTRUCT (and the entry
 * binary they name); Keystone: an eapp ELF for the runtime; SEV-SNP/TDX: a
 * VM image the launcher knows. Reasons go in why (tee/tee.h). */
static int skel_check_image(struct talos_platform *p, int fd, char *why, size_t cap)
{
    return talos_reason(TALOS_ERR_NOT_IMPLEMENTED, why, cap,
                        "the skeleton backend checks no image (a porting template)");
}

/* The measurement the hardware will report for this image, computed before
 * launch so the node can check it. SGX/Gramine: MRENCLAVE from the signed
 * manifest (SIGSTRUCT). Keystone: the eapp + runtime hash the SM computes.
 * SEV-SNP/TDX: the launch digest (MEASUREMENT / MRTD) of the VM image. */
static int skel_measure_image(struct talos_platform *p, const char *path,
                              uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    if (out)
        memset(out, 0, TALOS_MEASUREMENT_BYTES);
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* Create and start the enclave with the channel on fd 3 (and the shared ring
 * on fd 4). SGX/Gramine: gramine-sgx with the TA's manifest. Keystone:
 * keystone_enclave create + run through the host library. */
static int skel_launch(struct talos_platform *p, const struct talos_launch *l, int *pid)
{
    if (pid)
        *pid = 0;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* Turn a TA's local report into evidence a remote verifier accepts.
 * SGX/Gramine: the TA writes report data to /dev/attestation/user_report_data
 * and reads /dev/attestation/quote (DCAP quote via the QE). Keystone: the SM's
 * attest_enclave signs inside the TEE, so the host only relays. SEV-SNP:
 * SNP_GET_EXT_REPORT with the VCEK chain; TDX: TDREPORT to a TD quote. */
static int skel_quote(struct talos_platform *p, const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                      const uint8_t config_id[TALOS_CONFIG_ID_BYTES],
                      const uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES],
                      const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev, size_t *len)
{
    if (len)
        *len = 0;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* Real TEEs derive seal keys inside the TEE (EGETKEY, Keystone
 * get_sealing_key, SNP MSG_KEY_REQ): the host never holds them, and a port
 * leaves this call unimplemented. */
static int skel_seal_key(struct talos_platform *p,
                         const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                         enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES])
{
    if (key)
        memset(key, 0, TALOS_SEAL_KEY_BYTES);
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* Root certificates of the vendor chain: Intel SGX root CA (PCK chain), AMD
 * ARK/ASK, the Keystone device root key's certificate. */
static int skel_anchors(struct talos_platform *p, const uint8_t **pem, size_t *len)
{
    if (pem)
        *pem = NULL;
    if (len)
        *len = 0;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* A real port also sets .claims (TALOS_CLAIM_SIMULATED only when its TAs
 * have no hardware isolation), .options (the keys open reads) and
 * .default_anchors (where a verifier on this machine finds the vendor's
 * root certificates by default, if anywhere). */
const struct talos_tee_host_ops talos_tee_skeleton_host = {
    .name = "skeleton",
    .open = skel_open,
    .close = skel_close,
    .check_image = skel_check_image,
    .measure_image = skel_measure_image,
    .launch = skel_launch,
    .quote = skel_quote,
    .seal_key = skel_seal_key,
    .anchors = skel_anchors,
};
