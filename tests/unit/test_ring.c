/* Unit tests for core/ring.c: the switchless SPSC byte rings.
 *
 * The waiter here is the raw Linux futex (test code may name Linux) with a
 * 100 ms timeout. A timeout alone proves nothing (the peer may just not have
 * been scheduled on a loaded machine), so each timeout is classified: if the
 * index the sleeper waited on had moved, or the ring had been closed, and
 * the peer still had not bumped the sleeper's futex word, the wakeup was
 * lost -- a ring bug, counted in `lost` and asserted to be zero. Slow-peer
 * timeouts are tolerated up to a budget, then fail as TALOS_ERR_TIMEOUT.
 *
 * One file over 400 lines: the cases of one ring, each short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/ring.h"
#include "talos/err.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* ThreadSanitizer checks every byte memcpy touches: keep its run small. */
#define STRESS_BYTES (UNDER_TSAN ? (64ull << 20) : (200ull << 20))
#define PINGPONG_ITERS (UNDER_TSAN ? 20000u : 100000u)
#define HUNT_ITERS (UNDER_TSAN ? 10000u : 40000u)
#define STRESS_CAP (64u << 10)
#define FRAME_MAX (256u << 10)
#define MAX_TIMEOUTS 20

/* --- futex waiter ------------------------------------------------------- */

struct fx {
    const struct talos_ring *tx, *rx; /* the sleeping thread's views, or NULL */
    unsigned long waits, wakes, timeouts, lost;
    unsigned long max_timeouts;
};

/* After a timeout on addr: did the peer make progress we were not woken
 * for? The sleeper waits for the peer's index to leave the value that made
 * it sleep, which its own private view determines: an empty rx ring
 * (tail == pos) or a full tx ring (head == pos - cap). */
static int lost_wakeup(const struct fx *f, _Atomic uint32_t *addr, uint32_t expected)
{
    const struct talos_ring *r = NULL;
    const _Atomic uint32_t *idx = NULL;
    uint32_t seen = 0;
    struct timespec grace = {0, 10 * 1000 * 1000};

    if (f->rx && addr == &f->rx->ctl->rd.ev) {
        r = f->rx;
        idx = &r->ctl->wr.idx;
        seen = r->pos;
    } else if (f->tx && addr == &f->tx->ctl->wr.ev) {
        r = f->tx;
        idx = &r->ctl->rd.idx;
        seen = r->pos - r->cap;
    } else {
        return 0;
    }
    if (atomic_load(idx) == seen && !atomic_load(&r->ctl->closed))
        return 0; /* no progress: the peer was merely slow */
    /* The peer may sit between publishing and bumping our word: give it time. */
    nanosleep(&grace, NULL);
    return atomic_load(addr) == expected;
}

static int fx_wait(void *ctx, _Atomic uint32_t *addr, uint32_t expected)
{
    struct fx *f = ctx;
    struct timespec ts = {0, 100 * 1000 * 1000};
    long rc = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, expected, &ts, NULL, 0);

    f->waits++;
    if (rc == -1 && errno == ETIMEDOUT) {
        if (lost_wakeup(f, addr, expected))
            f->lost++;
        else if (++f->timeouts > f->max_timeouts)
            return TALOS_ERR_TIMEOUT;
    }
    return TALOS_OK; /* woken, EAGAIN (value changed) or EINTR: re-check */
}

