/* Unit tests of write tracking (os/wtrack.c): every method that works on
 * this machine sees exactly the pages written, re-arms them, and loses no
 * write that races with a collect (a writer thread against a shadow copy,
 * the pre-copy invariant).
 *
 * One file over 400 lines: the same cases for each tracking method. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os/wtrack.h"
#include "os/wtrack_impl.h" /* talos_wtrack_uffd_discard_seen */

#define NPAGES 200 /* more than 3 bitmap words, not a multiple of 64 */

static size_t page;

static const enum talos_wtrack_method methods[] = {TALOS_WTRACK_UFFD, TALOS_WTRACK_MPROTECT,
                                                   TALOS_WTRACK_SOFTDIRTY};

static uint8_t *region(size_t n)
{
    void *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static int bit(const uint64_t *bm, size_t i)
{
    return (int)((bm[i / 64] >> (i % 64)) & 1);
}

static size_t collect(struct talos_wtrack *w, uint64_t *bm)
{
    size_t nd = 99;
    memset(bm, 0, (NPAGES + 63) / 64 * 8);
    assert_int_equal(talos_wtrack_collect(w, bm, NPAGES, &nd), TALOS_OK);
    return nd;
}

static void test_methods_probe(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        print_message("wtrack: %-10s %s\n",
                      methods[i] == TALOS_WTRACK_UFFD       ? "uffd"
                      : methods[i] == TALOS_WTRACK_MPROTECT ? "mprotect"
                                                            : "soft-dirty",
                      talos_wtrack_available(methods[i]) ? "works" : "not available");
    /* mprotect works everywhere, so AUTO always finds something. */
    assert_true(talos_wtrack_available(TALOS_WTRACK_MPROTECT));
    assert_false(talos_wtrack_available(TALOS_WTRACK_AUTO));
    assert_false(talos_wtrack_available((enum talos_wtrack_method)77));
}

static void test_bad_args(void **state)
{
    uint8_t *r = region(4);
    struct talos_wtrack *w = (struct talos_wtrack *)&w;
    uint64_t bm[4] = {0};
    size_t nd = 0;

    (void)state;
    assert_int_equal(talos_wtrack_start(r, 4 * page, TALOS_WTRACK_AUTO, NULL), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_start(r + 1, page, TALOS_WTRACK_AUTO, &w), TALOS_ERR_INVALID_ARG);
    assert_null(w);
    assert_int_equal(talos_wtrack_start(r, page + 1, TALOS_WTRACK_AUTO, &w), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_start(r, 0, TALOS_WTRACK_AUTO, &w), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_start(NULL, page, TALOS_WTRACK_AUTO, &w), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_start(r, page, (enum talos_wtrack_method)9, &w),
                     TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_start(r, 4 * page, TALOS_WTRACK_AUTO, &w), TALOS_OK);
    assert_non_null(w);
    assert_int_equal(talos_wtrack_collect(w, bm, 3, &nd), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_collect(w, NULL, 4, &nd), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_collect(w, bm, 4, NULL), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_wtrack_collect(NULL, bm, 4, &nd), TALOS_ERR_INVALID_ARG);
    talos_wtrack_stop(w);
    talos_wtrack_stop(NULL);
    assert_string_equal(talos_wtrack_method_name(NULL), "none");
    munmap(r, 4 * page);
}

/* Exact bits, on populated and unpopulated pages; re-armed after each
 * collect; the bitmap is ORed into; reads are not writes. */
static void exact(enum talos_wtrack_method m)
{
    uint8_t *r = region(NPAGES);
    struct talos_wtrack *w = NULL;
    uint64_t bm[(NPAGES + 63) / 64];
    size_t nd = 0;
    volatile uint8_t sink = 0;

    for (size_t i = 0; i < NPAGES / 2; i++) /* lower half populated */
        r[i * page] = 1;
    assert_int_equal(talos_wtrack_start(r, NPAGES * page, m, &w), TALOS_OK);
    assert_int_equal(talos_wtrack_method(w), m);
    assert_int_equal(collect(w, bm), 0);
    for (size_t i = 0; i < NPAGES; i++)
        assert_int_equal(bit(bm, i), 0);
    for (size_t i = 0; i < NPAGES; i += 7) {
        r[i * page + (i % page)] = 2;
        r[i * page + page - 1] = 3; /* second write to the same page */
        sink = r[(i + 1) % NPAGES * page];
    }
    (void)sink;
    nd = collect(w, bm);
    assert_int_equal(nd, (NPAGES + 6) / 7);
    for (size_t i = 0; i < NPAGES; i++)
        assert_int_equal(bit(bm, i), i % 7 == 0);
    assert_int_equal(collect(w, bm), 0);
    /* Written again after re-arm: seen again. OR semantics. */
    r[63 * page] = 5;
    r[64 * page] = 5;
    r[(NPAGES - 1) * page + 17] = 5;
    memset(bm, 0, sizeof(bm));
    bm[0] = 1;
    assert_int_equal(talos_wtrack_collect(w, bm, NPAGES, &nd), TALOS_OK);
    assert_int_equal(nd, 3);
    assert_int_equal(bm[0], 1 | (1ULL << 63));
    assert_int_equal(bm[1], 1);
    assert_int_equal(bm[(NPAGES - 1) / 64], 1ULL << ((NPAGES - 1) % 64));
    talos_wtrack_stop(w);
    /* Stopped: writable, nothing left armed. */
    memset(r, 9, NPAGES * page);
    munmap(r, NPAGES * page);
}

static void test_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (!talos_wtrack_available(methods[i]))
            continue;
        print_message("  method %d\n", (int)methods[i]);
        exact(methods[i]);
    }
}

