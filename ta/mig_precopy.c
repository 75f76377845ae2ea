/* Pre-copy (docs/precopy.md): the source copies its state in rounds while
 * its main thread goes on serving calls, tracking the pages written
 * meanwhile (os/wtrack.h), and freezes only for the last, small dirty set.
 *
 * Why it is safe: tracking starts, under the freeze lock, before any page
 * is read; a collect re-arms a page before its contents are read again, so
 * a write after a page's copy is always in a later dirty set; the last set
 * is taken with the state frozen. Each page's leaf hash is taken as it is
 * sent, and the root covers the latest leaf of every page: the target,
 * which hashes what it receives, reaches the same root only if the last
 * copy of every page it holds equals the frozen state. Every round runs
 * inside the attested channel, under every check of version 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migrec.h"
#include "core/mtree.h"
#include "core/wire.h"
#include "os/wtrack.h"
#include "ta/arena.h"
#include "ta/fault.h"
#include "ta/mig.h"
#include "ta/precopy.h"
#include "ta/rt.h"

/* The dirty set that is small enough to send frozen: 64 pages (256 KiB)
 * cost ~1 ms frozen here (hash, encrypt, install, hash again); a larger
 * threshold froze ~1 MiB under a steady write load, ~5 ms (bench/RESULTS.md). */
#define FINAL_PAGES 64u
/* Pages tracked beyond the arena's top at the start, for its growth; pages
 * beyond the tracked range are sent in every round. */
#define TRACK_SLACK_PAGES (64u << 8) /* 64 MiB */

struct precopy {
    uint8_t *base;
    struct talos_wtrack *wt;
    uint64_t track_pages;
    uint64_t cap;       /* bits in dirty and sent */
    uint64_t *dirty;    /* pages to send next */
    uint64_t *sent;     /* pages sent at least once */
    struct talos_mtree tree;
    uint8_t *ppad;      /* persist section, padded to whole pages */
    uint64_t p_pages;
    uint32_t seq;
    int frozen;         /* we hold talos_rt.freeze */
};

static int bit(const uint64_t *b, uint64_t i) { return (int)(b[i / 64] >> (i % 64) & 1); }
static void set_bit(uint64_t *b, uint64_t i) { b[i / 64] |= 1ull << (i % 64); }

static uint64_t arena_pages(void) { return talos_arena_used_bytes() / TALOS_PAGE; }

/* The arena's extent, read between two ecalls (not torn by one). */
static uint64_t arena_pages_quiescent(struct precopy *pc)
{
    uint64_t n = 0;
    if (!pc->frozen)
        pthread_mutex_lock(&talos_rt.freeze);
    n = arena_pages();
    if (!pc->frozen)
        pthread_mutex_unlock(&talos_rt.freeze);
    return n;
}

/* The leaves of the n pages from `first` (contiguous at `pages`) into the
 * tree, hashed in one batch. Slots marked from the last down: only the
 * first call may grow the tree and move the slots. */
static int hash_run(struct precopy *pc, uint64_t first, uint32_t n, const uint8_t *pages)
{
    uint8_t *slots = NULL;

    for (uint32_t j = n; j-- > 0;)
        if (!(slots = talos_mtree_leaf(&pc->tree, first + j)))
            return TALOS_ERR_NOMEM;
    talos_merkle_leaves(first, pages, n, slots);
    return TALOS_OK;
}

/* Send the marked pages below `limit` (and everything untracked below it),
 * hashing each run as it goes; clears the marks it sends. Runs of contiguous
 * pages share a CHUNK, and are hashed in one batch. */
static int send_marked(struct mig *m, struct precopy *pc, uint64_t limit, uint64_t *npages)
{
    uint64_t i = 0;
    int rc = TALOS_OK;

    *npages = 0;
    while (i < limit) {
        if (i < pc->track_pages && !bit(pc->dirty, i)) {
            i++;
            continue;
        }
        uint64_t first = i;
        uint32_t n = 0;
        while (i < limit && n < TALOS_MIG_CHUNK_PAGES && (i >= pc->track_pages || bit(pc->dirty, i))) {
            pc->dirty[i / 64] &= ~(1ull << (i % 64));
            set_bit(pc->sent, i);
            i++;
            n++;
        }
        /* Hashed right before it is sent, as before: a write after the
         * collect that marked these pages is in the next set either way. */
        if ((rc = hash_run(pc, first, n, pc->base + first * TALOS_PAGE)) != TALOS_OK ||
            (rc = mig_send_chunk(m, pc->seq++, first, n, pc->base + first * TALOS_PAGE)) != TALOS_OK)
            return rc;
        *npages += n;
        TALOS_FAULT(pc->seq == 2 ? "source.after_2_chunks" : NULL);
    }
    return TALOS_OK;
}