static void fx_wake(void *ctx, _Atomic uint32_t *addr)
{
    struct fx *f = ctx;

    f->wakes++;
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static struct talos_ring_waiter fx_waiter(struct fx *f, uint32_t spin, unsigned long max_timeouts,
                                          const struct talos_ring *tx, const struct talos_ring *rx)
{
    struct talos_ring_waiter w = {fx_wait, fx_wake, f, spin};

    memset(f, 0, sizeof(*f));
    f->tx = tx;
    f->rx = rx;
    f->max_timeouts = max_timeouts;
    return w;
}

/* A waiter that never blocks: returns the code in ctx at once. */
static int fail_wait(void *ctx, _Atomic uint32_t *addr, uint32_t expected)
{
    return *(const int *)ctx;
}

static void nop_wake(void *ctx, _Atomic uint32_t *addr)
{
}

static const int timeout_code = TALOS_ERR_TIMEOUT;
static const struct talos_ring_waiter no_block = {fail_wait, nop_wake, (void *)&timeout_code, 0};

/* --- helpers ---------------------------------------------------------------- */

struct pair {
    void *shm;
    size_t len;
    struct talos_ring htx, hrx, ttx, trx; /* host and TA views */
};

/* Heap region of the exact size, so ASan flags any access past it. Indices
 * start at `start` to exercise the 2^32 wrap. */
static void pair_new(struct pair *p, uint32_t cap, uint32_t start)
{
    struct talos_ring_hdr *h = NULL;

    memset(p, 0, sizeof(*p));
    p->len = talos_ring_shm_size(cap);
    assert_true(p->len > 0);
    p->shm = aligned_alloc(64, p->len);
    assert_non_null(p->shm);
    assert_int_equal(talos_ring_pair_init(p->shm, p->len, cap), TALOS_OK);
    h = p->shm;
    for (int i = 0; i < 2; i++) {
        atomic_store(&h->ring[i].rd.idx, start);
        atomic_store(&h->ring[i].wr.idx, start);
    }
    assert_int_equal(talos_ring_attach(&p->htx, &p->hrx, p->shm, p->len, 1), TALOS_OK);
    assert_int_equal(talos_ring_attach(&p->ttx, &p->trx, p->shm, p->len, 0), TALOS_OK);
}

static void pair_free(struct pair *p)
{
    free(p->shm);
    memset(p, 0, sizeof(*p));
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed, v = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        v = splitmix(&s);
        memcpy(p + i, &v, 8);
    }
    v = splitmix(&s);
    memcpy(p + i, &v, n - i);
}

