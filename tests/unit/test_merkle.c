/* State roots, the version chain, and migration tokens (core/merkle.c,
 * core/mig.c): the values both sides of a migration must agree on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto.h"
#include "core/merkle.h"
#include "core/mig.h"
#include "talos/err.h"

static uint8_t pages[5][TALOS_PAGE];

static void root_of(size_t n, uint8_t out[TALOS_HASH])
{
    struct talos_sha256_ctx *c = NULL;
    uint8_t leaves[5 * 32];
    assert_int_equal(talos_sha256_begin(&c), TALOS_OK);
    for (size_t i = 0; i < n; i++)
        talos_merkle_leaf(c, i, pages[i], leaves + 32 * i);
    talos_merkle_root(c, leaves, n, out);
    talos_sha256_free(c);
}

/* The leaf is SHA-256(0x00 ‖ u64 BE index ‖ page): recomputed by hand. */
static void leaf_definition(void **state)
{
    struct talos_sha256_ctx *c = NULL;
    uint8_t buf[9 + TALOS_PAGE], want[TALOS_HASH], got[TALOS_HASH];
    (void)state;
    memset(pages[0], 0xa5, TALOS_PAGE);
    memset(buf, 0, 9);
    buf[8] = 7; /* index 7, big-endian */
    memcpy(buf + 9, pages[0], TALOS_PAGE);
    talos_sha256(buf, sizeof(buf), want);
    assert_int_equal(talos_sha256_begin(&c), TALOS_OK);
    talos_merkle_leaf(c, 7, pages[0], got);
    talos_sha256_free(c);
    assert_memory_equal(got, want, TALOS_HASH);
}

/* Any change of any page, and page order, changes the root; equal states
 * give equal roots; an odd leaf is promoted, not duplicated. */
static void root_binds_every_page(void **state)
{
    uint8_t r0[TALOS_HASH], r1[TALOS_HASH];
    (void)state;
    for (int i = 0; i < 5; i++)
        memset(pages[i], 'a' + i, TALOS_PAGE);
    root_of(5, r0);
    root_of(5, r1);
    assert_memory_equal(r0, r1, TALOS_HASH);
    for (int i = 0; i < 5; i++) {
        pages[i][TALOS_PAGE - 1] ^= 1;
        root_of(5, r1);
        assert_memory_not_equal(r0, r1, TALOS_HASH);
        pages[i][TALOS_PAGE - 1] ^= 1;
    }
    uint8_t tmp[TALOS_PAGE];
    memcpy(tmp, pages[0], TALOS_PAGE);
    memcpy(pages[0], pages[1], TALOS_PAGE);
    memcpy(pages[1], tmp, TALOS_PAGE);
    root_of(5, r1);
    assert_memory_not_equal(r0, r1, TALOS_HASH); /* order matters: indices are hashed */
    root_of(4, r1);
    assert_memory_not_equal(r0, r1, TALOS_HASH); /* a dropped page changes it */
}

static void empty_and_single(void **state)
{
    uint8_t r[TALOS_HASH], want[TALOS_HASH], one = 0x02, leaf[TALOS_HASH];
    struct talos_sha256_ctx *c = NULL;
    (void)state;
    root_of(0, r);
    talos_sha256(&one, 1, want);
    assert_memory_equal(r, want, TALOS_HASH);
    /* One page: the root is its leaf. */
    assert_int_equal(talos_sha256_begin(&c), TALOS_OK);
    talos_merkle_leaf(c, 0, pages[0], leaf);
    talos_sha256_free(c);
    root_of(1, r);
    assert_memory_equal(r, leaf, TALOS_HASH);
}

