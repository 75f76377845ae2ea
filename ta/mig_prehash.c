/* Stop-and-copy at the source (S): the frozen state hashed on two threads
 * that meet while it is streamed as BEGIN, CHUNKs and MANIFEST
 * (ta/prehash.h). Trusted code. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "os/sched.h"
#include "ta/arena.h"
#include "ta/fault.h"
#include "ta/mig.h"
#include "ta/prehash.h"
#include "ta/rt.h"


static const uint8_t *page_at(const struct prehash *h, uint64_t i)
{
    return i < h->a_pages ? h->base + i * TALOS_PAGE : h->ppad + (i - h->a_pages) * TALOS_PAGE;
}

/* Chunk k is pages [*first, *first + *n); no chunk spans the arena's end
 * and the persist section. */
static void chunk_at(const struct prehash *h, uint32_t k, uint64_t *first, uint32_t *n)
{
    uint64_t end = h->total;

    if (k < h->a_chunks) {
        *first = (uint64_t)k * TALOS_MIG_CHUNK_PAGES;
        end = h->a_pages;
    } else {
        *first = h->a_pages + (uint64_t)(k - h->a_chunks) * TALOS_MIG_CHUNK_PAGES;
    }
    *n = (uint32_t)(end - *first < TALOS_MIG_CHUNK_PAGES ? end - *first : TALOS_MIG_CHUNK_PAGES);
}

static void hash_pages(const struct prehash *h, uint32_t k)
{
    uint64_t first = 0;
    uint32_t n = 0;

    chunk_at(h, k, &first, &n);
    /* A chunk's pages are contiguous (chunk_at): one batch. */
    talos_merkle_leaves(first, page_at(h, first), n, h->leaves + first * TALOS_HASH);
}

/* Every page is hashed and the arena's last chunk not yet sent (T15
 * tampers here: the pages sent then differ from the ones the root covers). */
static void all_hashed(void) { TALOS_FAULT("source.after_prehash"); }

static void *prehash_run(void *arg)
{
    struct prehash *h = arg;
    uint64_t t = mig_clock(CLOCK_THREAD_CPUTIME_ID);

    /* Idle time only: the stream's thread must not
     * wait for this one (what it leaves undone, the stream hashes). */
    talos_thread_background();
    for (uint32_t k = h->a_chunks; k-- > 0;) {
        if (atomic_load_explicit(&h->stop, memory_order_relaxed) ||
            atomic_exchange(&h->claim[k], 1))
            break; /* the stream got here first: it has every chunk below */
        hash_pages(h, k);
    }
    h->helper_ns = mig_clock(CLOCK_THREAD_CPUTIME_ID) - t;
    return NULL;
}

int prehash_start(struct prehash *h)
{
    size_t plen = 0;
    uint8_t *persist = talos_rt_persist(&plen);
    uint64_t p_pages = (plen + TALOS_PAGE - 1) / TALOS_PAGE;
    uint64_t cp = TALOS_MIG_CHUNK_PAGES;

    memset(h, 0, sizeof(*h));
    h->base = (const uint8_t *)talos_arena_base();
    h->a_pages = talos_arena_used_bytes() / TALOS_PAGE;
    h->total = h->a_pages + p_pages;
    h->a_chunks = (uint32_t)((h->a_pages + cp - 1) / cp);
    h->n_chunks = h->a_chunks + (uint32_t)((p_pages + cp - 1) / cp);
    h->leaves = malloc((h->total ? h->total : 1) * TALOS_HASH);
    h->ppad = calloc(p_pages ? p_pages : 1, TALOS_PAGE);
    h->claim = calloc(h->n_chunks ? h->n_chunks : 1, sizeof(*h->claim));
    if (!h->leaves || !h->ppad || !h->claim)
        return TALOS_ERR_NOMEM;
    if (plen) /* no persist section: persist may be NULL */
        talos_rt_persist_copy(h->ppad, persist, plen);
    /* The persist section is sent from this copy, so it is hashed now (a
     * few pages); the two threads share the arena's chunks. Then the last
     * arena chunk is never sent before every page is hashed. */
    uint64_t t = mig_clock(CLOCK_THREAD_CPUTIME_ID);
    for (uint32_t k = h->a_chunks; k < h->n_chunks; k++) {
        hash_pages(h, k);
        atomic_store(&h->claim[k], 1);
    }
    h->ns = mig_clock(CLOCK_THREAD_CPUTIME_ID) - t;
    h->started = talos_rt_thread_create(&h->thread, prehash_run, h) == 0;
    return TALOS_OK; /* no thread: the stream hashes every page */
}

static void prehash_join(struct prehash *h)
{
    if (h->started)
        pthread_join(h->thread, NULL);
    h->started = 0;
}

/* Chunk k's pages are hashed before it is sent: by the stream now, or by
 * the helper — then the helper has every arena chunk from k on, and
 * joining it (at most one chunk's work) makes the whole state hashed. */
static void hash_chunk(struct prehash *h, uint32_t k)
{
    if (h->all)
        return;
    if (atomic_exchange(&h->claim[k], 1)) {
        prehash_join(h);
        h->all = 1;
    } else {
        uint64_t t = mig_clock(CLOCK_THREAD_CPUTIME_ID);
        hash_pages(h, k);
        h->ns += mig_clock(CLOCK_THREAD_CPUTIME_ID) - t;
        h->all = k + 1 >= h->a_chunks;
    }
    if (h->all)
        all_hashed();
}

void prehash_end(struct prehash *h)
{
    atomic_store(&h->stop, 1);
    prehash_join(h);
    free(h->leaves);
    free((void *)h->claim);
    if (h->ppad) {
        talos_wipe(h->ppad, (h->total - h->a_pages) * TALOS_PAGE);
        free(h->ppad);
    }
    memset(h, 0, sizeof(*h));
}

int prehash_stream(struct mig *m, struct prehash *h, uint8_t new_head[TALOS_MIG_HASH_BYTES])
{
    size_t plen = 0;
    int rc = TALOS_OK;

    (void)talos_rt_persist(&plen);
    if ((rc = mig_send_begin(m, h->a_pages * TALOS_PAGE, plen)) != TALOS_OK)
        return rc;
    for (uint32_t k = 0; k < h->n_chunks; k++) {
        uint64_t first = 0;
        uint32_t n = 0;
        chunk_at(h, k, &first, &n);
        hash_chunk(h, k);
        /* Test builds: the last CHUNK renumbered, a gap before it. */
        uint32_t seq = k + (k + 1 == h->n_chunks && TALOS_TAMPER("chunk_seq"));
        if ((rc = mig_send_chunk(m, seq, first, n, page_at(h, first))) != TALOS_OK)
            return rc;
        TALOS_FAULT(k == 1 ? "source.after_2_chunks" : NULL);
    }
    prehash_join(h); /* it met the stream, or found nothing left: it is ending */
    talos_merkle_root(h->leaves, h->total, h->root);
    m->rep.checkpoint_ns = h->ns + h->helper_ns;
    return mig_send_manifest(m, h->n_chunks, h->root, new_head);
}

