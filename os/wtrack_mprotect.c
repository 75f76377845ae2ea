/* Write tracking with mprotect and a SIGSEGV handler: works on any kernel,
 * costs a signal and two system calls per first write to a page.
 *
 * Invariant: a page whose dirty bit is clear is read-only, except for the
 * moment inside the handler between making it writable and setting its bit
 * (the faulting write has not been retried yet then).
 *
 * Handler: make the page writable FIRST, then set its bit. The other order
 * loses a write: the handler sets the bit, a collect clears it and
 * re-protects, then the handler makes the page writable; the retried write
 * and every later one go unseen.
 *
 * Collect: clear a word of bits (atomic exchange) FIRST, then re-protect
 * those pages. The other order loses a write: a write between re-protect
 * and clear faults, sets the already-set bit, and the clear erases it. With
 * clear-then-protect, a write between the two lands on a page this collect
 * reports, and the caller reads the page after collect returns.
 *
 * Per-page protections split the mapping into many VMAs; when the kernel
 * refuses one more (vm.max_map_count), the handler makes the whole range
 * writable and raises `overflow`: the next collect reports every page and
 * protects the range again as one VMA.
 *
 * Limits: the kernel's own writes into a protected page (read(2) into it)
 * fail with EFAULT instead of faulting; discarding pages (MADV_DONTNEED) is
 * not seen. The UFFD method has neither limit.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "os/wtrack_impl.h"

#define MAX_TRACKERS 8

static _Atomic(struct talos_wtrack *) trackers[MAX_TRACKERS];
/* Handlers running right now: stop waits for 0 after taking its tracker out
 * of the table (seq_cst on both sides, so one of them sees the other). */
static atomic_int in_handler;
static struct sigaction previous;
/* Ranges of the trackers stopped last. A write that faulted just before its
 * tracker's stop made the range writable reaches the handler after the
 * tracker left the table; it is retried once (the page is writable now)
 * instead of being passed on as a crash. */
#define RECENT 8
static _Atomic uintptr_t recent_base[RECENT], recent_end[RECENT];
static atomic_uint recent_next;
static _Thread_local uintptr_t retried; /* last address this thread retried */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* table and handler changes */

/* Faults that are not ours go where they would have gone without us. */
static void chain(int sig, siginfo_t *si, void *ctx)
{
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction != NULL && (void *)previous.sa_sigaction != (void *)SIG_IGN) {
            previous.sa_sigaction(sig, si, ctx);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN &&
               previous.sa_handler != NULL) {
        previous.sa_handler(sig);
        return;
    }
    /* Default action: restore it and return; the instruction faults again
     * and the process dies of SIGSEGV as it would have. */
    signal(SIGSEGV, SIG_DFL);
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    int saved = errno;
    uintptr_t a = (uintptr_t)si->si_addr;
    int handled = 0;

    atomic_fetch_add(&in_handler, 1);
    for (int i = 0; i < MAX_TRACKERS && !handled; i++) {
        struct talos_wtrack *w = atomic_load(&trackers[i]);
        size_t pg = 0;

        if (w == NULL || a < w->base || a - w->base >= w->len || si->si_code != SEGV_ACCERR)
            continue;
        pg = (a - w->base) / w->page;
        if (mprotect((void *)(w->base + pg * w->page), w->page, PROT_READ | PROT_WRITE) != 0) {
            (void)mprotect((void *)w->base, w->len, PROT_READ | PROT_WRITE);
            atomic_store(&w->overflow, 1);
        }
        atomic_fetch_or(&w->dirty[pg / 64], (uint64_t)1 << (pg % 64));
        handled = 1;
    }
    for (int i = 0; i < RECENT && !handled && si->si_code == SEGV_ACCERR && a != retried; i++)
        if (a >= atomic_load(&recent_base[i]) && a < atomic_load(&recent_end[i])) {
            retried = a;
            handled = 1;
        }
    if (!handled || retried != a)
        retried = 0;
    atomic_fetch_sub(&in_handler, 1);
    errno = saved;
    if (!handled)
        chain(sig, si, ctx);
}

/* Ours must be the current handler whenever a tracker is armed. It is
 * (re)installed at each start, never removed: removing would race with
 * other threads' faults. Someone who installs a handler after us (a test
 * harness, a sanitizer) and restores an older one later takes ours away;
 * the next start puts it back, chaining to whatever was current. */
