/* Stop-and-copy at the source (ta/mig_prehash.c). Internal to the TA
 * runtime; trusted code.
 *
 * The state's pages are hashed by two threads that meet (D13, revised in
 * D32, D33 and D39). They start at the freeze, after the channel set-up
 * and the attestation, during which the TA serves calls. The persist
 * section is copied and hashed at once (a few pages; the copy is what is
 * sent). A helper at nice 19 hashes the arena chunk by chunk from the
 * *back*, whenever a core is idle (the stream waiting for the socket, the
 * target faulting its arena in). The stream hashes from the front, each
 * chunk right before it
 * encrypts it. Each chunk is claimed once, by whoever gets to it first;
 * when the stream meets the helper's first chunk it joins the helper,
 * which by then has hashed, or is finishing, every arena chunk from there
 * on. Either way the last arena chunk is hashed before it is sent, and no
 * later than any other. Stop-and-copy holds the freeze lock from the
 * freeze to the end, so no ecall writes a page between its hash and its
 * send. */
#ifndef TALOS_TA_PREHASH_H
#define TALOS_TA_PREHASH_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/merkle.h"
#include "ta/mig.h"

struct prehash {
    pthread_t thread;
    int started;
    const uint8_t *base; /* arena */
    uint64_t a_pages, total;
    uint32_t a_chunks, n_chunks;
    uint8_t *ppad;       /* persist section, padded to whole pages */
    uint8_t *leaves;
    uint8_t root[TALOS_HASH];
    _Atomic uint8_t *claim;     /* per chunk: taken by the stream or the helper */
    _Atomic int stop;           /* a failure: the helper ends after its chunk */
    int all;                    /* every page hashed (the stream knows) */
    uint64_t ns, helper_ns;     /* CPU time spent hashing, stream and helper */
};

/* Copy the persist section, hash it, and start the helper on the arena
 * (quiescent: the caller holds the freeze lock). TALOS_ERR_NOMEM; without
 * a helper thread the stream hashes every page itself. */
int prehash_start(struct prehash *h);
/* BEGIN, CHUNKs (arena pages, then persist pages), MANIFEST; new_head the
 * chain head the MANIFEST names. */
int prehash_stream(struct mig *m, struct prehash *h, uint8_t new_head[TALOS_MIG_HASH_BYTES]);
/* Stop and join the helper, wipe the persist copy, free; safe on a zeroed h. */
void prehash_end(struct prehash *h);

#endif
