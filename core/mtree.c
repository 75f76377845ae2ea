#include "core/mtree.h"

#include <stdlib.h>
#include <string.h>

#include "talos/err.h"

/* Nodes of level k for n leaves. */
static size_t count(size_t n, unsigned k)
{
    return k >= 64 ? (n > 0) : (n + ((size_t)1 << k) - 1) >> k;
}

static size_t words(size_t nodes) { return (nodes + 63) / 64; }

static int grow(struct talos_mtree *t, size_t cap)
{
    size_t want = t->cap ? t->cap : 1024;
    while (want < cap)
        want *= 2;
    for (unsigned k = 0; k < TALOS_MTREE_LEVELS; k++) {
        size_t old_n = count(t->cap, k), new_n = count(want, k);
        uint8_t *l = realloc(t->lvl[k], (new_n ? new_n : 1) * TALOS_HASH);
        if (!l)
            return TALOS_ERR_NOMEM;
        t->lvl[k] = l;
        uint64_t *d = realloc(t->dirty[k], words(new_n ? new_n : 1) * sizeof(uint64_t));
        if (!d)
            return TALOS_ERR_NOMEM;
        memset(d + words(old_n), 0, (words(new_n ? new_n : 1) - words(old_n)) * sizeof(uint64_t));
        t->dirty[k] = d;
    }
    t->cap = want;
    return TALOS_OK;
}

int talos_mtree_init(struct talos_mtree *t, size_t cap)
{
    memset(t, 0, sizeof(*t));
    return grow(t, cap ? cap : 1);
}

void talos_mtree_free(struct talos_mtree *t)
{
    for (unsigned k = 0; k < TALOS_MTREE_LEVELS; k++) {
        free(t->lvl[k]);
        free(t->dirty[k]);
    }
    memset(t, 0, sizeof(*t));
}

uint8_t *talos_mtree_leaf(struct talos_mtree *t, size_t i)
{
    if (i >= t->cap && grow(t, i + 1) != TALOS_OK)
        return NULL;
    t->dirty[0][i / 64] |= 1ull << (i % 64);
    return t->lvl[0] + i * TALOS_HASH;
}

/* Parents p0 .. p0 + run - 1 of level k + 1 from their children. */
static void nodes(struct talos_mtree *t, unsigned k, size_t p0, size_t run)
{
    talos_merkle_nodes(t->lvl[k] + 2 * p0 * TALOS_HASH, run, t->lvl[k + 1] + p0 * TALOS_HASH);
}

int talos_mtree_root(struct talos_mtree *t, size_t n, uint8_t out[TALOS_HASH])
{
    if (n > t->cap)
        return TALOS_ERR_INVALID_ARG;
    if (n == 0) {
        talos_merkle_empty(out);
        return TALOS_OK;
    }
    /* The paths of the last leaf, now and at the previous root, depend on
     * n; nodes that come into range when n grows may be stale from an
     * older n: recompute all of them. */
    for (size_t i = t->last_n; i < n; i++)
        t->dirty[0][i / 64] |= 1ull << (i % 64);
    if (t->last_n && t->last_n <= n)
        t->dirty[0][(t->last_n - 1) / 64] |= 1ull << ((t->last_n - 1) % 64);
    t->dirty[0][(n - 1) / 64] |= 1ull << ((n - 1) % 64);
    t->last_n = n;
    unsigned k = 0;
    for (; count(n, k) > 1; k++) {
        size_t nk = count(n, k), np = count(n, k + 1);
        uint64_t *d = t->dirty[k], *dp = t->dirty[k + 1];
        for (size_t w = 0; w < words(nk); w++) {
            uint64_t bits = d[w];
            while (bits) {
                size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                if (i >= nk)
                    continue; /* beyond n now: kept for when n grows back */
                d[w] &= ~(1ull << (i % 64));
                size_t p = i / 2;
                dp[p / 64] |= 1ull << (p % 64);
            }
        }
        /* Compute the marked parents, each run of consecutive ones in one
         * batch (their children are consecutive too). */
        size_t p0 = 0, run = 0;
        for (size_t w = 0; w < words(np); w++) {
            uint64_t bits = dp[w];
            while (bits) {
                size_t p = w * 64 + (size_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                if (2 * p + 1 >= nk) { /* odd one out: promoted unchanged */
                    memcpy(t->lvl[k + 1] + p * TALOS_HASH, t->lvl[k] + 2 * p * TALOS_HASH,
                           TALOS_HASH);
                    continue;
                }
                if (run && p == p0 + run) {
                    run++;
                    continue;
                }
                nodes(t, k, p0, run);
                p0 = p;
                run = 1;
            }
        }
        nodes(t, k, p0, run);
    }
    /* Level k holds one node: the root. Its dirty mark is spent. */
    t->dirty[k][0] &= ~1ull;
    memcpy(out, t->lvl[k], TALOS_HASH);
    return TALOS_OK;
}
