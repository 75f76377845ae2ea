/* The decisions a migrating TA makes about what its peer, or its node,
 * hands it (SECURITY.md "Lifecycle", "Evidence binding"): one pure function
 * per check, called by the TA runtime (ta/mig_common.c, ta/mig_target.c,
 * ta/mig_source.c) and driven by the unit tests (tests/unit/test_migcheck.c).
 * No I/O and no runtime state: the caller passes what the check needs and
 * acts on the answer. Every function returns TALOS_OK or the refusal the
 * runtime reports (a talos_err), with a one-line reason in why (cap bytes,
 * NUL-terminated; may be NULL) on refusal, and changes nothing else.
 * Trusted code; no OS dependency. */
#ifndef TALOS_CORE_MIGCHECK_H
#define TALOS_CORE_MIGCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/lifecycle.h"
#include "core/mig.h"
#include "core/migrec.h"
#include "talos/abi.h"
#include "talos/err.h"

/* What binds one side's migration evidence to a channel, RA-TLS style
 * (D44): the evidence is made ahead, when the TA starts or after its last
 * migration, over a TLS key that serves one channel and is then replaced:
 *   report data = SHA-256("talos-ratls-v1" ‖ role ‖ pub ‖ config)
 *                 ‖ 32 zero bytes
 * where config is SHA-256 of the launch configuration the TA itself parsed
 * (trust anchors, verifier flags). Freshness comes from the TLS handshake:
 * the peer proved possession of pub's private key in this handshake, and
 * that key never leaves the TA that made the evidence. The session and the
 * lineage, unknown when the evidence was made, are bound right after the
 * handshake by a MAC under the channel's TLS exporter
 * (talos_mig_bind_mac). */
struct talos_mig_binding {
    uint8_t role;           /* the speaker's: 'S' or 'T' */
    const uint8_t *pub;     /* TALOS_ED25519_PUB_BYTES: the speaker's TLS public key */
    const uint8_t *config;  /* TALOS_SHA256_BYTES: the listener's own config digest */
};

/* The report data a speaker puts in its evidence. */
void talos_mig_binding_report_data(const struct talos_mig_binding *b,
                                   uint8_t out[TALOS_REPORT_DATA_BYTES]);

/* The report data of the peer's verified evidence against the binding the
 * listener computes for it (constant time): TALOS_OK, or
 * TALOS_ERR_REPORT_DATA "peer evidence is not bound to this channel, key,
 * session and lineage" (another TLS key, role or configuration: old
 * evidence, or evidence relayed from another channel). */
int talos_mig_binding_check(const struct talos_mig_binding *b,
                            const uint8_t report_data[TALOS_REPORT_DATA_BYTES], char *why,
                            size_t cap) __attribute__((warn_unused_result));

/* What a speaker's binding MAC covers, besides the key it is made with:
 * its role, the session and lineage of this migration, the listener's
 * HELLO nonce, and both TLS keys as this side sees them. */
struct talos_mig_bind {
    uint8_t role;                 /* the speaker's */
    const uint8_t *exporter;      /* TALOS_MIG_KEY_BYTES: the channel's TLS exporter value (the MAC key) */
    const uint8_t *session;       /* TALOS_SESSION_BYTES */
    const uint8_t *lineage;       /* TALOS_LINEAGE_BYTES */
    const uint8_t *nonce;         /* TALOS_NONCE_BYTES: the listener's */
    const uint8_t *speaker_pub;   /* TALOS_ED25519_PUB_BYTES */
    const uint8_t *listener_pub;  /* TALOS_ED25519_PUB_BYTES */
};

/* HMAC-SHA256(exporter, "talos-bind-v1" ‖ role ‖ session ‖ lineage ‖
 * nonce ‖ speaker_pub ‖ listener_pub). TALOS_OK or TALOS_ERR_CRYPTO. */
int talos_mig_bind_mac(const struct talos_mig_bind *b, uint8_t mac[TALOS_MIG_BIND_MAC_BYTES]);

/* The peer's binding MAC against the one the listener computes for it
 * (constant time): TALOS_OK, or TALOS_ERR_REPORT_DATA "peer evidence is
 * not bound to this session and lineage" (a genuine TA of this channel
 * that speaks of another migration). */
int talos_mig_bind_check(const struct talos_mig_bind *b,
                         const uint8_t mac[TALOS_MIG_BIND_MAC_BYTES], char *why, size_t cap)
    __attribute__((warn_unused_result));

/* A target's HELLO: the lineage the source offers must be the one the
 * target was created for (its node registered it under the lineage the
 * source's node announced in plaintext). TALOS_OK, or TALOS_ERR_PROTOCOL
 * "the source offers another lineage than its node announced". */
int talos_mig_hello_lineage_check(const struct talos_mig_hello *h,
                                  const uint8_t expected[TALOS_LINEAGE_BYTES], char *why,
                                  size_t cap) __attribute__((warn_unused_result));

/* What a source keeps while HANDED_OFF: the only key that can verify the
 * target's ABORT or RECEIPT, and what a RECEIPT must name. */
struct talos_mig_pending {
    int live; /* a session is pending */
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t k_tok[TALOS_MIG_KEY_BYTES];
    uint64_t version;
    uint8_t head[TALOS_MIG_HASH_BYTES];
};

/* May a source in `state`, with pending session p, serve again on the token
 * tok (len bytes) its node shows it? Only a HANDED_OFF source with a live
 * pending session (TALOS_ERR_STATE "TA is <state>: only a HANDED_OFF source
 * can resume"), and only on an ABORT of that session and lineage that
 * verifies under its key (talos_token_open's MALFORMED, MAC or PROTOCOL:
 * "not a valid ABORT of the pending session: <error>"). On TALOS_OK *t is
 * the ABORT (t->code: why the target failed). */
int talos_mig_resume_check(enum talos_life_state state, const struct talos_mig_pending *p,
                           const uint8_t lineage[TALOS_LINEAGE_BYTES], const uint8_t *tok,
                           size_t len, struct talos_token *t, char *why, size_t cap)
    __attribute__((warn_unused_result));

/* May a source in `state`, with pending session p, retire on the RECEIPT
 * token tok (len bytes)? Only a HANDED_OFF source with a live pending
 * session (TALOS_ERR_STATE "TA is <state>: only a HANDED_OFF source takes a
 * RECEIPT"), only on a RECEIPT of that session and lineage that verifies
 * under its key ("not a valid RECEIPT of the pending session: <error>"),
 * and only one naming the pending version and chain head
 * (TALOS_ERR_PROTOCOL "the RECEIPT names another version or chain head"). */
int talos_mig_receipt_check(enum talos_life_state state, const struct talos_mig_pending *p,
                            const uint8_t lineage[TALOS_LINEAGE_BYTES], const uint8_t *tok,
                            size_t len, struct talos_token *t, char *why, size_t cap)
    __attribute__((warn_unused_result));

#endif