static int round_begin(struct mig *m, uint32_t round, uint64_t pages)
{
    const struct talos_mig_round r = {.round = round, .arena_pages = pages};
    uint8_t body[TALOS_MIG_ROUND_BYTES];

    talos_mig_round_encode(&r, body);
    return talos_chan_send(&m->ch, TALOS_MIG_ROUND, body, sizeof(body), NULL, 0);
}

/* The target has installed and hashed every page of `round`. */
static int await_ack(struct mig *m, uint32_t round)
{
    uint8_t buf[TALOS_TOKEN_BYTES], got = 0; /* an ABORT fits too */
    uint32_t len = 0, acked = 0;
    int rc = mig_recv(m, TALOS_MIG_ROUND_ACK, &got, buf, sizeof(buf), &len);

    if (rc != TALOS_OK)
        return rc;
    if (got == TALOS_MIG_ABORT)
        return mig_abort_code(m, buf, len);
    if ((rc = talos_mig_round_ack_decode(buf, len, &acked)) != TALOS_OK)
        return rc;
    if (acked != round) {
        snprintf(m->reason, sizeof(m->reason), "target acknowledged round %u, not %u", acked,
                 round);
        return TALOS_ERR_PROTOCOL;
    }
    return TALOS_OK;
}

static int collect(struct precopy *pc, size_t *nd)
{
    return talos_wtrack_collect(pc->wt, pc->dirty, pc->track_pages, nd);
}

int precopy_start(struct precopy **out, uint64_t *hint_bytes)
{
    struct precopy *pc = calloc(1, sizeof(*pc));
    int rc = TALOS_ERR_NOMEM;

    *out = NULL;
    if (!pc)
        return rc;
    pc->base = (uint8_t *)talos_arena_base();
    pc->cap = TALOS_ARENA_MAX / TALOS_PAGE;
    pthread_mutex_lock(&talos_rt.freeze);
    uint64_t a = arena_pages();
    pc->track_pages = a + TRACK_SLACK_PAGES > pc->cap ? pc->cap : a + TRACK_SLACK_PAGES;
    /* Tracking starts between two ecalls, before any page is read. */
    rc = talos_wtrack_start(pc->base, pc->track_pages * TALOS_PAGE, TALOS_WTRACK_AUTO, &pc->wt);
    pthread_mutex_unlock(&talos_rt.freeze);
    if (rc != TALOS_OK)
        goto fail;
    rc = TALOS_ERR_NOMEM;
    pc->dirty = calloc(pc->cap / 64, sizeof(uint64_t));
    pc->sent = calloc(pc->cap / 64, sizeof(uint64_t));
    if (!pc->dirty || !pc->sent || talos_mtree_init(&pc->tree, a + 1) != TALOS_OK)
        goto fail;
    *hint_bytes = a * TALOS_PAGE;
    *out = pc;
    return TALOS_OK;
fail:
    precopy_end(pc);
    return rc;
}

int precopy_rounds(struct mig *m, struct precopy *pc, uint32_t max_rounds)
{
    uint64_t prev = UINT64_MAX, sent = 0;
    int rc = TALOS_OK;

    if (!max_rounds)
        max_rounds = TALOS_PRECOPY_MAX_ROUNDS;
    /* Round 0: everything in use. */
    uint64_t a = arena_pages_quiescent(pc);
    for (uint64_t i = 0; i < a && i < pc->track_pages; i++)
        set_bit(pc->dirty, i);
    if (!a)
        return TALOS_OK;
    if ((rc = round_begin(m, 0, a)) != TALOS_OK)
        return rc;
    for (uint32_t round = 0;; round++) {
        if ((rc = send_marked(m, pc, a, &sent)) != TALOS_OK)
            return rc;
        m->rep.rounds = round + 1;
        TLOG_DEBUG("S: +%.3f ms round %u: %llu pages", (mig_now() - m->t0) / 1e6, round,
                   (unsigned long long)sent);
        /* The next round's mark goes out at once: the target hashes its
         * tree up to here while we collect, and the last round's root is
         * ready before the freeze. Ours too. */
        uint8_t root[TALOS_HASH];
        if ((rc = round_begin(m, round + 1, a)) != TALOS_OK ||
            (rc = talos_mtree_root(&pc->tree, a, root)) != TALOS_OK)
            return rc;
        /* Collect only once the target caught up: what is written while we
         * wait goes into this set, not into the frozen one. */
        size_t nd = 0;
        if ((rc = await_ack(m, round)) != TALOS_OK || (rc = collect(pc, &nd)) != TALOS_OK)
            return rc;
        a = arena_pages_quiescent(pc);
        uint64_t untracked = a > pc->track_pages ? a - pc->track_pages : 0;
        uint64_t d = nd + untracked;
        if (d <= FINAL_PAGES) {
            m->rep.converged = TALOS_PRECOPY_CONVERGED;
            break;
        }
        if (round + 1 >= max_rounds) {
            m->rep.converged = TALOS_PRECOPY_ROUNDS;
            break;
        }
        if (round >= 1 && d >= prev) {
            m->rep.converged = TALOS_PRECOPY_NOT_SHRINKING;
            break;
        }
        prev = d;
    }
    return TALOS_OK;
}

