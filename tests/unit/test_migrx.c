/* The target's state stream (core/migrx.c): phases, pre-copy rounds, BEGIN's
 * bounds, every CHUNK check (sequence, order, range, length, regions), the
 * MANIFEST's coverage and the root and chain-head check, each refusal with
 * its exact error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/merkle.h"
#include "core/migrx.h"
#include "talos/err.h"

#define A_MAX 16u     /* arena region: 16 pages */
#define PERSIST 5000u /* two persist pages */
#define PG TALOS_MIG_PAGE_BYTES

static const char *why;

static void start(struct talos_mig_rx *x)
{
    assert_int_equal(talos_mig_rx_init(x, (uint64_t)A_MAX * PG, PERSIST), TALOS_OK);
    assert_int_equal(x->p_pages, 2);
    assert_int_equal(talos_mig_rx_phase(x), TALOS_MIG_RX_OPEN);
}

static struct talos_mig_begin begin_of(uint64_t a_pages)
{
    struct talos_mig_begin b = {.version = 9, .arena_bytes = a_pages * PG,
                                .persist_bytes = PERSIST, .head_version = 8};
    memset(b.head, 0x42, sizeof(b.head));
    return b;
}

static int chunk(struct talos_mig_rx *x, uint32_t seq, uint64_t first, uint32_t n,
                 struct talos_mig_rx_place *pl)
{
    struct talos_mig_chunk c = {.seq = seq, .first = first, .n_pages = n};
    return talos_mig_rx_chunk(x, &c, TALOS_MIG_CHUNK_HDR_BYTES + n * PG, pl, &why);
}

static void keyed_begin(struct talos_mig_rx *x, uint64_t a_pages)
{
    struct talos_mig_begin b = begin_of(a_pages);
    assert_int_equal(talos_mig_rx_lineage(x, &why), TALOS_OK);
    assert_int_equal(talos_mig_rx_begin(x, &b, &why), TALOS_OK);
    assert_int_equal(talos_mig_rx_phase(x), TALOS_MIG_RX_FINAL);
}

static void phases(void **state)
{
    struct talos_mig_rx x;
    struct talos_mig_round r = {.round = 0, .arena_pages = 3};
    struct talos_mig_begin b = begin_of(3);
    struct talos_mig_manifest m = {0};
    struct talos_mig_rx_place pl;
    int64_t acked = 0;
    (void)state;
    start(&x);
    /* A CHUNK before any round or BEGIN; a MANIFEST or BEGIN too early. */
    assert_int_equal(chunk(&x, 0, 0, 1, &pl), TALOS_ERR_PROTOCOL);
    assert_string_equal(why, "unexpected record in the state stream");
    assert_int_equal(talos_mig_rx_manifest(&x, &m, &why), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_mig_rx_begin(&x, &b, &why), TALOS_ERR_PROTOCOL);
    assert_string_equal(why, "BEGIN before the lineage key");
    /* Rounds in order only; each completes the one before. */
    r.round = 1;
    assert_int_equal(talos_mig_rx_round(&x, &r, &acked, &why), TALOS_ERR_PROTOCOL);
    assert_string_equal(why, "pre-copy rounds out of order");
    r.round = 0;
    assert_int_equal(talos_mig_rx_round(&x, &r, &acked, &why), TALOS_OK);
    assert_int_equal(acked, -1);
    assert_int_equal(talos_mig_rx_phase(&x), TALOS_MIG_RX_ROUNDS);
    assert_int_equal(talos_mig_rx_round(&x, &r, &acked, &why), TALOS_ERR_PROTOCOL);
    r.round = 1;
    assert_int_equal(talos_mig_rx_round(&x, &r, &acked, &why), TALOS_OK);
    assert_int_equal(acked, 0);
    /* The lineage key once. */
    assert_int_equal(talos_mig_rx_lineage(&x, &why), TALOS_OK);
    assert_int_equal(talos_mig_rx_phase(&x), TALOS_MIG_RX_ROUNDS_KEYED);
    assert_int_equal(talos_mig_rx_lineage(&x, &why), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_mig_rx_begin(&x, &b, &why), TALOS_OK);
    assert_int_equal(talos_mig_rx_phase(&x), TALOS_MIG_RX_FINAL);
    /* Nothing of the earlier phases after BEGIN. */
    assert_int_equal(talos_mig_rx_begin(&x, &b, &why), TALOS_ERR_PROTOCOL);
    assert_string_equal(why, "unexpected record in the state stream");
    assert_int_equal(talos_mig_rx_lineage(&x, &why), TALOS_ERR_PROTOCOL);
    r.round = 2;
    assert_int_equal(talos_mig_rx_round(&x, &r, &acked, &why), TALOS_ERR_PROTOCOL);
    assert_string_equal(why, "pre-copy round after the final one");
    talos_mig_rx_free(&x);

    start(&x);
    assert_int_equal(talos_mig_rx_lineage(&x, &why), TALOS_OK);
    assert_int_equal(talos_mig_rx_phase(&x), TALOS_MIG_RX_KEYED);
    talos_mig_rx_free(&x);
}