static void chain(void **state)
{
    uint8_t lin[TALOS_LINEAGE_BYTES] = {1}, lin2[TALOS_LINEAGE_BYTES] = {2}, g[TALOS_HASH],
            g2[TALOS_HASH], root[TALOS_HASH] = {9}, h1[TALOS_HASH], h2[TALOS_HASH];
    (void)state;
    talos_chain_genesis(lin, g);
    talos_chain_genesis(lin2, g2);
    assert_memory_not_equal(g, g2, TALOS_HASH);
    talos_chain_next(g, 10, root, h1);
    talos_chain_next(g, 11, root, h2);
    assert_memory_not_equal(h1, h2, TALOS_HASH); /* the version is bound */
    root[0] ^= 1;
    talos_chain_next(g, 10, root, h2);
    assert_memory_not_equal(h1, h2, TALOS_HASH); /* the root is bound */
}

static void tokens(void **state)
{
    uint8_t key[TALOS_MIG_KEY_BYTES] = {7}, other[TALOS_MIG_KEY_BYTES] = {8},
            enc[TALOS_TOKEN_BYTES];
    struct talos_token t = {.kind = TALOS_MIG_HANDOFF, .version = 42, .code = 0}, got;
    (void)state;
    memset(t.session, 0x11, sizeof(t.session));
    memset(t.lineage, 0x22, sizeof(t.lineage));
    memset(t.head, 0x33, sizeof(t.head));
    assert_int_equal(talos_token_seal(&t, key, enc), TALOS_OK);
    assert_int_equal(talos_token_open(enc, sizeof(enc), key, TALOS_MIG_HANDOFF, t.session,
                                      t.lineage, &got), TALOS_OK);
    assert_true(got.version == 42);
    /* Another key, kind, session or lineage; any flipped bit; any length. */
    assert_int_equal(talos_token_open(enc, sizeof(enc), other, TALOS_MIG_HANDOFF, t.session,
                                      t.lineage, &got), TALOS_ERR_MAC);
    assert_int_equal(talos_token_open(enc, sizeof(enc), key, TALOS_MIG_ABORT, t.session,
                                      t.lineage, &got), TALOS_ERR_PROTOCOL);
    uint8_t s2[TALOS_SESSION_BYTES] = {0};
    assert_int_equal(talos_token_open(enc, sizeof(enc), key, TALOS_MIG_HANDOFF, s2, t.lineage,
                                      &got), TALOS_ERR_PROTOCOL);
    for (size_t i = 0; i < sizeof(enc) * 8; i++) {
        enc[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(talos_token_open(enc, sizeof(enc), key, TALOS_MIG_HANDOFF, t.session,
                                          t.lineage, &got), TALOS_ERR_MAC);
        enc[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t n = 0; n < sizeof(enc); n++)
        assert_int_equal(talos_token_open(enc, n, key, TALOS_MIG_HANDOFF, t.session, t.lineage,
                                          &got), TALOS_ERR_MALFORMED);
}

static void record_table(void **state)
{
    (void)state;
    assert_int_equal(talos_mig_check(TALOS_MIG_HELLO, TALOS_MIG_FROM_S, 73), TALOS_OK);
    assert_int_equal(talos_mig_check(TALOS_MIG_HELLO, TALOS_MIG_FROM_T, 73), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_mig_check(TALOS_MIG_CHUNK, TALOS_MIG_FROM_T, 4112), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_mig_check(TALOS_MIG_HANDOFF, TALOS_MIG_FROM_T, TALOS_TOKEN_BYTES),
                     TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_mig_check(TALOS_MIG_CHUNK, TALOS_MIG_FROM_S,
                                     16 + (TALOS_MIG_CHUNK_PAGES + 1) * TALOS_PAGE),
                     TALOS_ERR_TOO_LARGE);
    assert_int_equal(talos_mig_check(TALOS_MIG_MANIFEST, TALOS_MIG_FROM_S, 67), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_mig_check(0, TALOS_MIG_FROM_S, 0), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_mig_check(TALOS_MIG_EVIDENCE, TALOS_MIG_FROM_T, 100), TALOS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leaf_definition), cmocka_unit_test(root_binds_every_page),
        cmocka_unit_test(empty_and_single), cmocka_unit_test(chain),
        cmocka_unit_test(tokens),          cmocka_unit_test(record_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
