/* The incremental Merkle tree (core/mtree.c) against the reference root
 * (core/merkle.c): same root for the same leaves after any sequence of
 * leaf changes and growing or shrinking leaf counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto.h"
#include "core/merkle.h"
#include "core/mtree.h"
#include "talos/err.h"

#define MAXN 3000

static uint8_t leaves[MAXN][TALOS_HASH];

static void reference(size_t n, uint8_t out[TALOS_HASH])
{
    static uint8_t scratch[MAXN * 32];
    memcpy(scratch, leaves, n * 32);
    talos_merkle_root(scratch, n, out);
}

static void set(struct talos_mtree *t, size_t i, uint32_t v)
{
    memset(leaves[i], 0, TALOS_HASH);
    memcpy(leaves[i], &v, sizeof(v));
    leaves[i][31] = (uint8_t)i;
    uint8_t *slot = talos_mtree_leaf(t, i);
    assert_non_null(slot);
    memcpy(slot, leaves[i], TALOS_HASH);
}

static void check(struct talos_mtree *t, size_t n)
{
    uint8_t want[TALOS_HASH], got[TALOS_HASH];
    reference(n, want);
    assert_int_equal(talos_mtree_root(t, n, got), TALOS_OK);
    assert_memory_equal(want, got, TALOS_HASH);
}

/* Every n from 0 to 70 built from scratch, then grown leaf by leaf. */
static void small_sizes(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 70; n++) {
        struct talos_mtree t;
        assert_int_equal(talos_mtree_init(&t, 1), TALOS_OK);
        for (size_t i = 0; i < n; i++)
            set(&t, i, (uint32_t)(i * 7 + 1));
        check(&t, n);
        talos_mtree_free(&t);
    }
    struct talos_mtree t;
    assert_int_equal(talos_mtree_init(&t, 4), TALOS_OK);
    for (size_t n = 1; n <= 300; n++) {
        set(&t, n - 1, (uint32_t)n);
        check(&t, n);
    }
    talos_mtree_free(&t);
}

/* Pre-copy's pattern: rounds of scattered changes, the leaf count moving
 * up and down between roots (an arena that grows and gives back its top). */
static void random_rounds(void **state)
{
    struct talos_mtree t;
    size_t n = 1000;
    (void)state;
    srand(42);
    assert_int_equal(talos_mtree_init(&t, n), TALOS_OK);
    for (size_t i = 0; i < MAXN; i++)
        set(&t, i, (uint32_t)rand());
    check(&t, n);
    for (int round = 0; round < 200; round++) {
        int changes = rand() % 40;
        for (int k = 0; k < changes; k++)
            set(&t, (size_t)rand() % MAXN, (uint32_t)rand());
        if (round % 3 == 0)
            n = 1 + (size_t)rand() % MAXN;
        check(&t, n);
    }
    talos_mtree_free(&t);
}

/* Shrink, change nothing, grow back: nodes that were partial at the small
 * size must not leak into the root at the large one. */
static void shrink_then_grow(void **state)
{
    struct talos_mtree t;
    (void)state;
    assert_int_equal(talos_mtree_init(&t, 16), TALOS_OK);
    for (size_t i = 0; i < 10; i++)
        set(&t, i, (uint32_t)(i + 100));
    check(&t, 10);
    check(&t, 6);
    check(&t, 10);
    set(&t, 8, 5);
    check(&t, 6);
    check(&t, 10);
    check(&t, 9);
    check(&t, 2);
    check(&t, 10);
    talos_mtree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_sizes),
        cmocka_unit_test(random_rounds),
        cmocka_unit_test(shrink_then_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
