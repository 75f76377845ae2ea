/* SPSC byte rings in shared memory (switchless calls); see core/ring.h and
 * docs/switchless.md.
 *
 * Hostile peer. The region is writable by the other process, so nothing in
 * it is trusted after attach: cap and this side's own index live in struct
 * talos_ring, each shared field is loaded once per use into a local, and
 * the only value derived from the peer (the byte count between head and
 * tail) is checked against the private cap before it sizes a copy. Every
 * offset into the data area is `private pos & private mask`, so whatever
 * the peer writes, copies stay inside [data, data + cap).
 *
 * Memory ordering, data. The producer copies bytes in, then stores tail
 * with release; the consumer loads tail with acquire before copying out, so
 * it sees those bytes. The consumer stores head with release after copying
 * out; the producer loads head with acquire before reusing those slots, so
 * it never overwrites bytes still being read.
 *
 * Memory ordering, sleeping (the lost-wakeup race). A side S that waits for
 * its peer P to move an index (or close the ring) does
 *     e = S.ev; S.sleeping = 1 (release); fence(seq_cst);
 *     re-check index and closed; wait(&S.ev, e)
 * and P, after storing the index (or closed), does
 *     fence(seq_cst); if (S.sleeping (acquire)) { S.ev++; wake(&S.ev); }
 * The two seq_cst fences are totally ordered. If P's fence comes first, S's
 * re-check sees the new index and S does not sleep. If S's fence comes
 * first, P's load sees S.sleeping == 1 (or S's later reset, which means S
 * already woke and re-checks), so P bumps ev. Because that load is acquire
 * and reads S's release store, S's read of e happens before P's increment:
 * e is stale, and wait() -- which compares *addr with e atomically with
 * going to sleep, as a futex does -- either returns at once or is queued
 * before P's wake. Without both fences each side could read the other's
 * old value (store-buffer reordering) and S would sleep through the wake.
 */
#include "core/ring.h"

#include <string.h>

#include "talos/err.h"

/* Atomics shared between processes must be address-free, i.e. lock-free. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics are not lock-free");
_Static_assert(sizeof(unsigned int) == sizeof(uint32_t), "uint32_t is not unsigned int");
_Static_assert(sizeof(struct talos_ring_hdr) <= TALOS_RING_HDR_BYTES, "ring header too big");
_Static_assert(TALOS_RING_HDR_BYTES % TALOS_RING_LINE == 0, "data area misaligned");

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

static int cap_ok(uint32_t cap)
{
    return cap >= TALOS_RING_MIN_CAP && cap <= TALOS_RING_MAX_CAP && (cap & (cap - 1)) == 0;
}

static int waiter_ok(const struct talos_ring_waiter *w)
{
    return w && w->wait && w->wake;
}

size_t talos_ring_shm_size(uint32_t cap)
{
    if (!cap_ok(cap))
        return 0;
    return (size_t)TALOS_RING_HDR_BYTES + 2 * (size_t)cap;
}

int talos_ring_pair_init(void *shm, size_t shm_len, uint32_t cap)
{
    struct talos_ring_hdr *h = shm;
    size_t need = talos_ring_shm_size(cap);

    if (!shm || need == 0 || shm_len < need || (uintptr_t)shm % TALOS_RING_LINE)
        return TALOS_ERR_INVALID_ARG;
    /* Nobody else maps the region yet, so plain stores are enough; the magic
     * goes last (release) so an early attach sees a half-made header as bad. */
    memset(shm, 0, TALOS_RING_HDR_BYTES);
    atomic_store_explicit(&h->version, TALOS_RING_VERSION, memory_order_relaxed);
    atomic_store_explicit(&h->cap, cap, memory_order_relaxed);
    atomic_store_explicit(&h->magic, TALOS_RING_MAGIC, memory_order_release);
    return TALOS_OK;
}

