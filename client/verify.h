/* The relying party's decision about one TA instance (docs/sessions.md §5
 * step 1): the evidence its session certificate carries, verified against
 * the client's own anchors and policy, and bound to the certificate's key.
 * Nothing the node says enters here. */
#ifndef TALOS_CLIENT_VERIFY_H
#define TALOS_CLIENT_VERIFY_H

#include <stddef.h>

#include "client/policy.h"
#include "talos/talos.h"

struct x509_st;

/* Verify the TA's certificate `cert` under policy p (anchors resolved):
 *  1. its evidence extension (core/ratls.h): MALFORMED when absent;
 *  2. talos_verify_evidence with p's anchors and flags: EVIDENCE_SIG,
 *     EVIDENCE_CHAIN, EVIDENCE_SIM, MALFORMED, NOT_IMPLEMENTED, BACKEND;
 *     a debug TEE without TALOS_VERIFY_ALLOW_DEBUG: EVIDENCE_SIM;
 *  3. report data = the session binding (role 'C', the certificate's
 *     Ed25519 key, claims.config_id): REPORT_DATA;
 *  4. measurement in p's set: MEASUREMENT;
 *  5. when p names CFG digests, the claims' one among them: CFG_DIGEST.
 * TALOS_OK with *claims filled, or the refusal with a one-line reason in
 * why (*claims zeroed). */
int talos_client_verify_cert(const struct talos_policy *p, const struct x509_st *cert,
                             struct talos_claims *claims, char *why, size_t cap);

#endif