static void test_auto_prefers_uffd(void **state)
{
    uint8_t *r = region(4);
    struct talos_wtrack *w = NULL;

    (void)state;
    assert_int_equal(talos_wtrack_start(r, 4 * page, TALOS_WTRACK_AUTO, &w), TALOS_OK);
    assert_int_equal(talos_wtrack_method(w), talos_wtrack_available(TALOS_WTRACK_UFFD)
                                                 ? TALOS_WTRACK_UFFD
                                                 : TALOS_WTRACK_MPROTECT);
    print_message("wtrack: AUTO chose %s\n", talos_wtrack_method_name(w));
    talos_wtrack_stop(w);
    munmap(r, 4 * page);
}

/* Two trackers on one range would each re-arm the other's pages. */
static void test_overlap_busy(void **state)
{
    const enum talos_wtrack_method m2[] = {TALOS_WTRACK_UFFD, TALOS_WTRACK_MPROTECT};
    uint8_t *r = region(8);

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct talos_wtrack *a = NULL, *b = NULL;

        if (!talos_wtrack_available(m2[i]))
            continue;
        assert_int_equal(talos_wtrack_start(r, 4 * page, m2[i], &a), TALOS_OK);
        assert_int_equal(talos_wtrack_start(r + 3 * page, 2 * page, m2[i], &b), TALOS_ERR_BUSY);
        assert_null(b);
        assert_int_equal(talos_wtrack_start(r + 4 * page, 4 * page, m2[i], &b), TALOS_OK);
        talos_wtrack_stop(a);
        talos_wtrack_stop(b);
    }
    munmap(r, 8 * page);
}

/* UFFD: pages discarded with MADV_DONTNEED changed (to zeros) without a
 * write: reported, once. The kernel's own writes (read(2) into the range)
 * are seen and do not fail. */
static void uffd_discard_and_kernel_write(void)
{
    uint8_t *r = NULL;
    struct talos_wtrack *w = NULL;
    uint64_t bm[(NPAGES + 63) / 64];
    int fds[2] = {-1, -1};

    r = region(NPAGES);
    memset(r, 1, 20 * page);
    assert_int_equal(talos_wtrack_start(r, NPAGES * page, TALOS_WTRACK_UFFD, &w), TALOS_OK);
    assert_int_equal(madvise(r + 4 * page, 3 * page, MADV_DONTNEED), 0);
    /* 100-101 were never populated: discarding them changes nothing, but
     * reporting them is harmless; 4-6 must be reported. */
    assert_int_equal(madvise(r + 100 * page, 2 * page, MADV_DONTNEED), 0);
    assert_int_equal(collect(w, bm) >= 3, 1);
    for (size_t i = 4; i < 7; i++)
        assert_int_equal(bit(bm, i), 1);
    for (size_t i = 0; i < 20; i++)
        if (i < 4 || i >= 7)
            assert_int_equal(bit(bm, i), 0);
    assert_int_equal(collect(w, bm), 0);
    r[5 * page] = 3; /* a write after the discard: seen */
    assert_int_equal(collect(w, bm), 1);
    assert_int_equal(bit(bm, 5), 1);

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "hello", 5), 5);
    assert_int_equal(read(fds[0], r + 150 * page + 10, 5), 5);
    assert_int_equal(collect(w, bm), 1);
    assert_int_equal(bit(bm, 150), 1);
    close(fds[0]);
    close(fds[1]);
    talos_wtrack_stop(w);
    munmap(r, NPAGES * page);
}

