/* Records of the migration protocol, spoken between the source TA (S) and
 * the target TA (T) inside their TLS 1.3 channel (docs/migration.md).
 *
 * A record is u32 body length (big-endian) ‖ u8 type ‖ body; the types,
 * sizes and the version are talos/abi.h's. Every type has a row in the
 * table here: who sends it and its size bounds, checked before the body is
 * read. The tokens and the migration report live here too; the records'
 * bodies have their codecs in core/migrec.h. Trusted code; no OS dependency.
 */
#ifndef TALOS_CORE_MIG_H
#define TALOS_CORE_MIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/cert.h"
#include "core/merkle.h"
#include "talos/abi.h"

/* LINEAGE: u64 epoch ‖ seed[32] ‖ pub0[32] ‖ exec_head[32] ‖ u64 head_version ‖
 * head[32] ‖ u32 n_links ‖ n_links × link (core/cert.h). */
#define TALOS_MIG_LINEAGE_MIN                                                                      \
    (8 + TALOS_ED25519_SEED_BYTES + TALOS_ED25519_PUB_BYTES + TALOS_HASH + 8 + TALOS_HASH + 4)
#define TALOS_MIG_LINEAGE_MAX (TALOS_MIG_LINEAGE_MIN + TALOS_CERT_MAX_LINKS * TALOS_CERT_LINK_BYTES)

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

/* A record's header on the channel: u32 body length ‖ u8 type
 * (TALOS_MIG_HDR bytes). Decoding also checks type, sender and length
 * (talos_mig_check) and answers its refusal. */
void talos_mig_hdr_encode(uint8_t type, uint32_t len, uint8_t out[TALOS_MIG_HDR]);
int talos_mig_hdr_decode(const uint8_t in[TALOS_MIG_HDR], uint8_t from, uint8_t *type,
                         uint32_t *len);

/* A token: a statement one side makes about a session that the nodes may
 * carry and resend but cannot forge. mac = HMAC(K_tok, kind ‖ session ‖
 * lineage ‖ version ‖ head ‖ code). Encoded: u8 kind ‖ session ‖ lineage ‖
 * u64 version ‖ head ‖ i32 code ‖ mac (TALOS_TOKEN_BYTES, talos/abi.h). */
struct talos_token {
    uint8_t kind; /* the record type it stands for: PREPARED, HANDOFF, RECEIPT, ABORT */
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;
    uint8_t head[TALOS_MIG_HASH_BYTES];
    int32_t code; /* ABORT: the talos_err that failed the target; 0 otherwise */
    uint8_t mac[TALOS_TOKEN_MAC_BYTES];
};

/* Fill t->mac and encode into out[TALOS_TOKEN_BYTES]. */
int talos_token_seal(struct talos_token *t, const uint8_t key[TALOS_MIG_KEY_BYTES], uint8_t *out);
/* Decode only: the clear fields of a token, checked by no one. What a node
 * reads to route and keep tokens it carries (it has no key); never a
 * decision a TA relies on. TALOS_ERR_MALFORMED (*out zeroed) or TALOS_OK. */
int talos_token_decode(const uint8_t *in, size_t len, struct talos_token *out);
/* Decode and check the MAC (constant time) and that kind, session and
 * lineage are the expected ones. TALOS_ERR_MALFORMED, TALOS_ERR_MAC or
 * TALOS_ERR_PROTOCOL (a valid token of another kind/session/lineage). */
int talos_token_open(const uint8_t *in, size_t len, const uint8_t key[TALOS_MIG_KEY_BYTES],
                     uint8_t kind, const uint8_t session[TALOS_SESSION_BYTES],
                     const uint8_t lineage[TALOS_LINEAGE_BYTES], struct talos_token *out);

/* What a migration reports to its host (times in ns, measured in the TAs). */
struct talos_mig_report {
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;
    uint8_t head[TALOS_MIG_HASH_BYTES];
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
