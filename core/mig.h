/* Records of the migration protocol, spoken between the source TA (S) and
 * the target TA (T) inside their TLS 1.3 channel (docs/migration.md).
 *
 * A record is u32 body length (big-endian) ‖ u8 type ‖ body. Every type has
 * a row in the table: who sends it, in which phase, and its size bounds,
 * checked before the body is read. Trusted code; no OS dependency.
 */
#ifndef TALOS_CORE_MIG_H
#define TALOS_CORE_MIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/merkle.h"

#define TALOS_MIG_VERSION 1
#define TALOS_MIG_HDR 5
#define TALOS_MIG_CHUNK_PAGES 64 /* 256 KiB per CHUNK record */
#define TALOS_SESSION_BYTES 16

enum talos_mig_type {
    TALOS_MIG_HELLO = 1,     /* S: u8 version ‖ session[16] ‖ nonce[32] ‖ lineage[16] ‖ u64 arena size hint */
    TALOS_MIG_HELLO_ACK = 2, /* T: u8 version ‖ nonce[32] */
    TALOS_MIG_EVIDENCE = 3,  /* both: bytes evidence */
    TALOS_MIG_BEGIN = 4,     /* S: u64 version ‖ u64 arena_bytes ‖ u64 persist_bytes ‖ u64 head_version ‖ head[32] */
    TALOS_MIG_CHUNK = 5,     /* S: u32 seq ‖ u64 first_page ‖ u32 n_pages ‖ n_pages×4096 raw */
    TALOS_MIG_MANIFEST = 6,  /* S: u32 n_chunks ‖ root[32] ‖ head[32] */
    TALOS_MIG_PREPARED = 7,  /* T: token */
    TALOS_MIG_HANDOFF = 8,   /* S: token */
    TALOS_MIG_RECEIPT = 9,   /* T: token ‖ u64 restore_ns ‖ u64 activate_ns */
    TALOS_MIG_ABORT = 10,    /* T: token (reason in the token's code field) */
    TALOS_MIG_THREADS = 11,  /* S, after MANIFEST: thread contexts (core/migctx.h) */
    TALOS_MIG_ROUND = 12,    /* S: u32 round ‖ u64 arena pages so far: a pre-copy round
                              * of CHUNKs follows, sent while S still serves */
    TALOS_MIG_ROUND_ACK = 13, /* T: u32 round: every page of that round is in place
                               * and hashed (flow control: S freezes only once T
                               * has caught up) */
    TALOS_MIG_LINEAGE = 14,  /* S, frozen, before BEGIN: the lineage key and execution record (ta/cert.c) */
};

/* LINEAGE: u64 epoch ‖ seed[32] ‖ pub0[32] ‖ exec_head[32] ‖ u64 head_version ‖
 * head[32] ‖ u32 n_links ‖ n_links × link (core/cert.h). */
#define TALOS_MIG_LINEAGE_MIN (8 + 32 + 32 + 32 + 8 + 32 + 4)
#define TALOS_MIG_LINEAGE_MAX (TALOS_MIG_LINEAGE_MIN + 1024 * (8 + 32 + 8 + 32 + 64))

#define TALOS_MIG_FROM_S 1
#define TALOS_MIG_FROM_T 2

struct talos_mig_desc {
    uint8_t type;
    const char *name;
    uint8_t from;
    uint32_t min_len, max_len;
};

const struct talos_mig_desc *talos_mig_find(uint8_t type);
/* TALOS_OK, TALOS_ERR_PROTOCOL (unknown type or wrong sender),
 * TALOS_ERR_MALFORMED / TALOS_ERR_TOO_LARGE (length out of bounds). */
int talos_mig_check(uint8_t type, uint8_t from, uint32_t len);

/* A token: a statement one side makes about a session that the nodes may
 * carry and resend but cannot forge. mac = HMAC(K_tok, kind ‖ session ‖
 * lineage ‖ version ‖ head ‖ code). Encoded: u8 kind ‖ session[16] ‖
 * lineage[16] ‖ u64 version ‖ head[32] ‖ i32 code ‖ mac[32]. */
#define TALOS_TOKEN_BYTES (1 + 16 + 16 + 8 + 32 + 4 + 32)

struct talos_token {
    uint8_t kind; /* the record type it stands for: PREPARED, HANDOFF, RECEIPT, ABORT */
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t lineage[16];
    uint64_t version;
    uint8_t head[TALOS_HASH];
    int32_t code; /* ABORT: the talos_err that failed the target; 0 otherwise */
    uint8_t mac[TALOS_HASH];
};

/* Fill t->mac and encode into out[TALOS_TOKEN_BYTES]. */
int talos_token_seal(struct talos_token *t, const uint8_t key[32], uint8_t *out);
/* Decode and check the MAC (constant time) and that kind, session and
 * lineage are the expected ones. TALOS_ERR_MALFORMED, TALOS_ERR_MAC or
 * TALOS_ERR_PROTOCOL (a valid token of another kind/session/lineage). */
int talos_token_open(const uint8_t *in, size_t len, const uint8_t key[32], uint8_t kind,
                     const uint8_t session[TALOS_SESSION_BYTES], const uint8_t lineage[16],
                     struct talos_token *out);



/* What a migration reports to its host (times in ns, measured in the TAs). */
struct talos_mig_report {
    uint8_t lineage[16];
    uint64_t version;
    uint8_t head[TALOS_HASH];
    uint64_t prepare_ns;    /* S: channel + mutual attestation */
    uint64_t checkpoint_ns; /* S: hashing state pages (overlaps transfer) */
    uint64_t transfer_ns;   /* S: BEGIN .. MANIFEST sent (pipelined) */
    uint64_t restore_ns;    /* T: BEGIN .. PREPARED (install + verify) */
    uint64_t activate_ns;   /* S: HANDOFF sent .. RECEIPT */
    uint64_t downtime_ns;   /* S: frozen .. RECEIPT */
    uint64_t total_ns;      /* S: MIGRATE_OUT .. RECEIPT */
    uint64_t state_bytes;   /* bytes of state pages sent (all rounds) */
    uint64_t frozen_bytes;  /* S: bytes sent while frozen (the last round) */
    uint64_t cpu_ns; /* CPU time of the reporting TA (all its threads) during the migration */
    uint32_t rounds;        /* S: pre-copy rounds before the freeze (0: stop-and-copy) */
    uint8_t converged;      /* S: TALOS_PRECOPY_* why the pre-copy stopped */
    uint8_t wtrack;         /* S: write-tracking method (os/wtrack.h), 0 none */
    uint8_t token_kind;     /* 0, or the kind of `token`: HANDOFF (in doubt) or ABORT */
    uint8_t token[TALOS_TOKEN_BYTES];
};

/* Why a pre-copy stopped copying and froze the source. */
enum {
    TALOS_PRECOPY_NONE = 0,      /* stop-and-copy */
    TALOS_PRECOPY_CONVERGED = 1, /* the dirty set became small */
    TALOS_PRECOPY_ROUNDS = 2,    /* the round limit was reached */
    TALOS_PRECOPY_NOT_SHRINKING = 3, /* pages are written as fast as they are sent */
};
const char *talos_precopy_reason(unsigned code);
/* Name of a write-tracking method code (enum talos_wtrack_method in
 * os/wtrack.h; 0 = none). */
const char *talos_wtrack_name(unsigned code);

struct talos_wr;
void talos_mig_report_encode(const struct talos_mig_report *r, struct talos_wr *w);
int talos_mig_report_decode(const uint8_t *p, size_t n, struct talos_mig_report *r);

#endif
