/* A client session's state, shared by client/session.c (connecting,
 * following the TA) and client/call.c (one call, retried with the same
 * sequence number). */
#ifndef TALOS_CLIENT_SESSION_H
#define TALOS_CLIENT_SESSION_H

#include <stdint.h>

#include "client/conn.h"
#include "client/policy.h"
#include "core/crypto.h"
#include "core/sess.h"
#include "talos/client.h"

struct ssl_ctx_st;

struct talos_session {
    struct talos_policy *pol; /* a copy, anchors resolved */
    struct ssl_ctx_st *ctx;
    struct talos_session_options opt; /* defaults filled */
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint8_t client_id[TALOS_SESS_CLIENT_ID_BYTES];
    char node[128];            /* where the session is (or was last) connected */
    char hint[128];            /* where the TA said it went (END MOVED), tried first; "" none */
    struct talos_conn conn;    /* fd -1 while not connected */
    uint64_t seq;              /* the last sequence number used */
    uint64_t version;          /* the highest version seen */
    struct talos_claims claims;
    uint8_t ta_pub[TALOS_ED25519_PUB_BYTES]; /* the instance's key: a new one is a move */
    int have_pub;
    unsigned moves, replays;
    double setup_ms;
    int dead;                  /* ROLLBACK or LINEAGE: every later call fails with it */
    char err[256];
};

/* Connect (again): the session's node first, following MOVED; when
 * persist, retrying refusals and broken connections with backoff until
 * follow_ms passes. TALOS_OK, or why not (s->err says it; LINEAGE and
 * ROLLBACK set s->dead). */
int talos_session_reconnect(struct talos_session *s, int persist);

/* Give up the connection (the session stays usable). */
void talos_session_drop(struct talos_session *s);

/* A version from the TA: never lower than one seen (else ROLLBACK, the
 * session dead). */
int talos_session_see_version(struct talos_session *s, uint64_t v, const char *what);

/* Milliseconds on the monotonic clock. */
double talos_session_now_ms(void);

#endif