static void test_uffd_discard_and_kernel_write(void **state)
{
    (void)state;
    if (!talos_wtrack_available(TALOS_WTRACK_UFFD))
        skip();
    uffd_discard_and_kernel_write();
}

/* UFFD: discarding a whole aligned 2 MiB (one page table; the kernel may
 * free the table itself, CONFIG_PT_RECLAIM) is reported too, once. */
static void uffd_discard_table(void)
{
    size_t two = (size_t)2 << 20, len = 3 * two, np = len / page;
    uint8_t *m = NULL, *p = NULL;
    struct talos_wtrack *w = NULL;
    uint64_t *bm = NULL;
    size_t nd = 0;

    m = mmap(NULL, len + two, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    p = (uint8_t *)(((uintptr_t)m + two - 1) & ~(uintptr_t)(two - 1));
    bm = calloc(np / 64, 8);
    assert_non_null(bm);
    memset(p, 1, len);
    assert_int_equal(talos_wtrack_start(p, len, TALOS_WTRACK_UFFD, &w), TALOS_OK);
    assert_int_equal(talos_wtrack_collect(w, bm, np, &nd), TALOS_OK);
    assert_int_equal(nd, 0);
    assert_int_equal(madvise(p + two, two, MADV_DONTNEED), 0);
    assert_int_equal(talos_wtrack_collect(w, bm, np, &nd), TALOS_OK);
    assert_int_equal(nd, two / page);
    for (size_t i = 0; i < np; i++)
        assert_int_equal((int)((bm[i / 64] >> (i % 64)) & 1), i >= two / page && i < 2 * two / page);
    assert_int_equal(talos_wtrack_collect(w, bm, np, &nd), TALOS_OK);
    assert_int_equal(nd, 0);
    p[two + 5] = 2;
    assert_int_equal(talos_wtrack_collect(w, bm, np, &nd), TALOS_OK);
    assert_int_equal(nd, 1);
    talos_wtrack_stop(w);
    free(bm);
    munmap(m, len + two);
}

static void test_uffd_discard_table(void **state)
{
    (void)state;
    if (!talos_wtrack_available(TALOS_WTRACK_UFFD))
        skip();
    uffd_discard_table();
}

/* --- the race: a writer thread against collects and a shadow copy -------- */

struct race {
    uint8_t *r;
    size_t npages;
    atomic_int stop;
    int discard; /* also discard pages now and then (UFFD only) */
};

static void *writer(void *arg)
{
    struct race *s = arg;
    uint64_t x = 88172645463325252ULL, v = 0;

    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        size_t pg, off;

        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pg = (size_t)(x % s->npages);
        off = (size_t)((x >> 32) % (page / 8)) * 8;
        if (s->discard && x % 997 == 0)
            (void)madvise(s->r + pg * page, page, MADV_DONTNEED);
        else
            atomic_store_explicit((_Atomic uint64_t *)(void *)(s->r + pg * page + off), ++v,
                                  memory_order_relaxed);
    }
    return NULL;
}

static void race(enum talos_wtrack_method m, int discard, size_t npages)
{
    struct race s = {.r = region(npages), .npages = npages, .discard = discard};
    uint8_t *shadow = malloc(npages * page);
    struct talos_wtrack *w = NULL;
    uint64_t bm[(NPAGES + 63) / 64];
    pthread_t t;
    size_t rounds = 0, copied = 0;
    struct timespec t0, t1;

    assert_non_null(shadow);
    memset(s.r, 0x5a, npages / 2 * page);
    assert_int_equal(talos_wtrack_start(s.r, npages * page, m, &w), TALOS_OK);
    /* Round 0 of a pre-copy: everything, after tracking started. */
    memcpy(shadow, s.r, npages * page);
    assert_int_equal(pthread_create(&t, NULL, writer, &s), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        size_t nd = collect(w, bm);

        copied += nd;
        for (size_t i = 0; i < npages; i++)
            if (bit(bm, i))
                memcpy(shadow + i * page, s.r + i * page, page);
        rounds++;
        /* A pre-copy round takes time (it sends the pages): let the writer
         * dirty a few pages between collects. */
        for (int k = 0; k < 20; k++)
            sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 700);
    atomic_store(&s.stop, 1);
    pthread_join(t, NULL);
    /* The stop-and-copy round. */
    (void)collect(w, bm);
    for (size_t i = 0; i < npages; i++)
        if (bit(bm, i))
            memcpy(shadow + i * page, s.r + i * page, page);
    print_message("  %s%s, %zu pages: %zu rounds, %zu pages re-sent\n",
                  talos_wtrack_method_name(w), discard ? " + discards" : "", npages, rounds, copied);
    for (size_t i = 0; i < npages; i++)
        if (memcmp(shadow + i * page, s.r + i * page, page) != 0)
            fail_msg("page %zu differs from its copy: a write was lost", i);
    talos_wtrack_stop(w);
    munmap(s.r, npages * page);
    free(shadow);
}

