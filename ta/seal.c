/* Seal keys (talos/ta.h, docs/sealing.md). Two policies:
 *
 *  - TALOS_SEAL_MEASUREMENT: the backend's own key for this code on this
 *    platform (UniTEE's get_seal_key). It does not move: a blob sealed
 *    with it on node A does not open on node B.
 *  - TALOS_SEAL_LINEAGE: a key derived from a secret the runtime draws
 *    inside the TA when the lineage begins and keeps in the lineage's
 *    state (a TALOS_PERSIST variable): it moves only inside the encrypted,
 *    attested migration stream, like every state byte, so a blob sealed
 *    with it opens wherever the lineage lives, and in no other lineage of
 *    the same image (another secret). It is wiped with the state when the
 *    lineage leaves or ends.
 *
 * Trusted code. */
#include <string.h>

#include "core/crypto.h"
#include "ta/rt.h"
#include "tee/tee.h"

#define LINEAGE_SEAL_BYTES 32
static const char seal_salt[] = "talos-seal-lineage-v1";

/* State: it migrates, is covered by the state root, and is wiped with the
 * rest of the state. Zero until the lineage's genesis. */
static uint8_t lineage_seal[LINEAGE_SEAL_BYTES] TALOS_PERSIST;

int talos_rt_seal_genesis(void)
{
    return talos_random_bytes(lineage_seal, sizeof(lineage_seal));
}

/* HKDF(secret, salt, info = lineage id): one key per lineage. */
static int lineage_key(uint8_t key[TALOS_SEAL_KEY_BYTES])
{
    static const uint8_t zero[LINEAGE_SEAL_BYTES];
    uint8_t secret[LINEAGE_SEAL_BYTES];
    int rc = TALOS_ERR_STATE;

    memcpy(secret, lineage_seal, sizeof(secret));
    if (!talos_ct_eq(secret, zero, sizeof(secret))) /* no lineage here: no key */
        rc = talos_hkdf(secret, sizeof(secret), seal_salt, sizeof(seal_salt) - 1,
                        talos_rt.lineage, sizeof(talos_rt.lineage), key, TALOS_SEAL_KEY_BYTES);
    talos_wipe(secret, sizeof(secret));
    return rc;
}

int talos_seal_key(enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES])
{
    int rc = TALOS_ERR_INVALID_ARG;

    if (!key)
        return TALOS_ERR_INVALID_ARG;
    if (policy == TALOS_SEAL_LINEAGE)
        rc = lineage_key(key);
    else
        rc = talos_tee_enclave.seal_key(policy, key);
    if (rc != TALOS_OK)
        talos_wipe(key, TALOS_SEAL_KEY_BYTES);
    return rc;
}
