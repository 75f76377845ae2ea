/* Unit tests of the state arena allocator (ta/arena.c).
 *
 * One file over 400 lines: the cases of one allocator, each short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ta/arena.h"

/* ASan's shadow covers the normal arena address; use its high memory, clear
 * of its allocator, which sits at 0x600000000000-0x640000000000 on x86-64. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang's spelling */
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#define TEST_BASE ((uintptr_t)0x200000000000ULL)
#else
#define TEST_BASE ((uintptr_t)0x1000000000ULL)
#endif
#define BIG_RESERVE ((size_t)1 << 30)
#define SMALL_RESERVE ((size_t)256 << 10)

static struct talos_arena_hdr *H(void)
{
    return (struct talos_arena_hdr *)TEST_BASE;
}

static int setup_arena(size_t reserve)
{
    if (talos_arena_map(TEST_BASE, reserve) != TALOS_OK)
        return -1;
    return talos_arena_format() == TALOS_OK ? 0 : -1;
}

static int setup_big(void **state)
{
    (void)state;
    return setup_arena(BIG_RESERVE);
}

static int setup_small(void **state)
{
    (void)state;
    return setup_arena(SMALL_RESERVE);
}

static int teardown(void **state)
{
    (void)state;
    return talos_arena_unmap() == TALOS_OK ? 0 : -1;
}

/* splitmix64: deterministic, so a failure replays. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* All n bytes equal b (memcmp of the block with itself shifted by one). */
static bool all_bytes(const void *p, size_t n, unsigned char b)
{
    const unsigned char *q = p;

    return n == 0 || (q[0] == b && (n == 1 || memcmp(q, q + 1, n - 1) == 0));
}

static bool in_arena(const void *p)
{
    uintptr_t a = (uintptr_t)p;

    return a >= TEST_BASE + TALOS_ARENA_FIRST_CHUNK && a < TEST_BASE + talos_arena_used_bytes();
}

