/* The target's Merkle leaves of the final phase, hashed on a helper thread
 * (ta/mig_leafhash.c). Internal to the TA runtime; trusted code.
 *
 * The target's main thread decrypts a CHUNK into place and posts it; the
 * helper hashes its pages into their leaf slots in the order posted, while
 * the main thread reads the next CHUNK. Receiving is then bound by the
 * slower of the two, not by their sum (D34). A chunk's pages must not be
 * written again after it is posted: final-phase chunks never overlap. */
#ifndef TALOS_TA_LEAFHASH_H
#define TALOS_TA_LEAFHASH_H

#include <pthread.h>
#include <stdint.h>

struct leafhash_job {
    uint64_t first;       /* leaf index of the chunk's first page */
    uint32_t n;           /* pages */
    const uint8_t *pages; /* n pages, in place */
    uint8_t *slots;       /* n leaf slots (32 bytes each), contiguous */
};

struct leafhash {
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* jobs posted, or the end */
    pthread_cond_t idle; /* every job posted is done */
    struct leafhash_job *jobs;
    uint32_t cap, posted, done;
    int end;
    int on;              /* started: posted jobs go here, not to the caller */
};

/* Room for `cap` jobs; a helper thread if one starts (otherwise every job
 * is hashed inline when posted). */
void leafhash_start(struct leafhash *h, uint32_t cap);
/* Hash a chunk's pages into their slots (now, or on the helper). */
void leafhash_post(struct leafhash *h, const struct leafhash_job *j);
/* Wait until every job posted so far is hashed (the helper goes on). */
void leafhash_drain(struct leafhash *h);
/* Every job posted is hashed, the helper has ended. Safe to call twice
 * and on a leafhash never started (all zero). */
void leafhash_finish(struct leafhash *h);

#endif
