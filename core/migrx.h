/* The state stream as a migration target takes it (docs/migration.md,
 * docs/precopy.md): which record may come in which phase, where each
 * CHUNK's pages may go, and whether the MANIFEST covers what came. Pre-copy
 * ROUNDs of CHUNKs (optional), the LINEAGE key, BEGIN, the final CHUNKs,
 * MANIFEST.
 *
 * This is the stream's bookkeeping only — no I/O, no hashing: the TA reads
 * each CHUNK's pages into the place talos_mig_rx_chunk gives, hashes them,
 * and asks talos_mig_rx_verify about the root it computed. Every function
 * returns TALOS_OK or the refusal the target sends (a talos_err) with a
 * one-line reason in *why (static text), and leaves the stream unusable
 * after a refusal (the target fails as a whole). Shared by the TA runtime
 * (ta/mig_receive.c) and the fuzzer (tests/fuzz/fuzz_mig_bodies.c).
 * Trusted code; no OS dependency. */
#ifndef TALOS_CORE_MIGRX_H
#define TALOS_CORE_MIGRX_H

#include <stddef.h>
#include <stdint.h>

#include "core/migrec.h"

/* Phases, as bits (a record's row names the phases it may come in). */
#define TALOS_MIG_RX_OPEN 0x01u         /* nothing yet */
#define TALOS_MIG_RX_ROUNDS 0x02u       /* pre-copy rounds began; no lineage key yet */
#define TALOS_MIG_RX_KEYED 0x04u        /* the lineage key came; no round */
#define TALOS_MIG_RX_ROUNDS_KEYED 0x08u /* both */
#define TALOS_MIG_RX_FINAL 0x10u        /* BEGIN came: the frozen state's CHUNKs, MANIFEST */
#define TALOS_MIG_RX_BEFORE_BEGIN \
    (TALOS_MIG_RX_OPEN | TALOS_MIG_RX_ROUNDS | TALOS_MIG_RX_KEYED | TALOS_MIG_RX_ROUNDS_KEYED)

struct talos_mig_rx {
    uint64_t max_arena;     /* pages of the arena region: a round may write any */
    uint64_t persist_bytes; /* this image's persist section */
    uint64_t p_pages;       /* in pages; they follow the arena's in the leaf numbering */
    struct talos_mig_begin begin; /* valid in FINAL */
    uint64_t *have;  /* leaf indices received at least once */
    uint64_t high;   /* highest arena page written + 1 */
    uint32_t seq;    /* CHUNKs so far, all rounds */
    int64_t round;   /* current pre-copy round; -1 none yet */
    int final;       /* BEGIN came */
    int keyed;       /* LINEAGE came */
    uint64_t next;   /* lowest page the next CHUNK of this round may start at */
};

/* Where a CHUNK's pages go. */
struct talos_mig_rx_place {
    int persist;   /* 0: arena pages from `page`; 1: persist pages from `page` */
    uint64_t page; /* first page, counted inside its region */
    uint64_t leaf; /* leaf index of the first page (arena pages, then persist) */
    uint32_t n;    /* pages, contiguous in the region and in the leaves */
};

/* An empty stream for an arena region of arena_max_bytes and a persist
 * section of persist_bytes. TALOS_ERR_NOMEM. */
int talos_mig_rx_init(struct talos_mig_rx *x, uint64_t arena_max_bytes, uint64_t persist_bytes);
void talos_mig_rx_free(struct talos_mig_rx *x);

/* The current phase (one TALOS_MIG_RX_* bit). */
unsigned talos_mig_rx_phase(const struct talos_mig_rx *x);

/* Each step below also refuses a record out of its phase, with the error
 * and reason the target's record table (ta/mig_receive.c) gives it, so that
 * the stream stays consistent whoever drives it. */

/* LINEAGE (its body is core/cert.h's): once, before BEGIN (PROTOCOL). */
int talos_mig_rx_lineage(struct talos_mig_rx *x, const char **why);

/* ROUND: rounds come in order, before BEGIN (PROTOCOL). *acked is the
 * round it completes, which the target acknowledges (-1: none, the first). */
int talos_mig_rx_round(struct talos_mig_rx *x, const struct talos_mig_round *r, int64_t *acked,
                       const char **why);

/* BEGIN: after the lineage key, once (PROTOCOL); an arena in whole pages
 * within the region, this image's persist size, a chain head not newer
 * than the state (MALFORMED). The final phase
 * begins: its CHUNKs start at page 0 again, and every persist page must
 * come in it whatever the rounds sent. */
int talos_mig_rx_begin(struct talos_mig_rx *x, const struct talos_mig_begin *b, const char **why);

/* A CHUNK header and its record's length: numbered without gaps over the
 * whole stream, ascending and not overlapping within a round, whole pages
 * matching the record, inside one region (PROTOCOL). On TALOS_OK *pl says
 * where its pages go, and they count as received. */
int talos_mig_rx_chunk(struct talos_mig_rx *x, const struct talos_mig_chunk *c, uint32_t rec_len,
                       struct talos_mig_rx_place *pl, const char **why);

/* Pages of the final state (arena pages of BEGIN, then persist pages);
 * 0 before BEGIN. */
uint64_t talos_mig_rx_total(const struct talos_mig_rx *x);

/* MANIFEST: after BEGIN; it counts every CHUNK that came, and every page
 * of the final state came (PROTOCOL). */
int talos_mig_rx_manifest(const struct talos_mig_rx *x, const struct talos_mig_manifest *m,
                          const char **why);

/* The root the target computed over the pages it holds: it must be the
 * MANIFEST's, and head = chain(BEGIN's head, version, root) the MANIFEST's
 * head (MAC). head is set either way. */
int talos_mig_rx_verify(const struct talos_mig_rx *x, const struct talos_mig_manifest *m,
                        const uint8_t root[TALOS_MIG_HASH_BYTES],
                        uint8_t head[TALOS_MIG_HASH_BYTES], const char **why);

#endif