/* Mostly small frames (like ocalls) with a tail up to FRAME_MAX. */
static uint32_t frame_len(uint64_t *s)
{
    uint64_t r = splitmix(s);

    switch (r & 3) {
    case 0: return 1 + (uint32_t)((r >> 2) % 64);
    case 1: return 1 + (uint32_t)((r >> 2) % 4096);
    default: return 1 + (uint32_t)((r >> 2) % FRAME_MAX);
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts = {0, 0};

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct wjob {
    struct talos_ring *r;
    const uint8_t *buf;
    size_t n;
    uint32_t spin;
    int rc;
    unsigned long lost;
};

static void *wjob_run(void *arg)
{
    struct wjob *j = arg;
    struct fx f = {0};
    struct talos_ring_waiter w = fx_waiter(&f, j->spin, MAX_TIMEOUTS, j->r, NULL);

    j->rc = talos_ring_write(j->r, j->buf, j->n, &w);
    j->lost = f.lost;
    return NULL;
}

/* --- setup and validation ------------------------------------------------ */

static void test_init_attach_ok(void **state)
{
    struct pair p = {0};

    assert_int_equal(talos_ring_shm_size(4096), 4096 + 2 * 4096);
    assert_int_equal(talos_ring_shm_size(64u << 20), 4096 + (128u << 20));
    assert_int_equal(talos_ring_shm_size(2048), 0);
    assert_int_equal(talos_ring_shm_size(6000), 0);
    assert_int_equal(talos_ring_shm_size(128u << 20), 0);
    pair_new(&p, 4096, 0);
    assert_ptr_equal(p.htx.ctl, p.trx.ctl);
    assert_ptr_equal(p.hrx.ctl, p.ttx.ctl);
    assert_ptr_not_equal(p.htx.ctl, p.hrx.ctl);
    assert_ptr_equal(p.htx.data, p.trx.data);
    assert_int_equal(p.htx.cap, 4096);
    assert_true(p.htx.is_tx && p.ttx.is_tx && !p.hrx.is_tx && !p.trx.is_tx);
    /* The host's own calls are checked too. */
    assert_int_equal(talos_ring_pair_init(p.shm, p.len - 1, 4096), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_ring_pair_init(p.shm, p.len, 5000), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_ring_pair_init((uint8_t *)p.shm + 8, p.len - 8, 4096),
                     TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_ring_attach(&p.htx, &p.hrx, (uint8_t *)p.shm + 8, p.len - 8, 1),
                     TALOS_ERR_INVALID_ARG);
    /* Misuse of a view. */
    assert_int_equal(talos_ring_write(&p.hrx, "x", 1, &no_block), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_ring_read(&p.htx, (uint8_t[1]){0}, 1, &no_block), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_ring_write(&p.htx, "x", 1, NULL), TALOS_ERR_INVALID_ARG);
    pair_free(&p);
}

static void test_attach_malformed(void **state)
{
    struct pair p = {0};
    struct talos_ring tx = {0}, rx = {0};
    struct talos_ring_hdr *h = NULL;

    pair_new(&p, 4096, 0);
    h = p.shm;
    atomic_store(&h->magic, TALOS_RING_MAGIC ^ 1);
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_ERR_MALFORMED);
    atomic_store(&h->magic, TALOS_RING_MAGIC);
    atomic_store(&h->version, TALOS_RING_VERSION + 1);
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_ERR_MALFORMED);
    atomic_store(&h->version, TALOS_RING_VERSION);
    atomic_store(&h->cap, 4096 + 64); /* not a power of two */
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_ERR_MALFORMED);
    atomic_store(&h->cap, 2048); /* below the minimum */
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_ERR_MALFORMED);
    atomic_store(&h->cap, 0);
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_ERR_MALFORMED);
    atomic_store(&h->cap, 8192); /* a power of two, but larger than the region */
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_ERR_MALFORMED);
    atomic_store(&h->cap, 1u << 31);
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_ERR_MALFORMED);
    atomic_store(&h->cap, 4096);
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, TALOS_RING_HDR_BYTES - 1, 0),
                     TALOS_ERR_MALFORMED);
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len - 1, 0), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_ring_attach(&tx, &rx, p.shm, p.len, 0), TALOS_OK);
    pair_free(&p);
}

/* The peer rewrites indices and cap at will; the local side must refuse
 * with PROTOCOL and never touch memory outside the region (ASan watches the
 * heap region's redzones). */