static void view_init(struct talos_ring *r, struct talos_ring_hdr *h, unsigned i, uint32_t cap,
                      int is_tx)
{
    r->ctl = &h->ring[i];
    r->data = (uint8_t *)h + TALOS_RING_HDR_BYTES + (size_t)i * cap;
    r->cap = cap;
    r->mask = cap - 1;
    r->is_tx = is_tx;
    /* Our own index is 0 after pair_init; taking it from the region keeps
     * both views in step. Any value is safe: offsets are masked, and the
     * distance to the peer's index is checked on every use. */
    r->pos = atomic_load_explicit(is_tx ? &r->ctl->wr.idx : &r->ctl->rd.idx,
                                  memory_order_relaxed);
}

int talos_ring_attach(struct talos_ring *tx, struct talos_ring *rx, void *shm, size_t shm_len,
                      int is_host)
{
    struct talos_ring_hdr *h = shm;
    uint32_t magic = 0, version = 0, cap = 0;

    if (!tx || !rx || !shm || (uintptr_t)shm % TALOS_RING_LINE)
        return TALOS_ERR_INVALID_ARG;
    if (shm_len < TALOS_RING_HDR_BYTES)
        return TALOS_ERR_MALFORMED;
    /* Each header field is fetched exactly once; only the copies are used. */
    magic = atomic_load_explicit(&h->magic, memory_order_acquire);
    version = atomic_load_explicit(&h->version, memory_order_relaxed);
    cap = atomic_load_explicit(&h->cap, memory_order_relaxed);
    if (magic != TALOS_RING_MAGIC || version != TALOS_RING_VERSION || !cap_ok(cap) ||
        shm_len < talos_ring_shm_size(cap))
        return TALOS_ERR_MALFORMED;
    view_init(tx, h, is_host ? 0 : 1, cap, 1);
    view_init(rx, h, is_host ? 1 : 0, cap, 0);
    return TALOS_OK;
}

static int moved(const struct talos_ring_ctl *c, const _Atomic uint32_t *idx, uint32_t seen)
{
    return atomic_load_explicit(idx, memory_order_relaxed) != seen ||
           atomic_load_explicit(&c->closed, memory_order_relaxed) != 0;
}

/* Block until the peer's index *idx differs from seen or the ring is closed:
 * poll w->spin times, then sleep on me->ev (handshake at the top of this
 * file). Returns TALOS_OK for "re-check" or a negative code from w->wait. */
static int await(struct talos_ring_ctl *c, struct talos_ring_side *me, const _Atomic uint32_t *idx,
                 uint32_t seen, const struct talos_ring_waiter *w)
{
    for (uint32_t i = 0; i < w->spin; i++) {
        if (moved(c, idx, seen))
            return TALOS_OK;
        cpu_relax();
    }
    for (;;) {
        uint32_t e = atomic_load_explicit(&me->ev, memory_order_relaxed);
        int rc = TALOS_OK;

        atomic_store_explicit(&me->sleeping, 1, memory_order_release);
        atomic_thread_fence(memory_order_seq_cst);
        if (moved(c, idx, seen)) {
            atomic_store_explicit(&me->sleeping, 0, memory_order_relaxed);
            return TALOS_OK;
        }
        rc = w->wait(w->ctx, &me->ev, e);
        atomic_store_explicit(&me->sleeping, 0, memory_order_relaxed);
        if (rc < 0)
            return rc;
        if (moved(c, idx, seen))
            return TALOS_OK;
    }
}

/* After publishing an index or closed: wake `peer` if it said it sleeps. A
 * hostile peer that keeps `sleeping` set only costs us a wake call. */
static void kick(struct talos_ring_side *peer, const struct talos_ring_waiter *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&peer->sleeping, memory_order_acquire)) {
        atomic_fetch_add_explicit(&peer->ev, 1, memory_order_relaxed);
        w->wake(w->ctx, &peer->ev);
    }
}

/* n <= cap - (bytes in the ring), so the two pieces stay inside the data area
 * and never reach bytes the consumer has not read yet. */