/* Run fn(arg) in a child; assert the child died of SIGABRT. */
static void expect_abort(void (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    int status = 0;

    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        if (devnull >= 0)
            (void)dup2(devnull, STDERR_FILENO);
        signal(SIGABRT, SIG_DFL);
        fn(arg);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* --- mapping ------------------------------------------------------------- */

static void test_map_errors(void **state)
{
    void *blocker = MAP_FAILED;

    (void)state;
    assert_int_equal(talos_arena_check(), TALOS_ERR_STATE);
    assert_int_equal(talos_arena_format(), TALOS_ERR_STATE);
    assert_int_equal(talos_arena_unmap(), TALOS_ERR_STATE);
    assert_null(talos_arena_alloc(16));
    assert_int_equal(talos_arena_map(TEST_BASE + 1, BIG_RESERVE), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_arena_map(TEST_BASE, 1000), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_arena_map(0, BIG_RESERVE), TALOS_ERR_INVALID_ARG);

    /* Something already mapped inside the range. */
    blocker = mmap((void *)(TEST_BASE + 65536), 4096, PROT_READ,
                   MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(blocker == (void *)(TEST_BASE + 65536));
    assert_int_equal(talos_arena_map(TEST_BASE, BIG_RESERVE), TALOS_ERR_EXISTS);
    assert_int_equal(munmap(blocker, 4096), 0);

    assert_int_equal(talos_arena_map(TEST_BASE, BIG_RESERVE), TALOS_OK);
    assert_int_equal(talos_arena_map(TEST_BASE, BIG_RESERVE), TALOS_ERR_STATE);
    assert_true(talos_arena_base() == TEST_BASE);
    assert_null(talos_arena_alloc(16)); /* mapped but neither formatted nor checked */
    assert_int_equal(talos_arena_format(), TALOS_OK);
    assert_int_equal(talos_arena_check(), TALOS_OK);
    assert_int_equal(talos_arena_used_bytes(), (size_t)sysconf(_SC_PAGESIZE));
    assert_int_equal(talos_arena_in_use(), 0);
    assert_int_equal(talos_arena_unmap(), TALOS_OK);
    assert_true(talos_arena_base() == 0);
}

/* --- allocation ------------------------------------------------------------ */

static void test_alignment(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 600; n++) {
        void *p = talos_arena_alloc(n);

        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_true(in_arena(p));
    }
    assert_int_equal(talos_arena_in_use(), 600 * 601 / 2);
    assert_int_equal(talos_arena_check(), TALOS_OK);
}

static void test_zeroed(void **state)
{
    unsigned char *p = NULL, *q = NULL;

    (void)state;
    p = talos_arena_alloc(1000);
    assert_non_null(p);
    assert_non_null(talos_arena_alloc(16)); /* keep p off top */
    assert_true(all_bytes(p, 1000, 0));
    memset(p, 0xA5, 1000);
    talos_arena_free(p);
    assert_true(all_bytes(p, 1000, 0)); /* wiped on free, not only on reuse */
    q = talos_arena_alloc(1000);
    assert_ptr_equal(q, p);
    assert_true(all_bytes(q, 1000, 0));
    /* Reuse of a split chunk is zeroed as well. */
    memset(q, 0x5A, 1000);
    talos_arena_free(q);
    q = talos_arena_alloc(100);
    assert_ptr_equal(q, p);
    assert_true(all_bytes(q, 100, 0));
    assert_int_equal(talos_arena_check(), TALOS_OK);
}

static void test_zero_and_huge(void **state)
{
    size_t before = 0;

    (void)state;
    assert_non_null(talos_arena_alloc(1));
    before = talos_arena_used_bytes();
    assert_null(talos_arena_alloc(0));
    assert_null(talos_arena_alloc(SIZE_MAX));
    assert_null(talos_arena_alloc(SIZE_MAX - 15));
    assert_null(talos_arena_alloc(SIZE_MAX - 24));
    assert_null(talos_arena_alloc(SIZE_MAX / 2 + 1));
    assert_null(talos_arena_alloc(BIG_RESERVE));
    assert_null(talos_arena_alloc(BIG_RESERVE + 1));
    assert_int_equal(talos_arena_used_bytes(), before);
    assert_int_equal(talos_arena_in_use(), 1);
    assert_int_equal(talos_arena_check(), TALOS_OK);
}

static void test_exhaustion(void **state)
{
    void *blocks[512] = {0};
    size_t count = 0, second = 0;

    (void)state;
    while (count < 512 && (blocks[count] = talos_arena_alloc(1000)) != NULL)
        count++;
    assert_true(count > 200 && count < 512);
    assert_true(talos_arena_used_bytes() <= SMALL_RESERVE);
    assert_null(talos_arena_alloc(1000));
    assert_int_equal(talos_arena_check(), TALOS_OK);

    /* Free every other block: the holes serve new requests. */
    for (size_t i = 0; i < count; i += 2)
        talos_arena_free(blocks[i]);
    for (size_t i = 0; i < count; i += 2) {
        blocks[i] = talos_arena_alloc(900);
        assert_non_null(blocks[i]);
        second++;
    }
    assert_null(talos_arena_alloc(1000));
    assert_int_equal(talos_arena_check(), TALOS_OK);
    for (size_t i = 0; i < count; i++)
        talos_arena_free(blocks[i]);
    assert_int_equal(talos_arena_in_use(), 0);
    assert_int_equal(talos_arena_used_bytes(), (size_t)sysconf(_SC_PAGESIZE));
    assert_int_equal(H()->n_free, 0);
    blocks[0] = talos_arena_alloc(SMALL_RESERVE / 2);
    assert_non_null(blocks[0]);
    talos_arena_free(blocks[0]);
    /* The exact remainder of the reserve fits; one byte more does not. */
    assert_null(talos_arena_alloc(SMALL_RESERVE - TALOS_ARENA_FIRST_CHUNK - 24 + 1));
    blocks[0] = talos_arena_alloc(SMALL_RESERVE - TALOS_ARENA_FIRST_CHUNK - 24);
    assert_non_null(blocks[0]);
    assert_int_equal(talos_arena_used_bytes(), SMALL_RESERVE);
    assert_null(talos_arena_alloc(1));
    assert_int_equal(talos_arena_check(), TALOS_OK);
    talos_arena_free(blocks[0]);
    assert_int_equal(talos_arena_used_bytes(), (size_t)sysconf(_SC_PAGESIZE));
}

static void coalesce_order(const int order[3])
{
    void *blk[3] = {NULL, NULL, NULL}, *guard = NULL, *big = NULL;

    for (int i = 0; i < 3; i++)
        blk[i] = talos_arena_alloc(200);
    guard = talos_arena_alloc(200); /* keeps the three off top */
    assert_non_null(guard);
    for (int i = 0; i < 3; i++) {
        talos_arena_free(blk[order[i]]);
        /* check() refuses adjacent free chunks: merging was immediate. */
        assert_int_equal(talos_arena_check(), TALOS_OK);
    }
    assert_int_equal(H()->n_free, 1);
    /* The whole merged chunk: three payloads plus the two inner tag sets. */
    big = talos_arena_alloc(3 * 200 + 2 * 24);
    assert_ptr_equal(big, blk[0]);
    assert_int_equal(H()->n_free, 0);
    talos_arena_free(big);
    talos_arena_free(guard);
    assert_int_equal(H()->top, TALOS_ARENA_FIRST_CHUNK);
}

static void test_coalesce(void **state)
{
    static const int orders[][3] = {
        {0, 1, 2}, {2, 1, 0}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
        coalesce_order(orders[i]);
    assert_int_equal(talos_arena_check(), TALOS_OK);
}

static void test_top_shrink(void **state)
{
    size_t base_used = 0;
    void *small = NULL, *x = NULL, *y = NULL;

    (void)state;
    small = talos_arena_alloc(64);
    base_used = talos_arena_used_bytes();
    x = talos_arena_alloc(1 << 20);
    y = talos_arena_alloc(1 << 20);
    assert_true(talos_arena_used_bytes() >= base_used + (2u << 20));
    talos_arena_free(x); /* not at top: used stays */
    assert_true(talos_arena_used_bytes() >= base_used + (2u << 20));
    talos_arena_free(y); /* merges with x and drops top below both */
    assert_int_equal(talos_arena_used_bytes(), base_used);
    assert_int_equal(H()->n_free, 0);
    talos_arena_free(small);
    assert_int_equal(H()->top, TALOS_ARENA_FIRST_CHUNK);
    /* Everything above top is zero: freed pages carry no old bytes. */
    assert_true(all_bytes((const unsigned char *)TEST_BASE + TALOS_ARENA_FIRST_CHUNK,
                          (3u << 20), 0));
    assert_int_equal(talos_arena_check(), TALOS_OK);
}

static void test_root(void **state)
{
    void *a = NULL, *b = NULL;

    (void)state;
    assert_null(talos_arena_root());
    a = talos_arena_alloc(32);
    b = talos_arena_alloc(32);
    talos_arena_set_root(a);
    assert_ptr_equal(talos_arena_root(), a);
    talos_arena_set_root(b);
    assert_ptr_equal(talos_arena_root(), b);
    talos_arena_set_root(NULL);
    assert_null(talos_arena_root());
    talos_arena_set_root(a);
    talos_arena_free(a); /* the root never dangles */
    assert_null(talos_arena_root());
    assert_int_equal(talos_arena_check(), TALOS_OK);
}

/* --- aborts ---------------------------------------------------------------- */

static void do_free(void *p)
{
    talos_arena_free(p);
}

static void do_double_free(void *p)
{
    talos_arena_free(p);
    talos_arena_free(p);
}

static void do_set_root(void *p)
{
    talos_arena_set_root(p);
}

static void do_overflow_then_free(void *p)
{
    /* Write past the end of a 100-byte block over its own foot tag. */
    memset(p, 0x41, 100 + 64);
    talos_arena_free(p);
}

static char *next_block;
static void do_smash_neighbour_then_free(void *p)
{
    /* The free chunk after p gets a head tag its foot tag disagrees with. */
    uint64_t fake = 64;

    memcpy(next_block - 16, &fake, sizeof fake);
    talos_arena_free(p);
}

static void test_abort_on_bad_free(void **state)
{
    int on_stack = 0;
    void *heap = malloc(64);
    char *p = NULL, *q = NULL, *r = NULL;

    (void)state;
    assert_non_null(heap);
    p = talos_arena_alloc(100);
    q = talos_arena_alloc(100);
    r = talos_arena_alloc(100);
    assert_non_null(r);
    talos_arena_free(q); /* a free neighbour for the overflow case */
    expect_abort(do_double_free, p);
    expect_abort(do_free, q);                      /* already free */
    expect_abort(do_free, &on_stack);              /* outside the arena */
    expect_abort(do_free, heap);                   /* the C heap */
    expect_abort(do_free, p + 16);                 /* inside a block */
    expect_abort(do_free, p + 1);                  /* misaligned */
    expect_abort(do_free, (void *)(TEST_BASE + 8)); /* the header */
    expect_abort(do_free, (void *)(TEST_BASE + talos_arena_used_bytes() + 4096));
    expect_abort(do_set_root, heap);
    expect_abort(do_set_root, &on_stack);
    expect_abort(do_overflow_then_free, p);
    next_block = q;
    expect_abort(do_smash_neighbour_then_free, p);
    free(heap);
    /* The parent's arena is untouched by the children. */
    assert_int_equal(talos_arena_check(), TALOS_OK);
    talos_arena_free(p);
    talos_arena_free(r);
    assert_int_equal(talos_arena_in_use(), 0);
}

/* --- stress ---------------------------------------------------------------- */

#define SLOTS 2048
struct slot {
    unsigned char *p;
    size_t n;
    unsigned char pat;
};

static size_t stress_size(void)
{
    if (rnd() % 400 == 0)
        return (size_t)(1u << 20) + (size_t)(rnd() % (3u << 20)); /* 1..4 MiB */
    return 1 + (size_t)(rnd() % 65536);
}

/* talos_arena_realloc (D47): in place when the chunk already fits, with
 * the recorded size and the bytes past it kept right; moved otherwise with
 * the contents; NULL and 0 as malloc and free; the full audit passes after
 * each step; talos_arena_size follows. */
static void test_arena_realloc(void **state)
{
    (void)state;
    uint8_t *p = talos_arena_realloc(NULL, 33); /* alloc */
    assert_non_null(p);
    memset(p, 0xab, 33);
    assert_int_equal(talos_arena_size(p), 33);
    /* 33 -> 40: one 64-byte chunk serves both (in place). */
    uint8_t *q = talos_arena_realloc(p, 40);
    assert_ptr_equal(q, p);
    assert_int_equal(talos_arena_size(q), 40);
    assert_int_equal(q[32], 0xab);
    assert_int_equal(q[33], 0); /* the grown bytes were zero */
    memset(q, 0xcd, 40);
    /* 40 -> 34, still in place: bytes past 34 are zeroed (free bytes are). */
    q = talos_arena_realloc(q, 34);
    assert_ptr_equal(q, p);
    assert_int_equal(talos_arena_size(q), 34);
    assert_int_equal(q[33], 0xcd);
    for (int i = 34; i < 40; i++)
        assert_int_equal(q[i], 0);
    assert_int_equal(talos_arena_check(), TALOS_OK);
    assert_int_equal(talos_arena_in_use(), 34);
    /* Grown past its chunk: moved, contents kept, the old block freed. */
    uint8_t *blocker = talos_arena_alloc(16); /* keeps q from growing at top */
    uint8_t *r = talos_arena_realloc(q, 5000);
    assert_non_null(r);
    assert_ptr_not_equal(r, q);
    assert_int_equal(talos_arena_size(r), 5000);
    for (int i = 0; i < 34; i++)
        assert_int_equal(r[i], 0xcd);
    for (int i = 34; i < 5000; i++)
        assert_int_equal(r[i], 0);
    assert_int_equal(talos_arena_check(), TALOS_OK);
    assert_int_equal(talos_arena_in_use(), 5000 + 16);
    /* Shrunk a lot: moved to a smaller chunk. */
    uint8_t *s2 = talos_arena_realloc(r, 10);
    assert_non_null(s2);
    assert_int_equal(talos_arena_size(s2), 10);
    assert_int_equal(s2[9], 0xcd);
    assert_int_equal(talos_arena_check(), TALOS_OK);
    /* n 0 frees. */
    assert_null(talos_arena_realloc(s2, 0));
    talos_arena_free(blocker);
    assert_int_equal(talos_arena_in_use(), 0);
    assert_int_equal(talos_arena_check(), TALOS_OK);
    assert_int_equal(talos_arena_size(NULL), 0);
}

static void do_realloc_freed(void *p)
{
    (void)talos_arena_realloc(p, 100);
}

static void do_size_foreign(void *p)
{
    (void)talos_arena_size((uint8_t *)p + 16);
}

/* A freed or interior pointer handed to realloc or size ends the TA. */
static void test_realloc_abort(void **state)
{
    (void)state;
    void *p = talos_arena_alloc(100), *keep = talos_arena_alloc(100);
    expect_abort(do_size_foreign, p);
    talos_arena_free(p);
    expect_abort(do_realloc_freed, p);
    talos_arena_free(keep);
}

static void test_stress(void **state)
{
    static struct slot slots[SLOTS];
    size_t live_bytes = 0, base_used = talos_arena_used_bytes();

    (void)state;
    memset(slots, 0, sizeof slots);
    rng_state = 42;
    for (unsigned op = 1; op <= 200000; op++) {
        struct slot *s = &slots[rnd() % SLOTS];

        if (s->p == NULL) {
            s->n = stress_size();
            s->p = talos_arena_alloc(s->n);
            assert_non_null(s->p);
            assert_int_equal((uintptr_t)s->p % 16, 0);
            assert_true(all_bytes(s->p, s->n, 0));
            s->pat = (unsigned char)(op | 1);
            memset(s->p, s->pat, s->n);
            live_bytes += s->n;
        } else {
            assert_true(all_bytes(s->p, s->n, s->pat));
            talos_arena_free(s->p);
            live_bytes -= s->n;
            s->p = NULL;
        }
        if (op % 1000 == 0) {
            assert_int_equal(talos_arena_check(), TALOS_OK);
            assert_int_equal(talos_arena_in_use(), live_bytes);
        }
    }
    for (size_t i = 0; i < SLOTS; i++) {
        if (slots[i].p != NULL) {
            assert_true(all_bytes(slots[i].p, slots[i].n, slots[i].pat));
            talos_arena_free(slots[i].p);
        }
    }
    assert_int_equal(talos_arena_in_use(), 0);
    assert_int_equal(talos_arena_used_bytes(), base_used);
    assert_int_equal(talos_arena_check(), TALOS_OK);
}

/* Same calls on a fresh arena, same addresses. */
static void run_sequence(uintptr_t *out, size_t nops)
{
    void *held[64] = {NULL};

    rng_state = 7;
    for (size_t i = 0; i < nops; i++) {
        size_t k = rnd() % 64;

        if (held[k] == NULL) {
            held[k] = talos_arena_alloc(1 + rnd() % 5000);
            out[i] = (uintptr_t)held[k];
        } else {
            talos_arena_free(held[k]);
            held[k] = NULL;
            out[i] = 0;
        }
    }
}

static void test_determinism(void **state)
{
    enum { NOPS = 5000 };
    static uintptr_t first[NOPS], second[NOPS];

    (void)state;
    run_sequence(first, NOPS);
    assert_int_equal(talos_arena_unmap(), TALOS_OK);
    assert_int_equal(setup_arena(BIG_RESERVE), 0);
    run_sequence(second, NOPS);
    assert_memory_equal(first, second, sizeof first);
}

/* --- migration ------------------------------------------------------------- */

struct node {
    uint64_t id;
    struct node *next;
    unsigned char *data;
    size_t len;
};

/* A linked list from the root with holes on the free lists; returns the
 * snapshot of [base, base + used) in *snap (malloc'd). */
static size_t build_and_snapshot(unsigned char **snap, size_t count)
{
    struct node *head = NULL;
    void *holes[64] = {NULL};
    size_t used = 0;

    for (size_t i = 0; i < count; i++) {
        struct node *nd = talos_arena_alloc(sizeof *nd);

        assert_non_null(nd);
        if (i < 64)
            holes[i] = talos_arena_alloc(100 + i * 37);
        nd->id = i;
        nd->len = 1 + (i * 7919) % 20000;
        nd->data = talos_arena_alloc(nd->len);
        assert_non_null(nd->data);
        memset(nd->data, (int)(i & 0xff), nd->len);
        nd->next = head;
        head = nd;
    }
    for (size_t i = 0; i < 64; i += 2)
        talos_arena_free(holes[i]);
    talos_arena_set_root(head);
    assert_int_equal(talos_arena_check(), TALOS_OK);
    used = talos_arena_used_bytes();
    *snap = malloc(used);
    assert_non_null(*snap);
    memcpy(*snap, (const void *)TEST_BASE, used);
    return used;
}

/* What a target does: a fresh mapping at the same base, the bytes, check. */
static int restore(const unsigned char *snap, size_t used)
{
    if (talos_arena_unmap() != TALOS_OK || talos_arena_map(TEST_BASE, BIG_RESERVE) != TALOS_OK)
        return -1;
    memcpy((void *)TEST_BASE, snap, used);
    return talos_arena_check();
}

static void test_migration(void **state)
{
    unsigned char *snap = NULL;
    size_t used = 0, in_use = 0, count = 0;
    void *next_on_source = NULL, *next_on_target = NULL;

    (void)state;
    used = build_and_snapshot(&snap, 500);
    in_use = talos_arena_in_use();
    next_on_source = talos_arena_alloc(3000);

    assert_int_equal(restore(snap, used), TALOS_OK);
    assert_int_equal(talos_arena_used_bytes(), used);
    assert_int_equal(talos_arena_in_use(), in_use);
    for (struct node *nd = talos_arena_root(); nd != NULL; nd = nd->next) {
        assert_int_equal(nd->id, 499 - count);
        assert_true(all_bytes(nd->data, nd->len, (unsigned char)(nd->id & 0xff)));
        count++;
    }
    assert_int_equal(count, 500);
    /* Allocation continues exactly where the source would have gone on. */
    next_on_target = talos_arena_alloc(3000);
    assert_ptr_equal(next_on_target, next_on_source);
    {
        struct node *root = talos_arena_root();

        talos_arena_free(root->data);
        root->data = talos_arena_alloc(10);
        assert_non_null(root->data);
    }
    assert_int_equal(talos_arena_check(), TALOS_OK);
    free(snap);
}

/* Offsets of some chunks of the snapshot, found by walking its tags. */
static uint64_t snap_ld(const unsigned char *snap, uint64_t off)
{
    uint64_t v = 0;

    memcpy(&v, snap + off, sizeof v);
    return v;
}

static void snap_st(unsigned char *snap, uint64_t off, uint64_t v)
{
    memcpy(snap + off, &v, sizeof v);
}

static uint64_t first_free_chunk(const unsigned char *snap)
{
    const struct talos_arena_hdr *h = (const void *)snap;

    for (unsigned b = 0; b < TALOS_ARENA_NBINS; b++)
        if (h->bins[b] != 0)
            return h->bins[b];
    return 0;
}

enum corruption {
    C_MAGIC, C_VERSION, C_BASE, C_PAGE, C_TOP_BEYOND, C_TOP_MISALIGNED, C_TOP_LOW,
    C_ROOT_OUTSIDE, C_IN_USE, C_LINK_OUTSIDE, C_LINK_SELF, C_LINK_TO_LIVE, C_UNLISTED,
    C_PREV_LINK, C_SIZE_ZERO, C_SIZE_HUGE, C_FOOT, C_FREE_AS_LIVE, C_LIVE_AS_FREE,
    C_WRONG_BIN, C_RESERVE, C_FORGED, C_COUNT
};

static void corrupt(unsigned char *s, enum corruption which)
{
    struct talos_arena_hdr *h = (struct talos_arena_hdr *)s;
    uint64_t f = first_free_chunk(s), first = TALOS_ARENA_FIRST_CHUNK;
    uint64_t fsize = snap_ld(s, f) & ~(uint64_t)15;

    switch (which) {
    case C_MAGIC: s[3] ^= 0x20; break;
    case C_VERSION: h->version++; break;
    case C_BASE: h->base += 4096; break;
    case C_PAGE: h->page_size *= 4; break;
    case C_TOP_BEYOND: h->top = h->reserve + 4096; break;
    case C_TOP_MISALIGNED: h->top += 8; break;
    case C_TOP_LOW: h->top = 16; break;
    case C_ROOT_OUTSIDE: h->root = h->top + 64; break;
    case C_IN_USE: h->in_use++; break;
    case C_LINK_OUTSIDE: snap_st(s, f + 16, h->reserve * 4); break;
    case C_LINK_SELF: snap_st(s, f + 16, f); break;
    case C_LINK_TO_LIVE: snap_st(s, f + 16, first); break;
    case C_UNLISTED: { /* take f off its list, consistently */
        uint64_t next = snap_ld(s, f + 16);

        for (unsigned b = 0; b < TALOS_ARENA_NBINS; b++)
            if (h->bins[b] == f)
                h->bins[b] = next;
        if (next != 0)
            snap_st(s, next + 24, 0);
        break;
    }
    case C_PREV_LINK: snap_st(s, f + 24, first); break;
    case C_SIZE_ZERO: snap_st(s, first, 0 | TALOS_ARENA_INUSE); break;
    case C_SIZE_HUGE: snap_st(s, first, (h->top * 2) | TALOS_ARENA_INUSE); break;
    case C_FOOT: snap_st(s, f + fsize - 8, fsize + 16); break;
    case C_FREE_AS_LIVE:
        snap_st(s, f, fsize | TALOS_ARENA_INUSE);
        snap_st(s, f + fsize - 8, fsize | TALOS_ARENA_INUSE);
        break;
    case C_LIVE_AS_FREE: {
        uint64_t sz = snap_ld(s, first) & ~(uint64_t)15;

        snap_st(s, first, sz);
        snap_st(s, first + sz - 8, sz);
        break;
    }
    case C_WRONG_BIN: {
        unsigned b = 0;

        while (h->bins[b] != f)
            b++;
        h->bins[b] = 0;
        h->bins[(b + 1) % TALOS_ARENA_NBINS] = f;
        break;
    }
    case C_RESERVE: h->reserve = BIG_RESERVE * 2; break;
    case C_FORGED: {
        /* A well-formed fake free chunk inside a live payload takes f's
         * place on its list; f links only to itself. Every list is then
         * locally consistent and has the right length. */
        uint64_t live = first, next = snap_ld(s, f + 16);
        unsigned b = 0;

        while ((snap_ld(s, live) & TALOS_ARENA_INUSE) == 0 ||
               (snap_ld(s, live) & ~(uint64_t)15) < fsize + 64)
            live += snap_ld(s, live) & ~(uint64_t)15;
        live += 16; /* payload start: 16-aligned */
        snap_st(s, live, fsize);
        snap_st(s, live + 8, 0);
        snap_st(s, live + 16, next);
        snap_st(s, live + 24, 0);
        snap_st(s, live + fsize - 8, fsize);
        if (next != 0)
            snap_st(s, next + 24, live);
        while (h->bins[b] != f)
            b++;
        h->bins[b] = live;
        snap_st(s, f + 16, f);
        snap_st(s, f + 24, f);
        break;
    }
    case C_COUNT: break;
    }
}

static void test_corruption(void **state)
{
    unsigned char *snap = NULL, *bad = NULL;
    size_t used = 0;
    int rc = TALOS_OK;

    (void)state;
    used = build_and_snapshot(&snap, 100);
    assert_true(first_free_chunk(snap) != 0);
    bad = malloc(used);
    assert_non_null(bad);
    for (int c = 0; c < C_COUNT; c++) {
        memcpy(bad, snap, used);
        corrupt(bad, (enum corruption)c);
        rc = restore(bad, used);
        if (rc != TALOS_ERR_MALFORMED)
            print_message("corruption %d accepted (%d)\n", c, rc);
        assert_int_equal(rc, TALOS_ERR_MALFORMED);
        /* A refused arena serves nothing. */
        assert_null(talos_arena_alloc(16));
        assert_null(talos_arena_root());
        assert_int_equal(talos_arena_used_bytes(), 0);
    }
    /* The intact copy is still accepted afterwards. */
    assert_int_equal(restore(snap, used), TALOS_OK);
    assert_non_null(talos_arena_root());
    free(bad);
    free(snap);
}

/* talos_arena_adopt (what a migration target uses): O(1) at adoption, so
 * header damage is refused there, and damaged free-list metadata ends the
 * TA (abort) when the allocator first reaches it, before it writes through
 * it — never a write outside the arena. */
static size_t adopt_need;

static void alloc_through_lists(void *arg)
{
    (void)arg;
    (void)talos_arena_alloc(adopt_need);
}

static int adopt(const unsigned char *snap, size_t used)
{
    if (talos_arena_unmap() != TALOS_OK || talos_arena_map(TEST_BASE, BIG_RESERVE) != TALOS_OK)
        return -1;
    memcpy((void *)TEST_BASE, snap, used);
    return talos_arena_adopt();
}

static void test_adopt(void **state)
{
    static const enum corruption header[] = {C_MAGIC, C_VERSION, C_BASE, C_PAGE, C_TOP_BEYOND,
                                             C_TOP_MISALIGNED, C_TOP_LOW, C_ROOT_OUTSIDE, C_RESERVE};
    static const enum corruption lists[] = {C_LINK_OUTSIDE, C_LINK_SELF, C_LINK_TO_LIVE,
                                            C_PREV_LINK, C_FOOT, C_WRONG_BIN};
    unsigned char *snap = NULL, *bad = NULL;
    size_t used = 0;
    uint64_t f = 0;

    (void)state;
    used = build_and_snapshot(&snap, 100);
    f = first_free_chunk(snap);
    assert_true(f != 0);
    /* A request that the first free chunk serves exactly. */
    adopt_need = (snap_ld(snap, f) & ~(uint64_t)15) - 24; /* - head, size and foot words */
    bad = malloc(used);
    assert_non_null(bad);
    for (size_t i = 0; i < sizeof(header) / sizeof(header[0]); i++) {
        memcpy(bad, snap, used);
        corrupt(bad, header[i]);
        assert_int_equal(adopt(bad, used), TALOS_ERR_MALFORMED);
        assert_null(talos_arena_alloc(16));
    }
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        memcpy(bad, snap, used);
        corrupt(bad, lists[i]);
        assert_int_equal(adopt(bad, used), TALOS_OK);
        expect_abort(alloc_through_lists, NULL);
    }
    /* The intact copy works exactly as the fully checked one. */
    assert_int_equal(adopt(snap, used), TALOS_OK);
    assert_non_null(talos_arena_alloc(adopt_need));
    assert_int_equal(talos_arena_check(), TALOS_OK);
    free(bad);
    free(snap);
}

/* Offsets of every metadata word of a snapshot whose every bit matters:
 * the header but root (any in-range root is valid), and every tag, size
 * and link word of every chunk. */
static size_t meta_words(const unsigned char *s, uint64_t *out, size_t cap)
{
    const struct talos_arena_hdr *h = (const void *)s;
    size_t k = 0;

    for (uint64_t off = 0; off < sizeof *h && k < cap; off += 8)
        if (off != offsetof(struct talos_arena_hdr, root))
            out[k++] = off;
    for (uint64_t c = TALOS_ARENA_FIRST_CHUNK; c < h->top && k + 5 <= cap;) {
        uint64_t head = snap_ld(s, c), size = head & ~(uint64_t)15;

        out[k++] = c;
        out[k++] = c + 8;
        out[k++] = c + size - 8;
        if ((head & TALOS_ARENA_INUSE) == 0) {
            out[k++] = c + 16;
            out[k++] = c + 24;
        }
        c += size;
    }
    return k;
}

static void test_bitflips(void **state)
{
    enum { CAP = 4096, TRIES = 3000 };
    static uint64_t words[CAP];
    unsigned char *snap = NULL;
    size_t used = 0, n = 0;
    int rc = TALOS_OK;

    (void)state;
    used = build_and_snapshot(&snap, 30);
    n = meta_words(snap, words, CAP);
    assert_true(n > 100 && n < CAP);
    rng_state = 99;
    for (int i = 0; i < TRIES; i++) {
        uint64_t off = words[rnd() % n];
        unsigned bit = (unsigned)(rnd() % 64);

        memcpy((void *)TEST_BASE, snap, used);
        ((unsigned char *)TEST_BASE)[off + bit / 8] ^= (unsigned char)(1u << (bit % 8));
        rc = talos_arena_check();
        if (rc != TALOS_ERR_MALFORMED)
            print_message("flip of bit %u at offset %llu accepted (%d)\n", bit,
                          (unsigned long long)off, rc);
        assert_int_equal(rc, TALOS_ERR_MALFORMED);
    }
    memcpy((void *)TEST_BASE, snap, used);
    assert_int_equal(talos_arena_check(), TALOS_OK);
    free(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test_setup_teardown(test_alignment, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_zeroed, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_arena_realloc, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_realloc_abort, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_zero_and_huge, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_exhaustion, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_coalesce, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_top_shrink, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_root, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_abort_on_bad_free, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_stress, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_determinism, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_migration, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_bitflips, setup_big, teardown),
        cmocka_unit_test_setup_teardown(test_adopt, setup_big, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
