/* Version 1 allows exactly one identity: the TA's own. A newer allowed
 * measurement (DESIGN.md step 2) would be one more rule here. */
#include "core/policy.h"

#include "core/crypto.h"
#include "core/reason.h"

int talos_mig_policy_check(const struct talos_claims *own, const struct talos_claims *peer,
                           char *reason, size_t cap)
{
    if (reason && cap)
        reason[0] = '\0';
    if (!own || !peer)
        return TALOS_ERR_INVALID_ARG;
    if (!talos_ct_eq(peer->measurement, own->measurement, TALOS_MEASUREMENT_BYTES))
        return talos_reason(TALOS_ERR_MEASUREMENT, reason, cap,
                            "peer runs another image (measurement) than this TA");
    if (!talos_ct_eq(peer->config_id, own->config_id, sizeof(own->config_id)))
        return talos_reason(TALOS_ERR_MEASUREMENT, reason, cap,
                            "peer runs another launch config than this TA");
    if ((own->flags & TALOS_CLAIM_NO_CFG) || (peer->flags & TALOS_CLAIM_NO_CFG))
        return talos_reason(TALOS_ERR_CFG_DIGEST, reason, cap,
                            "%s platform computed no CFG digest: execution flow cannot be checked",
                            (own->flags & TALOS_CLAIM_NO_CFG) ? "this TA's" : "the peer's");
    if (!talos_ct_eq(peer->cfg_digest, own->cfg_digest, sizeof(own->cfg_digest)))
        return talos_reason(TALOS_ERR_CFG_DIGEST, reason, cap,
                            "peer's CFG digest differs from this TA's");
    return TALOS_OK;
}
