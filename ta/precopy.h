/* Pre-copy rounds of a source migration (ta/mig_precopy.c). Internal to
 * the TA runtime. */
#ifndef TALOS_TA_PRECOPY_H
#define TALOS_TA_PRECOPY_H

#include <stdint.h>

#include "ta/mig.h"

struct precopy;

/* Start tracking writes to the arena (between two ecalls); *hint_bytes is
 * the arena in use now. */
int precopy_start(struct precopy **out, uint64_t *hint_bytes);
/* Rounds while the main thread serves, until the convergence rule stops
 * them (m->rep.rounds, m->rep.converged). */
int precopy_rounds(struct mig *m, struct precopy *pc, uint32_t max_rounds);
/* Take the freeze lock: from here no ecall runs until thaw or the end. */
void precopy_freeze(struct precopy *pc);
/* Frozen: BEGIN, the last dirty set, the persist section, MANIFEST. */
int precopy_final(struct mig *m, struct precopy *pc, uint8_t new_head[TALOS_MIG_HASH_BYTES]);
/* The write-tracking method in use (os/wtrack.h enum; 0 none). */
unsigned precopy_method(const struct precopy *pc);
/* Release the freeze lock if held. */
void precopy_thaw(struct precopy *pc);
/* Stop tracking, thaw, free. NULL is ignored. */
void precopy_end(struct precopy *pc);

#endif