static void begin_bounds(void **state)
{
    static const struct {
        uint64_t arena, persist, version, head_version;
        int rc;
    } cases[] = {
        {0, PERSIST, 9, 8, TALOS_ERR_MALFORMED},                 /* no arena */
        {PG + 1, PERSIST, 9, 8, TALOS_ERR_MALFORMED},            /* not whole pages */
        {(A_MAX + 1ull) * PG, PERSIST, 9, 8, TALOS_ERR_MALFORMED}, /* over the region */
        {(uint64_t)A_MAX * PG, PERSIST, 9, 8, TALOS_OK},         /* the whole region */
        {PG, PERSIST - 1, 9, 8, TALOS_ERR_MALFORMED},            /* another image's persist */
        {PG, PERSIST, 9, 10, TALOS_ERR_MALFORMED},               /* a head newer than the state */
        {PG, PERSIST, 9, 9, TALOS_OK},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct talos_mig_rx x;
        struct talos_mig_begin b = begin_of(1);
        b.arena_bytes = cases[i].arena;
        b.persist_bytes = cases[i].persist;
        b.version = cases[i].version;
        b.head_version = cases[i].head_version;
        start(&x);
        assert_int_equal(talos_mig_rx_lineage(&x, &why), TALOS_OK);
        assert_int_equal(talos_mig_rx_begin(&x, &b, &why), cases[i].rc);
        assert_int_equal(talos_mig_rx_phase(&x),
                         cases[i].rc == TALOS_OK ? TALOS_MIG_RX_FINAL : TALOS_MIG_RX_KEYED);
        talos_mig_rx_free(&x);
    }
}

static void chunks(void **state)
{
    struct talos_mig_rx x;
    struct talos_mig_rx_place pl;
    struct talos_mig_chunk c = {.seq = 0, .first = 0, .n_pages = 1};
    (void)state;
    start(&x);
    keyed_begin(&x, 3); /* pages 0..2 arena, 3..4 persist */
    assert_int_equal(talos_mig_rx_total(&x), 5);
    /* Bad counts, ranges and lengths; nothing counts as received. */
    assert_int_equal(chunk(&x, 1, 0, 1, &pl), TALOS_ERR_PROTOCOL); /* seq gap */
    assert_string_equal(why, "chunk out of order, repeated or out of range");
    assert_int_equal(chunk(&x, 0, 0, 0, &pl), TALOS_ERR_PROTOCOL); /* no pages */
    assert_int_equal(chunk(&x, 0, 0, TALOS_MIG_CHUNK_PAGES + 1, &pl), TALOS_ERR_PROTOCOL);
    assert_int_equal(chunk(&x, 0, 5, 1, &pl), TALOS_ERR_PROTOCOL); /* past the state */
    assert_int_equal(chunk(&x, 0, 4, 2, &pl), TALOS_ERR_PROTOCOL); /* runs past it */
    assert_int_equal(chunk(&x, 0, 2, 2, &pl), TALOS_ERR_PROTOCOL); /* spans both regions */
    assert_int_equal(talos_mig_rx_chunk(&x, &c, TALOS_MIG_CHUNK_HDR_BYTES + PG - 1, &pl, &why),
                     TALOS_ERR_PROTOCOL); /* length not n pages */
    assert_int_equal(talos_mig_rx_chunk(&x, &c, TALOS_MIG_CHUNK_HDR_BYTES + 2 * PG, &pl, &why),
                     TALOS_ERR_PROTOCOL);
    assert_int_equal(x.seq, 0);
    /* In order: arena pages, then persist pages, each placed in its region. */
    assert_int_equal(chunk(&x, 0, 0, 2, &pl), TALOS_OK);
    assert_true(!pl.persist && pl.page == 0 && pl.leaf == 0 && pl.n == 2);
    assert_int_equal(chunk(&x, 1, 1, 1, &pl), TALOS_ERR_PROTOCOL); /* overlaps */
    assert_int_equal(chunk(&x, 1, 0, 1, &pl), TALOS_ERR_PROTOCOL); /* goes back */
    assert_int_equal(chunk(&x, 2, 2, 1, &pl), TALOS_ERR_PROTOCOL); /* renumbered, pages ascending */
    assert_int_equal(chunk(&x, 1, 2, 1, &pl), TALOS_OK);
    assert_int_equal(chunk(&x, 2, 3, 2, &pl), TALOS_OK);
    assert_true(pl.persist && pl.page == 0 && pl.leaf == 3 && pl.n == 2);
    assert_int_equal(x.high, 3);
    assert_int_equal(x.seq, 3);
    talos_mig_rx_free(&x);
}