static void test_hostile_indices(void **state)
{
    struct pair p = {0};
    struct talos_ring_hdr *h = NULL;
    uint8_t buf[3 * 4096] = {0};
    uint64_t s = 42;

    pair_new(&p, 4096, 0);
    h = p.shm;
    assert_int_equal(talos_ring_write(&p.htx, "abcd", 4, &no_block), TALOS_OK);
    /* Hostile host: tail more than cap ahead of the TA's head. */
    atomic_store(&h->ring[0].wr.idx, 4096 + 1);
    assert_int_equal(talos_ring_read(&p.trx, buf, 1, &no_block), TALOS_ERR_PROTOCOL);
    atomic_store(&h->ring[0].wr.idx, UINT32_MAX); /* tail "behind" head */
    assert_int_equal(talos_ring_read(&p.trx, buf, 1, &no_block), TALOS_ERR_PROTOCOL);
    /* Exactly cap ahead is a full ring: legal, and read stays in bounds. */
    atomic_store(&h->ring[0].wr.idx, 4096);
    assert_int_equal(talos_ring_read(&p.trx, buf, 4096, &no_block), TALOS_OK);
    assert_memory_equal(buf, "abcd", 4);
    /* Hostile TA: head ahead of the host's tail, or far behind it. */
    atomic_store(&h->ring[0].rd.idx, p.htx.pos + 1);
    assert_int_equal(talos_ring_write(&p.htx, "x", 1, &no_block), TALOS_ERR_PROTOCOL);
    atomic_store(&h->ring[0].rd.idx, p.htx.pos - 4097);
    assert_int_equal(talos_ring_write(&p.htx, "x", 1, &no_block), TALOS_ERR_PROTOCOL);
    /* cap in the header is read once: inflating it later changes nothing. */
    atomic_store(&h->cap, 1u << 26);
    atomic_store(&h->ring[0].rd.idx, p.htx.pos);
    assert_int_equal(talos_ring_write(&p.htx, buf, sizeof(buf), &no_block), TALOS_ERR_TIMEOUT);
    assert_int_equal(p.htx.pos - atomic_load(&h->ring[0].rd.idx), 4096);
    pair_free(&p);

    /* Random indices from the peer, random request sizes. */
    pair_new(&p, 4096, 0xfffff000u);
    h = p.shm;
    for (int i = 0; i < 20000; i++) {
        uint64_t r = splitmix(&s);
        uint32_t delta = (uint32_t)(r >> 32) % (3 * 4096);
        uint32_t v = (r & 1) ? p.trx.pos + delta - 4096 : (uint32_t)(r >> 8);
        size_t n = 1 + (size_t)((r >> 16) % sizeof(buf));
        int rc = TALOS_OK;

        atomic_store(&h->ring[0].wr.idx, v);
        rc = talos_ring_read(&p.trx, buf, n, &no_block);
        assert_true(rc == TALOS_OK || rc == TALOS_ERR_PROTOCOL || rc == TALOS_ERR_TIMEOUT);
        atomic_store(&h->ring[1].rd.idx, (r & 2) ? p.ttx.pos - delta + 4096 : (uint32_t)r);
        rc = talos_ring_write(&p.ttx, buf, n, &no_block);
        assert_true(rc == TALOS_OK || rc == TALOS_ERR_PROTOCOL || rc == TALOS_ERR_TIMEOUT);
    }
    pair_free(&p);
}

static void test_wait_error_propagates(void **state)
{
    struct pair p = {0};
    uint8_t buf[4096] = {0};
    static const int closed_code = TALOS_ERR_PEER_CLOSED;
    const struct talos_ring_waiter wclosed = {fail_wait, nop_wake, (void *)&closed_code, 3};

    pair_new(&p, 4096, 0);
    memset(buf, 0x5a, sizeof(buf));
    assert_int_equal(talos_ring_read(&p.trx, buf, 1, &no_block), TALOS_ERR_TIMEOUT);
    assert_int_equal(talos_ring_read(&p.trx, buf, 1, &wclosed), TALOS_ERR_PEER_CLOSED);
    assert_int_equal(talos_ring_write(&p.htx, buf, sizeof(buf), &no_block), TALOS_OK);
    assert_int_equal(talos_ring_write(&p.htx, buf, 1, &no_block), TALOS_ERR_TIMEOUT);
    assert_int_equal(talos_ring_write(&p.htx, buf, 1, &wclosed), TALOS_ERR_PEER_CLOSED);
    pair_free(&p);
}

/* --- data integrity --------------------------------------------------------- */

static void pass_one(uint32_t cap, size_t n, uint32_t start)
{
    struct pair p = {0};
    uint8_t *in = malloc(n), *out = malloc(n);
    struct wjob j = {NULL, in, n, 100, TALOS_ERR_IO, 0};
    pthread_t t = 0;
    struct fx f = {0};
    struct talos_ring_waiter w = fx_waiter(&f, 100, MAX_TIMEOUTS, NULL, &p.trx);

    assert_non_null(in);
    assert_non_null(out);
    pair_new(&p, cap, start);
    fill(in, n, n ^ start);
    memset(out, 0, n);
    j.r = &p.htx;
    assert_int_equal(pthread_create(&t, NULL, wjob_run, &j), 0);
    assert_int_equal(talos_ring_read(&p.trx, out, n, &w), TALOS_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(j.rc, TALOS_OK);
    assert_memory_equal(in, out, n);
    assert_int_equal(f.lost + j.lost, 0);
    /* Nothing more than n bytes came through. */
    assert_int_equal(talos_ring_read(&p.trx, out, 1, &no_block), TALOS_ERR_TIMEOUT);
    pair_free(&p);
    free(in);
    free(out);
}

static void test_sizes(void **state)
{
    static const uint32_t starts[] = {0, 0xffffffffu - 4096 - 17};

    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        pass_one(4096, 1, starts[i]);
        pass_one(4096, 4096, starts[i]);
        pass_one(4096, 3 * 4096, starts[i]);
        pass_one(4096, 3 * 4096 + 5, starts[i]);
    }
}