static void copy_in(struct talos_ring *r, const uint8_t *src, uint32_t n)
{
    uint32_t off = r->pos & r->mask;
    uint32_t first = r->cap - off < n ? r->cap - off : n;

    memcpy(r->data + off, src, first);
    memcpy(r->data, src + first, n - first);
}

/* n <= bytes in the ring <= cap. The peer may scribble on the data area
 * while we copy; what lands in dst is then garbage the caller's decoder
 * rejects, never an out-of-bounds access, and it is fetched only once. */
static void copy_out(struct talos_ring *r, uint8_t *dst, uint32_t n)
{
    uint32_t off = r->pos & r->mask;
    uint32_t first = r->cap - off < n ? r->cap - off : n;

    memcpy(dst, r->data + off, first);
    memcpy(dst + first, r->data, n - first);
}

int talos_ring_write(struct talos_ring *r, const void *p, size_t n,
                     const struct talos_ring_waiter *w)
{
    const uint8_t *src = p;
    size_t done = 0;

    if (!r || !r->ctl || !r->is_tx || !waiter_ok(w) || (!p && n))
        return TALOS_ERR_INVALID_ARG;
    while (done < n) {
        struct talos_ring_ctl *c = r->ctl;
        uint32_t head = 0, used = 0, chunk = 0;
        int rc = TALOS_OK;

        if (atomic_load_explicit(&c->closed, memory_order_acquire))
            return TALOS_ERR_PEER_CLOSED;
        head = atomic_load_explicit(&c->rd.idx, memory_order_acquire);
        used = r->pos - head; /* modular: correct across the 2^32 wrap */
        if (used > r->cap)
            return TALOS_ERR_PROTOCOL;
        if (used == r->cap) {
            rc = await(c, &c->wr, &c->rd.idx, head, w);
            if (rc != TALOS_OK)
                return rc;
            continue;
        }
        chunk = r->cap - used;
        if (chunk > n - done)
            chunk = (uint32_t)(n - done);
        copy_in(r, src + done, chunk);
        r->pos += chunk;
        done += chunk;
        atomic_store_explicit(&c->wr.idx, r->pos, memory_order_release);
        kick(&c->rd, w);
    }
    return TALOS_OK;
}

int talos_ring_read(struct talos_ring *r, void *p, size_t n, const struct talos_ring_waiter *w)
{
    uint8_t *dst = p;
    size_t done = 0;

    if (!r || !r->ctl || r->is_tx || !waiter_ok(w) || (!p && n))
        return TALOS_ERR_INVALID_ARG;
    while (done < n) {
        struct talos_ring_ctl *c = r->ctl;
        uint32_t closed = 0, tail = 0, avail = 0, chunk = 0;
        int rc = TALOS_OK;

        /* closed before tail: a closer's release of `closed` follows its last
         * tail store, so seeing closed here means this tail is final. */
        closed = atomic_load_explicit(&c->closed, memory_order_acquire);
        tail = atomic_load_explicit(&c->wr.idx, memory_order_acquire);
        avail = tail - r->pos;
        if (avail > r->cap)
            return TALOS_ERR_PROTOCOL;
        if (avail == 0) {
            if (closed)
                return TALOS_ERR_PEER_CLOSED;
            rc = await(c, &c->rd, &c->wr.idx, tail, w);
            if (rc != TALOS_OK)
                return rc;
            continue;
        }
        chunk = avail;
        if (chunk > n - done)
            chunk = (uint32_t)(n - done);
        copy_out(r, dst + done, chunk);
        r->pos += chunk;
        done += chunk;
        atomic_store_explicit(&c->rd.idx, r->pos, memory_order_release);
        kick(&c->wr, w);
    }
    return TALOS_OK;
}

void talos_ring_close(struct talos_ring *r, const struct talos_ring_waiter *w)
{
    if (!r || !r->ctl)
        return;
    atomic_store_explicit(&r->ctl->closed, 1, memory_order_release);
    if (!waiter_ok(w))
        return;
    /* Either end may close, so wake whichever side is asleep on this ring. */
    kick(&r->ctl->rd, w);
    kick(&r->ctl->wr, w);
}
