/* TALOS — the migration protocol's ABI: what two TAs (and the nodes that
 * carry their tokens) must agree on byte for byte. Record types, token
 * kinds, field and record sizes, the protocol version (docs/migration.md).
 *
 * Plain constants, no declarations: trusted code (core/, ta/), the node and
 * the tests include it alike. The layouts below are those of core/migrec.h
 * and core/mig.h, whose codecs are the only code that reads or writes them;
 * every integer is big-endian.
 */
#ifndef TALOS_ABI_H
#define TALOS_ABI_H

/* The version a HELLO and a HELLO_ACK name; a peer speaking another one is
 * refused (PROTOCOL). 2: evidence made ahead, bound by a MAC (D44). */
#define TALOS_MIG_VERSION 2

/* A record is u32 body length ‖ u8 type ‖ body. */
#define TALOS_MIG_HDR 5

/* Field sizes. The lineage, nonce, evidence and report-data sizes are the
 * host API's too
 * (talos/talos.h defines them identically: C allows an identical
 * redefinition, and the compiler refuses a divergent one wherever both
 * headers are included: the TA runtime's migration code includes both). */
#define TALOS_SESSION_BYTES 16
#define TALOS_LINEAGE_BYTES 16
#define TALOS_NONCE_BYTES 32
#define TALOS_EVIDENCE_MAX 8192
#define TALOS_REPORT_DATA_BYTES 64 /* what evidence binds: a migration's channel (core/migcheck.h) */
#define TALOS_MIG_HASH_BYTES 32 /* a chain head, a state root, a MAC */
#define TALOS_MIG_KEY_BYTES 32  /* the token key, the channel binding */
#define TALOS_MIG_BIND_MAC_BYTES 32 /* an EVIDENCE record's binding MAC (core/migcheck.h) */
#define TALOS_MIG_PAGE_BYTES 4096
#define TALOS_MIG_CHUNK_PAGES 64 /* at most 256 KiB of pages per CHUNK record */

/* Record types (u8). Who sends each and its size bounds: core/mig.c. */
enum talos_mig_type {
    TALOS_MIG_HELLO = 1,      /* S: u8 version ‖ session ‖ nonce ‖ lineage ‖ u64 arena size hint */
    TALOS_MIG_HELLO_ACK = 2,  /* T: u8 version ‖ nonce */
    TALOS_MIG_EVIDENCE = 3,   /* both: u32 n ‖ n bytes of evidence ‖ binding MAC */
    TALOS_MIG_BEGIN = 4,      /* S: u64 version ‖ u64 arena_bytes ‖ u64 persist_bytes ‖
                               * u64 head_version ‖ head */
    TALOS_MIG_CHUNK = 5,      /* S: u32 seq ‖ u64 first_page ‖ u32 n_pages ‖ n_pages pages */
    TALOS_MIG_MANIFEST = 6,   /* S: u32 n_chunks ‖ root ‖ head */
    TALOS_MIG_PREPARED = 7,   /* T: token */
    TALOS_MIG_HANDOFF = 8,    /* S: token */
    TALOS_MIG_RECEIPT = 9,    /* T: token ‖ u64 restore_ns ‖ u64 activate_ns */
    TALOS_MIG_ABORT = 10,     /* T: token (the refusal in its code field) */
    TALOS_MIG_THREADS = 11,   /* S, after MANIFEST: thread contexts (core/migctx.h) */
    TALOS_MIG_ROUND = 12,     /* S: u32 round ‖ u64 arena pages so far: a pre-copy round
                               * of CHUNKs follows, sent while S still serves */
    TALOS_MIG_ROUND_ACK = 13, /* T: u32 round: every page of that round is in place and
                               * hashed (S freezes only once T has caught up) */
    TALOS_MIG_LINEAGE = 14,   /* S, frozen, before BEGIN: the lineage key and execution
                               * record (core/cert.h) */
};

/* Token kinds are the record types they stand for: PREPARED, HANDOFF,
 * RECEIPT, ABORT. A token is u8 kind ‖ session ‖ lineage ‖ u64 version ‖
 * head ‖ i32 code ‖ mac, mac = HMAC-SHA-256(token key, every byte before). */
#define TALOS_TOKEN_MAC_BYTES TALOS_MIG_HASH_BYTES
#define TALOS_TOKEN_BYTES                                                                  \
    (1 + TALOS_SESSION_BYTES + TALOS_LINEAGE_BYTES + 8 + TALOS_MIG_HASH_BYTES + 4 +       \
     TALOS_TOKEN_MAC_BYTES)

/* Record body sizes (fixed-size records). */
#define TALOS_MIG_HELLO_BYTES (1 + TALOS_SESSION_BYTES + TALOS_NONCE_BYTES + TALOS_LINEAGE_BYTES + 8)
#define TALOS_MIG_HELLO_ACK_BYTES (1 + TALOS_NONCE_BYTES)
#define TALOS_MIG_EVIDENCE_MIN (4 + TALOS_MIG_BIND_MAC_BYTES)
#define TALOS_MIG_EVIDENCE_MAX_BYTES (4 + TALOS_EVIDENCE_MAX + TALOS_MIG_BIND_MAC_BYTES)
#define TALOS_MIG_BEGIN_BYTES (8 + 8 + 8 + 8 + TALOS_MIG_HASH_BYTES)
#define TALOS_MIG_CHUNK_HDR_BYTES (4 + 8 + 4)
#define TALOS_MIG_CHUNK_MIN (TALOS_MIG_CHUNK_HDR_BYTES + TALOS_MIG_PAGE_BYTES)
#define TALOS_MIG_CHUNK_MAX (TALOS_MIG_CHUNK_HDR_BYTES + TALOS_MIG_CHUNK_PAGES * TALOS_MIG_PAGE_BYTES)
#define TALOS_MIG_MANIFEST_BYTES (4 + TALOS_MIG_HASH_BYTES + TALOS_MIG_HASH_BYTES)
#define TALOS_MIG_RECEIPT_BYTES (TALOS_TOKEN_BYTES + 8 + 8)
#define TALOS_MIG_ROUND_BYTES (4 + 8)
#define TALOS_MIG_ROUND_ACK_BYTES 4

/* Who may send a record (a bit set). */
#define TALOS_MIG_FROM_S 1
#define TALOS_MIG_FROM_T 2

#endif