/* --- stress -------------------------------------------------------------- */

#define STRESS_SEED 0x7a105u

struct stress {
    struct talos_ring *r;
    uint32_t spin;
    uint64_t bytes, frames;
    struct fx f;
    int rc;
};

static void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;

    memcpy(&v, p, 4);
    return v;
}

static void *producer(void *arg)
{
    struct stress *st = arg;
    struct talos_ring_waiter w = fx_waiter(&st->f, st->spin, MAX_TIMEOUTS, st->r, NULL);
    uint8_t *buf = malloc(8 + FRAME_MAX);
    uint64_t lens = STRESS_SEED;

    st->rc = buf ? TALOS_OK : TALOS_ERR_NOMEM;
    while (st->rc == TALOS_OK && st->bytes < STRESS_BYTES) {
        uint32_t len = frame_len(&lens);

        put_u32(buf, len);
        put_u32(buf + 4, (uint32_t)st->frames);
        fill(buf + 8, len, STRESS_SEED ^ st->frames);
        st->rc = talos_ring_write(st->r, buf, 8 + (size_t)len, &w);
        st->bytes += 8 + (uint64_t)len;
        st->frames++;
    }
    /* Also on failure, so the consumer stops instead of waiting forever. */
    talos_ring_close(st->r, &w);
    free(buf);
    return NULL;
}

static void run_stress(uint32_t spin)
{
    struct pair p = {0};
    struct stress st = {NULL, spin, 0, 0, {0}, TALOS_ERR_IO};
    struct fx f = {0};
    struct talos_ring_waiter w = fx_waiter(&f, spin, MAX_TIMEOUTS, NULL, &p.trx);
    uint8_t *got = malloc(FRAME_MAX), *want = malloc(FRAME_MAX);
    uint8_t hdr[8] = {0};
    uint64_t lens = STRESS_SEED, frames = 0, bytes = 0, t0 = now_ns(), dt = 0;
    pthread_t t = 0;
    int rc = TALOS_OK;

    assert_non_null(got);
    assert_non_null(want);
    pair_new(&p, STRESS_CAP, 0);
    st.r = &p.htx;
    assert_int_equal(pthread_create(&t, NULL, producer, &st), 0);
    for (;;) {
        uint32_t len = 0;

        rc = talos_ring_read(&p.trx, hdr, sizeof(hdr), &w);
        if (rc != TALOS_OK)
            break;
        len = get_u32(hdr);
        if (len != frame_len(&lens) || get_u32(hdr + 4) != (uint32_t)frames) {
            rc = TALOS_ERR_MALFORMED;
            break;
        }
        rc = talos_ring_read(&p.trx, got, len, &w);
        if (rc != TALOS_OK)
            break;
        fill(want, len, STRESS_SEED ^ frames);
        if (memcmp(got, want, len) != 0) {
            rc = TALOS_ERR_MAC;
            break;
        }
        frames++;
        bytes += 8 + (uint64_t)len;
    }
    talos_ring_close(&p.trx, &w); /* unblocks the producer if we failed */
    assert_int_equal(pthread_join(t, NULL), 0);
    dt = now_ns() - t0;
    printf("  stress spin=%u: %.1f MiB, %llu frames, %.0f MiB/s; consumer waits %lu wakes %lu "
           "timeouts %lu lost %lu; producer waits %lu wakes %lu timeouts %lu lost %lu\n",
           spin, (double)bytes / (1 << 20), (unsigned long long)frames,
           (double)bytes / (1 << 20) / ((double)dt / 1e9), f.waits, f.wakes, f.timeouts, f.lost,
           st.f.waits, st.f.wakes, st.f.timeouts, st.f.lost);
    assert_int_equal(f.lost + st.f.lost, 0);
    assert_int_equal(rc, TALOS_ERR_PEER_CLOSED); /* clean end at a frame boundary */
    assert_int_equal(st.rc, TALOS_OK);
    assert_int_equal(frames, st.frames);
    assert_int_equal(bytes, st.bytes);
    assert_true(bytes >= STRESS_BYTES);
    pair_free(&p);
    free(got);
    free(want);
}

