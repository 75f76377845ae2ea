/* An incremental Merkle tree over state pages: the same root as
 * talos_merkle_root (core/merkle.h) for the same leaves, but after k leaves
 * change, the new root costs O(k log n) hashes instead of O(n).
 *
 * Pre-copy needs it: 256 MiB of state is 65 536 leaves, and a full root
 * costs ~16 ms — more than the whole downtime budget — while the last round
 * changes only a few hundred pages (docs/precopy.md).
 *
 * Why it works: in talos_merkle_root's shape (pairs, odd one promoted), the
 * node j of level k covers the leaves [j·2^k, (j+1)·2^k) ∩ [0, n). A node
 * whose span lies wholly inside [0, n) does not depend on n; only the nodes
 * on the path of the last leaf do. So the tree keeps every node it has
 * computed, marks the ancestors of changed leaves, and always recomputes
 * the path of leaf n-1. Trusted code; no OS dependency.
 */
#ifndef TALOS_CORE_MTREE_H
#define TALOS_CORE_MTREE_H

#include <stddef.h>
#include <stdint.h>

#include "core/merkle.h"

#define TALOS_MTREE_LEVELS 48

struct talos_mtree {
    size_t cap;                         /* leaves the levels have room for */
    size_t last_n;                      /* n of the previous root */
    uint8_t *lvl[TALOS_MTREE_LEVELS];   /* lvl[k][32*j]: node j of level k */
    uint64_t *dirty[TALOS_MTREE_LEVELS]; /* bit j: node j must be recomputed */
};

/* Room for `cap` leaves (grown on demand by talos_mtree_leaf). */
int talos_mtree_init(struct talos_mtree *t, size_t cap);
void talos_mtree_free(struct talos_mtree *t);

/* The slot of leaf i (32 bytes), marked changed; the caller writes the
 * leaf hash into it. NULL only when growing the tree fails (NOMEM). */
uint8_t *talos_mtree_leaf(struct talos_mtree *t, size_t i);

/* Root over leaves [0, n): every one of them must have been set. */
int talos_mtree_root(struct talos_mtree *t, size_t n, uint8_t out[TALOS_HASH]);

#endif