static int install_locked(void)
{
    struct sigaction cur, sa;

    if (sigaction(SIGSEGV, NULL, &cur) != 0)
        return TALOS_ERR_IO;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv)
        return TALOS_OK;
    previous = cur;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    /* NODEFER: a fault of ours inside a chained handler must not block. */
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSEGV, &sa, NULL) == 0 ? TALOS_OK : TALOS_ERR_IO;
}

static int mp_start(struct talos_wtrack *w)
{
    int rc = TALOS_OK;
    int slot = -1;

    w->nwords = (w->npages + 63) / 64;
    w->dirty = calloc(w->nwords, sizeof(*w->dirty));
    if (w->dirty == NULL)
        return TALOS_ERR_NOMEM;
    pthread_mutex_lock(&lock);
    if ((rc = install_locked()) != TALOS_OK)
        goto fail;
    for (int i = 0; i < MAX_TRACKERS; i++) {
        struct talos_wtrack *o = atomic_load(&trackers[i]);

        if (o != NULL && w->base < o->base + o->len && o->base < w->base + w->len) {
            rc = TALOS_ERR_BUSY;
            goto fail;
        }
        if (o == NULL && slot < 0)
            slot = i;
    }
    if (slot < 0) {
        rc = TALOS_ERR_BUSY;
        goto fail;
    }
    atomic_store(&trackers[slot], w);
    w->slot = slot;
    if (mprotect((void *)w->base, w->len, PROT_READ) != 0) {
        rc = errno == ENOMEM ? TALOS_ERR_INVALID_ARG : TALOS_ERR_IO; /* ENOMEM: unmapped */
        atomic_store(&trackers[slot], NULL);
        w->slot = -1;
        goto fail;
    }
    pthread_mutex_unlock(&lock);
    return TALOS_OK;
fail:
    pthread_mutex_unlock(&lock);
    free(w->dirty);
    w->dirty = NULL;
    return rc;
}

static int mp_collect(struct talos_wtrack *w, uint64_t *bitmap, size_t *ndirty)
{
    int rc = TALOS_OK;

    if (atomic_exchange(&w->overflow, 0)) {
        /* The range went writable as a whole: report all, clear all, then
         * protect all (same order as below). */
        for (size_t i = 0; i < w->nwords; i++)
            (void)atomic_exchange(&w->dirty[i], 0);
        talos_wtrack_set_bits(bitmap, 0, w->npages);
        *ndirty += w->npages;
        return mprotect((void *)w->base, w->len, PROT_READ) == 0 ? TALOS_OK : TALOS_ERR_IO;
    }
    for (size_t i = 0; i < w->nwords; i++) {
        uint64_t bits = atomic_load(&w->dirty[i]);

        if (bits == 0)
            continue;
        bits = atomic_exchange(&w->dirty[i], 0);
        bitmap[i] |= bits;
        *ndirty += (size_t)__builtin_popcountll(bits);
        /* Re-protect each run of set bits with one call. */
        while (bits != 0) {
            unsigned lo = (unsigned)__builtin_ctzll(bits);
            uint64_t run = bits >> lo;
            unsigned n = ~run == 0 ? 64 - lo : (unsigned)__builtin_ctzll(~run);
            size_t first = i * 64 + lo;

            if (mprotect((void *)(w->base + first * w->page), (size_t)n * w->page, PROT_READ) != 0)
                /* Writable with a clear bit breaks the invariant: report
                 * everything next time and protect the range as a whole. */
                atomic_store(&w->overflow, 1);
            bits = lo + n >= 64 ? 0 : bits & ~((((uint64_t)1 << n) - 1) << lo);
        }
    }
    return rc;
}

static void mp_stop(struct talos_wtrack *w)
{
    /* Writable first, so no new fault can be ours; then out of the table;
     * then wait for handlers that may still hold the pointer. */
    (void)mprotect((void *)w->base, w->len, PROT_READ | PROT_WRITE);
    pthread_mutex_lock(&lock);
    {
        unsigned k = atomic_fetch_add(&recent_next, 1) % RECENT;

        atomic_store(&recent_end[k], 0); /* never a torn range that is too wide */
        atomic_store(&recent_base[k], w->base);
        atomic_store(&recent_end[k], w->base + w->len);
    }
    if (w->slot >= 0)
        atomic_store(&trackers[w->slot], NULL);
    pthread_mutex_unlock(&lock);
    while (atomic_load(&in_handler) != 0)
        ;
    free(w->dirty);
    w->dirty = NULL;
}

const struct wtrack_ops talos_wtrack_mprotect_ops = {
    .method = TALOS_WTRACK_MPROTECT,
    .name = "mprotect",
    .start = mp_start,
    .collect = mp_collect,
    .stop = mp_stop,
};