static void test_stress_spin0(void **state)
{
    run_stress(0);
}

static void test_stress_spin10000(void **state)
{
    run_stress(10000);
}

/* --- close ---------------------------------------------------------------- */

struct rjob {
    struct talos_ring *r;
    size_t n;
    int rc;
    struct fx f;
};

static void *rjob_run(void *arg)
{
    struct rjob *j = arg;
    struct talos_ring_waiter w = fx_waiter(&j->f, 0, 0, NULL, j->r);
    uint8_t *buf = malloc(j->n);

    j->rc = buf ? talos_ring_read(j->r, buf, j->n, &w) : TALOS_ERR_NOMEM;
    free(buf);
    return NULL;
}

static void test_close(void **state)
{
    struct pair p = {0};
    uint8_t in[100] = {0}, out[100] = {0};
    struct fx f = {0};
    struct talos_ring_waiter w = fx_waiter(&f, 0, 0, NULL, NULL);
    struct rjob rj = {NULL, 10, TALOS_ERR_IO, {0}};
    struct wjob wj = {NULL, NULL, 0, 0, TALOS_ERR_IO, 0};
    uint8_t *big = calloc(1, 2 * 4096);
    struct timespec pause = {0, 20 * 1000 * 1000};
    pthread_t t = 0;

    assert_non_null(big);
    /* Remaining data drains first, then PEER_CLOSED; writes then fail. */
    pair_new(&p, 4096, 0);
    fill(in, sizeof(in), 7);
    assert_int_equal(talos_ring_write(&p.htx, in, sizeof(in), &w), TALOS_OK);
    talos_ring_close(&p.htx, &w);
    assert_int_equal(talos_ring_write(&p.htx, in, 1, &w), TALOS_ERR_PEER_CLOSED);
    assert_int_equal(talos_ring_read(&p.trx, out, sizeof(out), &w), TALOS_OK);
    assert_memory_equal(in, out, sizeof(out));
    assert_int_equal(talos_ring_read(&p.trx, out, 1, &w), TALOS_ERR_PEER_CLOSED);
    /* Closed mid-frame: the short read fails rather than returning less. */
    assert_int_equal(talos_ring_write(&p.ttx, in, 10, &w), TALOS_OK);
    talos_ring_close(&p.ttx, &w);
    assert_int_equal(talos_ring_read(&p.hrx, out, 20, &w), TALOS_ERR_PEER_CLOSED);
    pair_free(&p);

    /* A reader asleep on an empty ring is woken by close (spin=0, and no
     * timeout allowed: a lost close wakeup fails). */
    pair_new(&p, 4096, 0);
    rj.r = &p.trx;
    assert_int_equal(pthread_create(&t, NULL, rjob_run, &rj), 0);
    nanosleep(&pause, NULL);
    talos_ring_close(&p.htx, &w);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(rj.rc, TALOS_ERR_PEER_CLOSED);
    assert_int_equal(rj.f.timeouts + rj.f.lost, 0);

    /* A writer asleep on a full ring is woken when the reader closes. */
    wj.r = &p.ttx;
    wj.buf = big;
    wj.n = 2 * 4096;
    wj.spin = 0;
    assert_int_equal(pthread_create(&t, NULL, wjob_run, &wj), 0);
    nanosleep(&pause, NULL);
    talos_ring_close(&p.hrx, &w);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(wj.rc, TALOS_ERR_PEER_CLOSED);
    assert_int_equal(wj.lost, 0);
    pair_free(&p);
    free(big);
}

