/* TALOS — client API: talk to a TA end to end, through any node that hosts
 * it (docs/sessions.md). Link with `pkg-config --libs talos-client`.
 *
 * A session is TLS 1.3 terminated inside the TA. The TA's certificate
 * carries its evidence (RA-TLS); the client verifies the evidence against
 * its own trust anchors and a policy (allowed measurements, CFG digests,
 * whether simulated or debug TEEs are acceptable) before it sends any
 * byte of a call. The node relays bytes it cannot read.
 *
 * A session follows its TA: when the TA migrates, the library reconnects
 * where it went, verifies the new instance against the same policy and
 * checks that it holds the same lineage at a version no lower than any
 * this session saw. Every call carries the session's client id and a
 * sequence number; the TA records the answer of each client's last call
 * in its migrated state, so a call retried after a migration or a broken
 * connection is answered from that record instead of running twice.
 *
 * A session is used by one thread at a time. Errors are talos_err codes
 * (talos/err.h) with a one-line reason from talos_session_error().
 */
#ifndef TALOS_CLIENT_H
#define TALOS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "talos/err.h"
#include "talos/talos.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- policy: what the client accepts ------------------------------------ */

struct talos_policy;

/* An empty policy: no measurement allowed yet, no CFG digest constraint,
 * no simulated or debug TEE, the default backend's anchors. */
TALOS_MUST_CHECK int talos_policy_new(struct talos_policy **out);
TALOS_MUST_CHECK int talos_policy_allow_measurement(struct talos_policy *p,
                                                    const uint8_t m[TALOS_MEASUREMENT_BYTES]);
/* Once any CFG digest is allowed, evidence must carry one of them. */
TALOS_MUST_CHECK int talos_policy_allow_cfg_digest(struct talos_policy *p,
                                                   const uint8_t d[TALOS_CFG_DIGEST_BYTES]);
/* TALOS_VERIFY_ALLOW_SIM / TALOS_VERIFY_ALLOW_DEBUG (others ignored). */
void talos_policy_set_flags(struct talos_policy *p, unsigned verify_flags);
/* The flags set (or loaded from a policy file). */
unsigned talos_policy_flags(const struct talos_policy *p);
/* PEM trust anchors (copied). Without: the default backend's
 * (talos_default_anchors), read when the first session opens — in a
 * program that links the backends' host side (libtalos_tee_host, as the
 * talos CLI does); `pkg-config talos-client` does not, and then a session
 * without anchors fails to open (INVALID_ARG). */
TALOS_MUST_CHECK int talos_policy_set_anchors(struct talos_policy *p, const uint8_t *pem,
                                              size_t len);
/* A policy file (JSON, docs/sessions.md):
 *   {"measurements": ["64 hex", ...], "cfg_digests": ["64 hex", ...],
 *    "allow_sim": false, "allow_debug": false, "anchors": "PATH.pem"}
 * measurements is required and not empty; a relative anchors path is
 * relative to the file. A field not named here is refused (MALFORMED), not
 * ignored: a misspelt constraint must not leave the policy weaker than its
 * author meant. TALOS_OK, or MALFORMED/IO/TOO_LARGE with a one-line reason
 * in why. */
TALOS_MUST_CHECK int talos_policy_load(const char *path, struct talos_policy **out, char *why,
                                       size_t cap);
void talos_policy_free(struct talos_policy *p);

/* --- sessions ------------------------------------------------------------ */

struct talos_session;

struct talos_session_options {
    unsigned timeout_ms;      /* one exchange with the TA; 0: 30000 */
    unsigned follow_ms;       /* how long to keep reconnecting after a move or a
                               * broken connection before giving up; 0: 30000 */
    unsigned max_hops;        /* MOVED answers followed in a row; 0: 8 */
};

/* Open a session with TA `lineage` through the node at `node`: HOST:PORT,
 * the node's listening port (`talosd --listen`), or unix:PATH, the node's
 * control socket on this machine (STATE_DIR/talosd.sock). The policy is copied.
 * Opening tries once (following MOVED answers): a refusal or a failed
 * connection is returned at once; only an open session retries.
 * Returns TALOS_OK, or why the session could not be opened: the node's
 * refusal (NO_SUCH_TA, BUSY, ...), the TLS or evidence failure (CRYPTO,
 * EVIDENCE_*, REPORT_DATA, MEASUREMENT, CFG_DIGEST), LINEAGE. On failure
 * *out is NULL and why (may be NULL) holds the reason. */
TALOS_MUST_CHECK int talos_session_open(const char *node, const uint8_t lineage[TALOS_LINEAGE_BYTES],
                                        const struct talos_policy *p,
                                        const struct talos_session_options *opt,
                                        struct talos_session **out, char *why, size_t cap);

/* The answer of one call. */
struct talos_session_result {
    int status;        /* the TA's verdict (TALOS_OK or its refusal) */
    uint64_t version;  /* the TA's version when it answered */
    uint8_t *out;      /* malloc'd, NUL-terminated for convenience; out_len excludes the NUL */
    size_t out_len;
    int replayed;      /* answered from the TA's record of an earlier attempt */
    char reason[256];  /* the TA's one-line reason when status != TALOS_OK */
};
void talos_session_result_clear(struct talos_session_result *r);

/* Call an ecall inside the session. Returns TALOS_OK when the TA answered
 * (its verdict is res->status), or why no answer came: ROLLBACK, LINEAGE,
 * REPLAY (the TA no longer holds the answer of a retried call: its outcome
 * is unknown; res then holds the TA's RESULT, to be cleared as usual), MOVED/TIMEOUT/PEER_CLOSED when following the TA failed,
 * the evidence errors of a new instance. After ROLLBACK or LINEAGE the
 * session is dead: every later call returns the same error. */
TALOS_MUST_CHECK int talos_session_call(struct talos_session *s, const char *ecall, int argc,
                                        const struct talos_buf *argv,
                                        struct talos_session_result *res);

/* What the session verified, for display. */
struct talos_session_info {
    struct talos_claims claims;   /* of the instance it talks to now */
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;             /* the highest version this session saw */
    char node[128];               /* where it is connected now (HOST:PORT) */
    unsigned moves;               /* reconnections to another instance */
    unsigned replays;             /* answers that came from the TA's record */
    uint8_t client_id[16];
    uint64_t seq;                 /* the last sequence number used */
    double setup_ms;              /* the last connect + handshake + verification */
};
void talos_session_info(const struct talos_session *s, struct talos_session_info *out);

/* The last failure's one-line reason ("" when none). */
const char *talos_session_error(const struct talos_session *s);

void talos_session_close(struct talos_session *s); /* accepts NULL */

#ifdef __cplusplus
}
#endif
#endif
