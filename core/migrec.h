/* The bodies of the migration records (talos/abi.h): one typed encoder and
 * one decoder per record, shared by the source, the target and the fuzzers
 * (tests/fuzz/fuzz_mig_records.c). Tokens are core/mig.h's (seal and open
 * check their MAC too), thread contexts core/migctx.h's, the lineage key
 * core/cert.h's.
 *
 * Encoders write a fixed-size body into the caller's array (the EVIDENCE
 * record, which varies, into a writer). Decoders take hostile bytes: they
 * read with core/wire.h's bounds-checked reader, want exactly the body's
 * length, and return TALOS_OK or TALOS_ERR_MALFORMED (a short, long or
 * out-of-bounds body) with *out zeroed. What a field means for the session
 * (a version, a sequence number, a chain head) is the receiver's to check:
 * a decoder only says the bytes are a record of that type.
 * Trusted code; no OS dependency. */
#ifndef TALOS_CORE_MIGREC_H
#define TALOS_CORE_MIGREC_H

#include <stddef.h>
#include <stdint.h>

#include "talos/abi.h"

struct talos_wr;

/* HELLO, S -> T: the session S chose, its nonce and the lineage it offers. */
struct talos_mig_hello {
    uint8_t version; /* TALOS_MIG_VERSION */
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t nonce[TALOS_NONCE_BYTES];
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t arena_hint; /* bytes of arena in use: the target pre-faults as much
                          * (unauthenticated until the attestation) */
};
void talos_mig_hello_encode(const struct talos_mig_hello *in, uint8_t out[TALOS_MIG_HELLO_BYTES]);
int talos_mig_hello_decode(const uint8_t *p, size_t n, struct talos_mig_hello *out);

/* HELLO_ACK, T -> S: T's nonce. */
struct talos_mig_hello_ack {
    uint8_t version;
    uint8_t nonce[TALOS_NONCE_BYTES];
};
void talos_mig_hello_ack_encode(const struct talos_mig_hello_ack *in,
                                uint8_t out[TALOS_MIG_HELLO_ACK_BYTES]);
int talos_mig_hello_ack_decode(const uint8_t *p, size_t n, struct talos_mig_hello_ack *out);

/* EVIDENCE, both ways: u32 n ‖ n bytes of evidence (n <= TALOS_EVIDENCE_MAX)
 * ‖ the speaker's binding MAC (TALOS_MIG_BIND_MAC_BYTES, core/migcheck.h).
 * The encoder appends to w (TALOS_ERR_TOO_LARGE for longer evidence,
 * nothing appended). The decoder points *ev and *mac into p (not copied)
 * and wants nothing after the MAC; on failure *ev and *mac are NULL and
 * *ev_len 0. */
int talos_mig_evidence_encode(const uint8_t *ev, size_t ev_len,
                              const uint8_t mac[TALOS_MIG_BIND_MAC_BYTES], struct talos_wr *w);
int talos_mig_evidence_decode(const uint8_t *p, size_t n, const uint8_t **ev, size_t *ev_len,
                              const uint8_t **mac);

/* BEGIN, S -> T, frozen: what the final phase of the stream carries. */
struct talos_mig_begin {
    uint64_t version;       /* the state's version */
    uint64_t arena_bytes;   /* arena pages in use, in bytes */
    uint64_t persist_bytes; /* the image's persist section */
    uint64_t head_version;  /* the version of the last checkpoint */
    uint8_t head[TALOS_MIG_HASH_BYTES]; /* its chain head: the new head chains onto it */
};
void talos_mig_begin_encode(const struct talos_mig_begin *in, uint8_t out[TALOS_MIG_BEGIN_BYTES]);
int talos_mig_begin_decode(const uint8_t *p, size_t n, struct talos_mig_begin *out);

/* CHUNK, S -> T: the header in front of n_pages pages (the pages follow in
 * the same record: the receiver reads them straight into place). seq
 * numbers the CHUNKs of the whole stream, first is the leaf index of the
 * first page (arena pages, then the persist section's). The encoder refuses
 * n_pages outside 1..TALOS_MIG_CHUNK_PAGES (TALOS_ERR_INVALID_ARG); the
 * decoder takes any (the receiver refuses them in the stream's terms). */
struct talos_mig_chunk {
    uint32_t seq;
    uint64_t first;
    uint32_t n_pages;
};
int talos_mig_chunk_encode(const struct talos_mig_chunk *in, uint8_t out[TALOS_MIG_CHUNK_HDR_BYTES]);
int talos_mig_chunk_decode(const uint8_t *p, size_t n, struct talos_mig_chunk *out);

/* MANIFEST, S -> T, after the last CHUNK. */
struct talos_mig_manifest {
    uint32_t n_chunks;                  /* CHUNKs of the whole stream */
    uint8_t root[TALOS_MIG_HASH_BYTES]; /* Merkle root of the state pages */
    uint8_t head[TALOS_MIG_HASH_BYTES]; /* chain(BEGIN's head, version, root) */
};
void talos_mig_manifest_encode(const struct talos_mig_manifest *in,
                               uint8_t out[TALOS_MIG_MANIFEST_BYTES]);
int talos_mig_manifest_decode(const uint8_t *p, size_t n, struct talos_mig_manifest *out);

/* ROUND, S -> T: pre-copy round `round` begins (CHUNKs follow). */
struct talos_mig_round {
    uint32_t round;
    uint64_t arena_pages; /* arena pages in use when the round began */
};
void talos_mig_round_encode(const struct talos_mig_round *in, uint8_t out[TALOS_MIG_ROUND_BYTES]);
int talos_mig_round_decode(const uint8_t *p, size_t n, struct talos_mig_round *out);

/* ROUND_ACK, T -> S: every page of round `round` is in place and hashed. */
void talos_mig_round_ack_encode(uint32_t round, uint8_t out[TALOS_MIG_ROUND_ACK_BYTES]);
int talos_mig_round_ack_decode(const uint8_t *p, size_t n, uint32_t *round);

/* RECEIPT, T -> S: the RECEIPT token (core/mig.h opens it) and the
 * target's phase times, in ns. */
struct talos_mig_receipt {
    uint8_t token[TALOS_TOKEN_BYTES];
    uint64_t restore_ns;  /* T: BEGIN .. PREPARED */
    uint64_t activate_ns; /* T: PREPARED .. RECEIPT */
};
void talos_mig_receipt_encode(const struct talos_mig_receipt *in,
                              uint8_t out[TALOS_MIG_RECEIPT_BYTES]);
int talos_mig_receipt_decode(const uint8_t *p, size_t n, struct talos_mig_receipt *out);

#endif