/* --- across fork(): the real two-process shape ------------------------------ */

/* TA side in the child: echo each frame until the host closes, then close. */
static int child_echo(void *shm, size_t len)
{
    struct talos_ring tx = {0}, rx = {0};
    struct fx f = {0};
    struct talos_ring_waiter w = fx_waiter(&f, 0, MAX_TIMEOUTS, &tx, &rx);
    uint8_t *buf = malloc(8 + 3 * STRESS_CAP + 64);
    int rc = buf ? talos_ring_attach(&tx, &rx, shm, len, 0) : TALOS_ERR_NOMEM;

    while (rc == TALOS_OK) {
        uint32_t n = 0;

        rc = talos_ring_read(&rx, buf, 8, &w);
        if (rc != TALOS_OK)
            break;
        n = get_u32(buf);
        if (n > 3 * STRESS_CAP + 64) {
            rc = TALOS_ERR_TOO_LARGE;
            break;
        }
        rc = talos_ring_read(&rx, buf + 8, n, &w);
        if (rc == TALOS_OK)
            rc = talos_ring_write(&tx, buf, 8 + (size_t)n, &w);
    }
    talos_ring_close(&tx, &w);
    free(buf);
    return rc == TALOS_ERR_PEER_CLOSED && f.lost == 0 ? 0 : 1;
}

static void test_fork(void **state)
{
    size_t len = talos_ring_shm_size(STRESS_CAP);
    void *shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    static const uint32_t sizes[] = {1, 7, STRESS_CAP - 8, STRESS_CAP, 3 * STRESS_CAP + 64, 1000};
    uint8_t *in = malloc(8 + 3 * STRESS_CAP + 64), *out = malloc(8 + 3 * STRESS_CAP + 64);
    struct talos_ring tx = {0}, rx = {0};
    struct fx f = {0};
    struct talos_ring_waiter w = fx_waiter(&f, 1000, MAX_TIMEOUTS, &tx, &rx);
    int status = -1;
    pid_t pid = -1;

    assert_true(shm != MAP_FAILED);
    assert_non_null(in);
    assert_non_null(out);
    assert_int_equal(talos_ring_pair_init(shm, len, STRESS_CAP), TALOS_OK);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_echo(shm, len));
    assert_int_equal(talos_ring_attach(&tx, &rx, shm, len, 1), TALOS_OK);
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            uint32_t n = sizes[i];

            put_u32(in, n);
            put_u32(in + 4, (uint32_t)round);
            fill(in + 8, n, ((uint64_t)round << 32) | i);
            assert_int_equal(talos_ring_write(&tx, in, 8 + (size_t)n, &w), TALOS_OK);
            assert_int_equal(talos_ring_read(&rx, out, 8 + (size_t)n, &w), TALOS_OK);
            assert_memory_equal(in, out, 8 + (size_t)n);
        }
    }
    talos_ring_close(&tx, &w);
    assert_int_equal(talos_ring_read(&rx, out, 1, &w), TALOS_ERR_PEER_CLOSED);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(f.lost, 0);
    munmap(shm, len);
    free(in);
    free(out);
}

/* --- latency (printed, not asserted) ------------------------------------------- */

struct echo {
    struct talos_ring *rx, *tx;
    uint32_t iters, spin;
    int jitter;
    int rc;
    struct fx f;
};

/* jitter: a fresh spin in [0, spin] for every call, so the reply lands at
 * every point of the other side's spin-then-sleep sequence. */
static uint32_t next_spin(const struct echo *e, uint64_t *s)
{
    return e->jitter ? (uint32_t)(splitmix(s) % (e->spin + 1)) : e->spin;
}

