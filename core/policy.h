/* The migration policy (version 1): which peer a TA accepts as the other
 * end of its migration, decided on the peer's verified claims and the TA's
 * own (both from evidence the platform signed; never from a host-told
 * value). Trusted code; no OS dependency. */
#ifndef TALOS_CORE_POLICY_H
#define TALOS_CORE_POLICY_H

#include <stddef.h>

#include "talos/talos.h"

/* TALOS_OK when peer may be this TA's migration peer: the same measurement
 * and launch configuration (TALOS_ERR_MEASUREMENT otherwise), and the same
 * CFG digest, which both must have (TALOS_ERR_CFG_DIGEST otherwise: a TA
 * whose platform computed no CFG cannot have its execution flow checked,
 * docs/cfg.md). On refusal, reason (cap bytes, NUL-terminated, may be NULL)
 * says which claim differs. Digests are compared in constant time. */
int talos_mig_policy_check(const struct talos_claims *own, const struct talos_claims *peer,
                           char *reason, size_t cap) __attribute__((warn_unused_result));

#endif
