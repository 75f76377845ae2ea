/* Internal to the TA runtime: one migration session, either role. */
#ifndef TALOS_TA_MIG_H
#define TALOS_TA_MIG_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "core/mig.h"
#include "core/migrec.h"
#include "ta/chan.h"
#include "ta/ident.h"
#include "talos/talos.h"

#define MIG_ROLE_S 'S'
#define MIG_ROLE_T 'T'

struct mig {
    struct talos_chan ch;
    int chan_up;
    uint8_t role;
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t nonce_own[TALOS_NONCE_BYTES], nonce_peer[TALOS_NONCE_BYTES];
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint8_t exporter[TALOS_MIG_KEY_BYTES]; /* channel binding */
    uint8_t k_tok[TALOS_MIG_KEY_BYTES];    /* MAC key of tokens, from the same channel */
    int keys;             /* exporter and k_tok derived */
    struct mig_ident id; /* this side's key (until the handshake), evidence, own claims */
    struct talos_claims peer;
    struct talos_mig_report rep;
    uint64_t t0;
    uint64_t cpu0; /* this process's CPU time at t0 (the report's cpu_ns) */
    char reason[200];
};

/* A clock in ns: CLOCK_PROCESS_CPUTIME_ID is the whole TA process's CPU
 * time (every thread, live or ended), CLOCK_THREAD_CPUTIME_ID the caller's. */
uint64_t mig_clock(clockid_t id);
/* mig_clock(CLOCK_MONOTONIC). */
uint64_t mig_now(void);

/* Derive the channel binding and the token key (after HELLO). */
int mig_keys(struct mig *m);

/* Mutual attestation: both send the evidence made ahead over their TLS key
 * and a MAC binding it to this migration, then each checks the peer's
 * against the policy (same measurement and config). */
int mig_attest(struct mig *m);

/* Receive one record of type `want` (or, for S, an ABORT) into buf.
 * TALOS_ERR_PROTOCOL on any other type; *got says which came. */
int mig_recv(struct mig *m, uint8_t want, uint8_t *got, void *buf, size_t cap, uint32_t *len);

/* An ABORT record from the target (body in buf): check it under the session
 * key. TALOS_OK when it verifies, with *code the target's refusal and the
 * reason set; otherwise the token's own error (MAC, MALFORMED, PROTOCOL). */
int mig_abort_check(struct mig *m, const uint8_t *buf, uint32_t len, int *code);
/* mig_abort_check for paths where any outcome is a refusal: the code. */
int mig_abort_code(struct mig *m, const uint8_t *buf, uint32_t len);

/* Seal and send a token of `kind` about (version, head, code). */
int mig_send_token(struct mig *m, uint8_t kind, uint64_t version,
                   const uint8_t head[TALOS_MIG_HASH_BYTES],
                   int32_t code, uint8_t out[TALOS_TOKEN_BYTES]);

/* S: one CHUNK of n pages starting at page `first` (seq: its number in
 * the whole stream). */
int mig_send_chunk(struct mig *m, uint32_t seq, uint64_t first, uint32_t n, const uint8_t *pages);

/* S, frozen: BEGIN for this TA's version and chain head and the given
 * sizes; MANIFEST with the chunk count and root, new_head set to the next
 * chain head (both stop-and-copy and pre-copy). */
int mig_send_begin(struct mig *m, uint64_t arena_bytes, uint64_t persist_bytes);
int mig_send_manifest(struct mig *m, uint32_t n_chunks, const uint8_t root[TALOS_MIG_HASH_BYTES],
                      uint8_t new_head[TALOS_MIG_HASH_BYTES]);

/* Answer the host's MIGRATE_* frame with status, reason and the report. */
int mig_reply(struct mig *m, int status);

/* Wipe keys and close the channel. */
void mig_end(struct mig *m);
/* The same for an import that succeeded, with the channel's close (and the
 * CFG's release) on a helper thread: the TA serves meanwhile. */
void mig_end_later(struct mig *m);
/* Wait for that helper (before another import, and at exit). */
void mig_later_join(void);

/* The PREPARED target becomes the lineage at (version, head): ACTIVE
 * (mig_target.c). TALOS_ERR_STATE, nothing changed, in any other state. */
int mig_activate_commit(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint64_t version,
                        const uint8_t head[TALOS_MIG_HASH_BYTES]);
/* Before a target activates: its host records the arrival (talosd: on
 * disk). TALOS_OK, or the reason the host could not (it died, its disk
 * failed, the lineage already serves there) in why: the target then fails
 * and its ABORT lets the source serve on, instead of activating where
 * nobody can reach it. */
int mig_host_arrival(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint64_t version, char *why,
                     size_t cap);

/* T: the arena pre-faulted on a helper while the attestation runs
 * (ta/mig_helpers.c), [0, bytes). */
struct mig_prefault {
    pthread_t thread;
    int started;
    uint64_t bytes;
};
/* Start faulting in what the HELLO's hint says, bounded by the node's
 * grant and by what an unauthenticated peer may make us fault in. */
void mig_prefault_start(struct mig_prefault *p, uint64_t hint, uint64_t grant);
/* Fault in the arena's [p->bytes, arena_bytes) now (BEGIN said more). */
void mig_prefault_rest(const struct mig_prefault *p, uint64_t arena_bytes);
void mig_prefault_join(struct mig_prefault *p);

/* T: memory introspection on a thread from the start of the import; its
 * verdict (rc, why) is taken right before activation (ta/mig_helpers.c). */
struct mig_introspection {
    pthread_t thread;
    int started;
    int rc;
    uint8_t now[TALOS_MEASUREMENT_BYTES];
    char why[200];
    uint64_t cpu_ns; /* the thread's CPU time (the debug log shows it) */
};
void mig_introspect_start(struct mig_introspection *in);
void mig_introspect_join(struct mig_introspection *in);

/* T: until the source is attested, its connection is shut down after a
 * bounded time (ta/mig_helpers.c). */
struct mig_unattested {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int fd, done, started;
};
void mig_unattested_start(struct mig_unattested *u, int fd);
void mig_unattested_end(struct mig_unattested *u);

/* T: what the state stream delivered (ta/mig_receive.c). */
struct mig_received {
    struct talos_mig_begin begin;
    uint64_t t_begin;                   /* when BEGIN came */
    uint8_t root[TALOS_MIG_HASH_BYTES]; /* over the pages in place */
    uint8_t head[TALOS_MIG_HASH_BYTES]; /* the new chain head, as MANIFEST names it */
};
/* T, attested: take the state stream into the arena and ppad (the persist
 * section's pages, plen bytes), up to a MANIFEST whose root and chain head
 * match what arrived. A refusal's reason goes to m->reason. */
int mig_receive(struct mig *m, struct mig_prefault *pf, uint8_t *ppad, size_t plen,
                struct mig_received *out);

/* A PREPARED target whose channel broke keeps what a HANDOFF carried by
 * its node needs: session, lineage, token key, version, head, its own
 * measurement (ta/mig_handoff.c). */
void mig_wait_begin(const struct mig *m, uint64_t version, const uint8_t head[TALOS_MIG_HASH_BYTES]);

#endif