static void *echo_run(void *arg)
{
    struct echo *e = arg;
    struct talos_ring_waiter w = fx_waiter(&e->f, e->spin, MAX_TIMEOUTS, e->tx, e->rx);
    uint64_t s = 1;
    uint8_t m[8] = {0};

    e->rc = TALOS_OK;
    for (uint32_t i = 0; i < e->iters && e->rc == TALOS_OK; i++) {
        w.spin = next_spin(e, &s);
        e->rc = talos_ring_read(e->rx, m, sizeof(m), &w);
        w.spin = next_spin(e, &s);
        if (e->rc == TALOS_OK)
            e->rc = talos_ring_write(e->tx, m, sizeof(m), &w);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* 8-byte round trips host -> TA thread -> host; returns the sorted RTTs in
 * ns (caller frees). Asserts no lost wakeup on either side. */
static uint64_t *pingpong(uint32_t spin, uint32_t iters, int jitter)
{
    struct pair p = {0};
    struct echo e = {NULL, NULL, iters, spin, jitter, TALOS_ERR_IO, {0}};
    struct fx f = {0};
    struct talos_ring_waiter w = fx_waiter(&f, spin, MAX_TIMEOUTS, &p.htx, &p.hrx);
    uint64_t *rtt = calloc(iters, sizeof(*rtt));
    uint64_t s = 2;
    uint8_t m[8] = {0}, back[8] = {0};
    pthread_t t = 0;

    assert_non_null(rtt);
    pair_new(&p, 4096, 0);
    e.rx = &p.trx;
    e.tx = &p.ttx;
    assert_int_equal(pthread_create(&t, NULL, echo_run, &e), 0);
    for (uint32_t i = 0; i < iters; i++) {
        uint64_t t0 = now_ns();

        memcpy(m, &i, sizeof(i));
        w.spin = next_spin(&e, &s);
        assert_int_equal(talos_ring_write(&p.htx, m, sizeof(m), &w), TALOS_OK);
        w.spin = next_spin(&e, &s);
        assert_int_equal(talos_ring_read(&p.hrx, back, sizeof(back), &w), TALOS_OK);
        rtt[i] = now_ns() - t0;
        assert_memory_equal(m, back, sizeof(m));
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(e.rc, TALOS_OK);
    assert_int_equal(f.lost + e.f.lost, 0);
    if (f.timeouts + e.f.timeouts)
        printf("  note: %lu slow-peer timeouts (machine busy?)\n", f.timeouts + e.f.timeouts);
    qsort(rtt, iters, sizeof(*rtt), cmp_u64);
    pair_free(&p);
    return rtt;
}

static void print_rtt(const char *what, uint32_t spin, const uint64_t *rtt, uint32_t iters)
{
    printf("  ping-pong %s spin=%u: %u round trips of 8 B, median %llu ns, p90 %llu ns, "
           "p99 %llu ns\n",
           what, spin, iters, (unsigned long long)rtt[iters / 2],
           (unsigned long long)rtt[iters * 9ull / 10], (unsigned long long)rtt[iters * 99ull / 100]);
}

/* Every round trip is a publish racing a sleep on both sides; spins drawn
 * in [0, 64] move that race across the whole sleep handshake. A lost wakeup
 * shows up as a timeout with progress already made (asserted zero). */
static void test_lost_wakeup_hunt(void **state)
{
    free(pingpong(64, HUNT_ITERS, 1));
    free(pingpong(0, HUNT_ITERS / 2, 0));
}

static void test_pingpong(void **state)
{
    uint64_t *rtt = pingpong(10000, PINGPONG_ITERS, 0);

    print_rtt("polling", 10000, rtt, PINGPONG_ITERS);
    free(rtt);
    rtt = pingpong(0, PINGPONG_ITERS / 10, 0);
    print_rtt("futex", 0, rtt, PINGPONG_ITERS / 10);
    free(rtt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_attach_ok),
        cmocka_unit_test(test_attach_malformed),
        cmocka_unit_test(test_hostile_indices),
        cmocka_unit_test(test_wait_error_propagates),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_stress_spin0),
        cmocka_unit_test(test_stress_spin10000),
        cmocka_unit_test(test_lost_wakeup_hunt),
        cmocka_unit_test(test_pingpong),
    };

    setvbuf(stdout, NULL, _IOLBF, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