static void rounds_stay_in_the_arena(void **state)
{
    struct talos_mig_rx x;
    struct talos_mig_rx_place pl;
    struct talos_mig_round r = {.round = 0, .arena_pages = 4};
    struct talos_mig_manifest m = {.n_chunks = 0};
    int64_t acked = 0;
    (void)state;
    start(&x);
    assert_int_equal(talos_mig_rx_round(&x, &r, &acked, &why), TALOS_OK);
    /* A round may write anywhere in the arena region, never past it. */
    assert_int_equal(chunk(&x, 0, A_MAX - 1, 1, &pl), TALOS_OK);
    assert_true(!pl.persist && pl.page == A_MAX - 1);
    r.round = 1;
    assert_int_equal(talos_mig_rx_round(&x, &r, &acked, &why), TALOS_OK);
    assert_int_equal(chunk(&x, 1, A_MAX, 1, &pl), TALOS_ERR_PROTOCOL);
    /* A new round starts at page 0 again. */
    assert_int_equal(chunk(&x, 1, 0, 2, &pl), TALOS_OK);
    assert_int_equal(x.high, A_MAX);
    /* The final phase: 2 arena pages; the rounds' pages 0 and 1 count, the
     * persist pages must come now. */
    keyed_begin(&x, 2);
    m.n_chunks = x.seq;
    assert_int_equal(talos_mig_rx_manifest(&x, &m, &why), TALOS_ERR_PROTOCOL);
    assert_string_equal(why, "manifest does not match the chunks received");
    assert_int_equal(chunk(&x, 2, 2, 2, &pl), TALOS_OK);
    assert_true(pl.persist && pl.page == 0);
    m.n_chunks = x.seq;
    assert_int_equal(talos_mig_rx_manifest(&x, &m, &why), TALOS_OK);
    m.n_chunks = x.seq + 1;
    assert_int_equal(talos_mig_rx_manifest(&x, &m, &why), TALOS_ERR_PROTOCOL);
    talos_mig_rx_free(&x);
}

static void manifest_and_chain(void **state)
{
    struct talos_mig_rx x;
    struct talos_mig_rx_place pl;
    struct talos_mig_manifest m = {.n_chunks = 2};
    uint8_t root[TALOS_MIG_HASH_BYTES], head[TALOS_MIG_HASH_BYTES], want[TALOS_MIG_HASH_BYTES];
    (void)state;
    start(&x);
    keyed_begin(&x, 1);
    assert_int_equal(chunk(&x, 0, 0, 1, &pl), TALOS_OK);
    assert_int_equal(talos_mig_rx_manifest(&x, &m, &why), TALOS_ERR_PROTOCOL); /* a page missing */
    assert_int_equal(chunk(&x, 1, 1, 2, &pl), TALOS_OK);
    assert_int_equal(talos_mig_rx_manifest(&x, &m, &why), TALOS_OK);
    memset(root, 0x17, sizeof(root));
    memcpy(m.root, root, sizeof(root));
    talos_chain_next(x.begin.head, x.begin.version, root, m.head);
    assert_int_equal(talos_mig_rx_verify(&x, &m, root, head, &why), TALOS_OK);
    assert_memory_equal(head, m.head, sizeof(head));
    /* Another root. */
    root[0] ^= 1;
    assert_int_equal(talos_mig_rx_verify(&x, &m, root, head, &why), TALOS_ERR_MAC);
    assert_string_equal(why, "state root or chain head does not match the pages received");
    root[0] ^= 1;
    /* The right pages and root, but BEGIN named another previous head: the
     * MANIFEST's head does not chain onto it. */
    x.begin.head[0] ^= 1;
    talos_chain_next(x.begin.head, x.begin.version, root, want);
    assert_int_equal(talos_mig_rx_verify(&x, &m, root, head, &why), TALOS_ERR_MAC);
    assert_memory_equal(head, want, sizeof(head));
    x.begin.head[0] ^= 1;
    /* Or another version. */
    x.begin.version++;
    assert_int_equal(talos_mig_rx_verify(&x, &m, root, head, &why), TALOS_ERR_MAC);
    talos_mig_rx_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phases),
        cmocka_unit_test(begin_bounds),
        cmocka_unit_test(chunks),
        cmocka_unit_test(rounds_stay_in_the_arena),
        cmocka_unit_test(manifest_and_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