static void test_race_no_lost_write(void **state)
{
    (void)state;
    /* Many pages: wide coverage; few pages: the writer keeps hitting the
     * pages a collect is re-arming (where a wrong order loses writes). */
    if (talos_wtrack_available(TALOS_WTRACK_UFFD)) {
        race(TALOS_WTRACK_UFFD, 0, NPAGES);
        race(TALOS_WTRACK_UFFD, 1, NPAGES);
        race(TALOS_WTRACK_UFFD, 0, 3);
    }
    race(TALOS_WTRACK_MPROTECT, 0, NPAGES);
    race(TALOS_WTRACK_MPROTECT, 0, 3);
}

/* UFFD with the second scan (for kernels whose "written" scan does not
 * report discarded pages), the first on the kernel's slow path. On this
 * machine's kernel both paths of the first scan report discarded pages
 * already, so this shows that the second scan reports nothing extra (exact
 * bits) and loses nothing; that it finds what a first scan missed cannot be
 * shown here. */
static void test_uffd_second_scan(void **state)
{
    int saved = 0;

    (void)state;
    if (!talos_wtrack_available(TALOS_WTRACK_UFFD))
        skip();
    saved = atomic_load(&talos_wtrack_uffd_discard_seen);
    atomic_store(&talos_wtrack_uffd_discard_seen, -2);
    exact(TALOS_WTRACK_UFFD);
    uffd_discard_and_kernel_write();
    uffd_discard_table();
    race(TALOS_WTRACK_UFFD, 1, NPAGES);
    atomic_store(&talos_wtrack_uffd_discard_seen, saved);
}

/* Start and stop while a thread writes: a write that faulted just before
 * stop made the range writable must be retried, not taken for a crash. */
static void test_stop_while_writing(void **state)
{
    const enum talos_wtrack_method m2[] = {TALOS_WTRACK_UFFD, TALOS_WTRACK_MPROTECT};

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        struct race s = {.r = region(8), .npages = 8};
        pthread_t t;

        if (!talos_wtrack_available(m2[k]))
            continue;
        assert_int_equal(pthread_create(&t, NULL, writer, &s), 0);
        for (int i = 0; i < 2000; i++) {
            struct talos_wtrack *w = NULL;

            assert_int_equal(talos_wtrack_start(s.r, 8 * page, m2[k], &w), TALOS_OK);
            talos_wtrack_stop(w);
        }
        atomic_store(&s.stop, 1);
        pthread_join(t, NULL);
        munmap(s.r, 8 * page);
    }
}

/* MPROTECT: a fault outside every tracked range reaches the handler that
 * was there before (here: one that exits 42). */
static void on_segv_exit(int sig)
{
    (void)sig;
    _exit(42);
}

static void test_mprotect_chains(void **state)
{
    pid_t pid;
    int st = 0;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t *r = region(4);
        struct talos_wtrack *w = NULL;

        signal(SIGSEGV, on_segv_exit);
        if (talos_wtrack_start(r, 2 * page, TALOS_WTRACK_MPROTECT, &w) != TALOS_OK)
            _exit(1);
        r[0] = 1; /* ours: handled, no exit */
        if (mprotect(r + 3 * page, page, PROT_NONE) != 0)
            _exit(2);
        ((volatile uint8_t *)r)[3 * page] = 1; /* not ours */
        _exit(3);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods_probe),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_auto_prefers_uffd),
        cmocka_unit_test(test_overlap_busy),
        cmocka_unit_test(test_uffd_discard_and_kernel_write),
        cmocka_unit_test(test_uffd_discard_table),
        cmocka_unit_test(test_race_no_lost_write),
        cmocka_unit_test(test_uffd_second_scan),
        cmocka_unit_test(test_stop_while_writing),
        cmocka_unit_test(test_mprotect_chains),
    };
    page = (size_t)sysconf(_SC_PAGESIZE);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