void precopy_freeze(struct precopy *pc)
{
    pthread_mutex_lock(&talos_rt.freeze);
    pc->frozen = 1;
}

int precopy_final(struct mig *m, struct precopy *pc, uint8_t new_head[TALOS_MIG_HASH_BYTES])
{
    size_t plen = 0, nd = 0;
    uint8_t *persist = talos_rt_persist(&plen);
    uint8_t root[TALOS_HASH];
    uint64_t sent = 0;
    int rc = TALOS_OK;

    /* Frozen: what was written since the last collect, plus what never
     * went (pages the arena took since, and never wrote). */
    if ((rc = collect(pc, &nd)) != TALOS_OK)
        return rc;
    TLOG_DEBUG("S: +%.3f ms frozen: %zu dirty pages collected", (mig_now() - m->t0) / 1e6, nd);
    uint64_t a = arena_pages();
    for (uint64_t i = 0; i < a && i < pc->track_pages; i++)
        if (!bit(pc->sent, i))
            set_bit(pc->dirty, i);
    pc->p_pages = (plen + TALOS_PAGE - 1) / TALOS_PAGE;
    if (!(pc->ppad = calloc(pc->p_pages ? pc->p_pages : 1, TALOS_PAGE)))
        return TALOS_ERR_NOMEM;
    if (plen)
        talos_rt_persist_copy(pc->ppad, persist, plen);

    uint64_t before = m->rep.state_bytes;
    if ((rc = mig_send_begin(m, a * TALOS_PAGE, plen)) != TALOS_OK ||
        (rc = send_marked(m, pc, a, &sent)) != TALOS_OK)
        return rc;
    for (uint64_t p = 0; p < pc->p_pages; p += TALOS_MIG_CHUNK_PAGES) {
        uint32_t n = (uint32_t)(pc->p_pages - p < TALOS_MIG_CHUNK_PAGES ? pc->p_pages - p
                                                                          : TALOS_MIG_CHUNK_PAGES);
        if ((rc = hash_run(pc, a + p, n, pc->ppad + p * TALOS_PAGE)) != TALOS_OK)
            return rc;
        if ((rc = mig_send_chunk(m, pc->seq++, a + p, n, pc->ppad + p * TALOS_PAGE)) != TALOS_OK)
            return rc;
    }
    m->rep.frozen_bytes = m->rep.state_bytes - before;
    if ((rc = talos_mtree_root(&pc->tree, a + pc->p_pages, root)) != TALOS_OK)
        return rc;
    TLOG_DEBUG("S: +%.3f ms last round sent (%llu pages), root computed", (mig_now() - m->t0) / 1e6,
               (unsigned long long)sent);
    return mig_send_manifest(m, pc->seq, root, new_head);
}

unsigned precopy_method(const struct precopy *pc)
{
    return pc && pc->wt ? (unsigned)talos_wtrack_method(pc->wt) : 0;
}

void precopy_thaw(struct precopy *pc)
{
    if (pc && pc->frozen) {
        pc->frozen = 0;
        pthread_mutex_unlock(&talos_rt.freeze);
    }
}

void precopy_end(struct precopy *pc)
{
    if (!pc)
        return;
    precopy_thaw(pc);
    talos_wtrack_stop(pc->wt);
    free(pc->dirty);
    free(pc->sent);
    talos_mtree_free(&pc->tree);
    if (pc->ppad) {
        talos_wipe(pc->ppad, pc->p_pages * TALOS_PAGE);
        free(pc->ppad);
    }
    free(pc);
}
