/* State roots, the version chain, and migration tokens (core/merkle.c,
 * core/mig.c): the values both sides of a migration must agree on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "blake3.h"
/* The library's own compression and flags, to relate leaves to its public
 * API (leaf_is_blake3_node). */
#include "blake3_impl.h"
#include "core/crypto.h"
#include "core/merkle.h"
#include "core/mig.h"
#include "talos/err.h"

static uint8_t pages[5][TALOS_PAGE];

static void root_of(size_t n, uint8_t out[TALOS_HASH])
{
    uint8_t leaves[5 * 32];
    for (size_t i = 0; i < n; i++)
        talos_merkle_leaf(i, pages[i], leaves + 32 * i);
    talos_merkle_root(leaves, n, out);
}

/* The library against BLAKE3's official test vectors (input byte i is
 * i % 251; keyed with "whats the Elvish word for friend"): 0 bytes, one
 * 1 KiB chunk, one 4 KiB page (the leaf's input), and 100 KiB, which goes
 * through the SIMD path that hashes many chunks at once. */
static void blake3_official_vectors(void **state)
{
    static const struct {
        size_t len;
        const char *hash, *keyed;
    } v[] = {
        {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
         "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26"},
        {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
         "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c7ba4"},
        {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969",
         "befc660aea2f1718884cd8deb9902811d332f4fc4a38cf7c7300d597a081bfc0"},
        {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085",
         "1c35d1a5811083fd7119f5d5d1ba027b4d01c0c6c49fb6ff2cf75393ea5db4a7"},
    };
    static uint8_t in[102400];
    const uint8_t *key = (const uint8_t *)"whats the Elvish word for friend";
    uint8_t out[TALOS_HASH];
    char hex[2 * TALOS_HASH + 1];
    blake3_hasher h;
    (void)state;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i % 251);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        blake3_hasher_init(&h);
        blake3_hasher_update(&h, in, v[i].len);
        blake3_hasher_finalize(&h, out, sizeof(out));
        talos_hex(out, sizeof(out), hex);
        assert_string_equal(hex, v[i].hash);
        blake3_hasher_init_keyed(&h, key);
        blake3_hasher_update(&h, in, v[i].len);
        blake3_hasher_finalize(&h, out, sizeof(out));
        talos_hex(out, sizeof(out), hex);
        assert_string_equal(hex, v[i].keyed);
    }
}

/* Pages with distinct contents: page i of the pattern at index i. */
static uint8_t big[80][TALOS_PAGE];

static void fill_big(void)
{
    for (size_t i = 0; i < sizeof(big); i++)
        big[i / TALOS_PAGE][i % TALOS_PAGE] = (uint8_t)(i * 7 + i / 251);
}

/* A leaf is BLAKE3's own chaining value of the node over page i's four
 * chunks (counter 4i) in a long input keyed with 0x00 ‖ zeros: BLAKE3 gives
 * that node only inside a longer input, or ROOT-flagged when the input is
 * that one page. The public API is related to it soundly like this: for an
 * input of 2^k whole pages, BLAKE3 splits at power-of-two numbers of
 * chunks, so its tree is a complete binary tree whose nodes at height 2
 * are exactly the pages' nodes, and its output is the top parent block
 * (left ‖ right chaining values) compressed with ROOT. Folding our leaves
 * with the library's own compression (PARENT under the same key, ROOT at
 * the top) must then give blake3_hasher_finalize's output over the same
 * bytes, and, the compression being collision resistant, only the true
 * nodes do. A single page is the case k = 0: the public API's output over
 * it is the last compression of our leaf with ROOT added, and a
 * ROOT-flagged output cannot be turned back into the chaining value, so
 * pages 0 and 1 (8 KiB) are the smallest check. Checked for 2, 4 and 64
 * pages (indices 0 .. 63, so the chunk counter at work; batches of 2, 4,
 * 5 and 17 pages). */
static void leaf_is_blake3_node(void **state)
{
    static uint8_t leaves[64 * TALOS_HASH];
    static const size_t counts[] = {2, 4, 64};
    uint8_t kb[BLAKE3_KEY_LEN] = {0}, want[TALOS_HASH], wide[64];
    uint32_t key[8];
    blake3_hasher h;
    (void)state;
    fill_big();
    load_key_words(kb, key);
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        size_t n = counts[c];
        blake3_hasher_init_keyed(&h, kb);
        blake3_hasher_update(&h, big, n * TALOS_PAGE);
        blake3_hasher_finalize(&h, want, sizeof(want));
        if (n == 64) /* in odd batches, each of them the same as any other */
            for (size_t i = 0; i < n;) {
                size_t m = i % 3 == 0 ? 5 : 17;
                m = m < n - i ? m : n - i;
                talos_merkle_leaves(i, big[i], m, leaves + i * TALOS_HASH);
                i += m;
            }
        else
            talos_merkle_leaves(0, big[0], n, leaves);
        for (size_t k = n; k > 2; k /= 2) /* parents below the root, in place */
            for (size_t j = 0; j < k / 2; j++) {
                uint32_t cv[8];
                memcpy(cv, key, sizeof(cv));
                blake3_compress_in_place(cv, leaves + 2 * j * TALOS_HASH, BLAKE3_BLOCK_LEN, 0,
                                         KEYED_HASH | PARENT);
                for (size_t w = 0; w < 8; w++) /* little-endian words, as the library stores them */
                    for (size_t b = 0; b < 4; b++)
                        leaves[j * TALOS_HASH + 4 * w + b] = (uint8_t)(cv[w] >> (8 * b));
            }
        blake3_compress_xof(key, leaves, BLAKE3_BLOCK_LEN, 0, KEYED_HASH | PARENT | ROOT, wide);
        assert_memory_equal(wide, want, TALOS_HASH);
    }
}

/* The batch gives n single leaves, at odd starting indices and lengths,
 * and where the chunk counter 4i crosses 2^32 inside a batch. */
static void batch_equals_single(void **state)
{
    static const uint64_t firsts[] = {0, 1, 7, 13, 1000003, (1ull << 30) - 2, (1ull << 40) + 5};
    static const size_t lens[] = {1, 3, 4, 5, 17, 64};
    static uint8_t got[64 * TALOS_HASH];
    uint8_t one[TALOS_HASH];
    (void)state;
    fill_big();
    for (size_t f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++)
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
            const uint8_t *p = big[f]; /* a different run of pages each time */
            memset(got, 0, sizeof(got));
            talos_merkle_leaves(firsts[f], p, lens[l], got);
            for (size_t i = 0; i < lens[l]; i++) {
                talos_merkle_leaf(firsts[f] + i, p + i * TALOS_PAGE, one);
                assert_memory_equal(got + i * TALOS_HASH, one, TALOS_HASH);
            }
            for (size_t i = lens[l]; i < 64; i++) /* nothing written beyond n */
                assert_true(got[i * TALOS_HASH] == 0 && got[i * TALOS_HASH + 31] == 0);
        }
}

/* The same page at another index has another leaf (the chunk counter binds
 * the index); equal pages at one index, equal leaves. */
static void leaf_binds_index(void **state)
{
    static const uint64_t idx[] = {0, 1, 2, 7, 1ull << 32, (1ull << 32) + 1};
    uint8_t l[6][TALOS_HASH], again[TALOS_HASH], two[2 * TALOS_HASH];
    (void)state;
    memset(pages[0], 0xa5, TALOS_PAGE);
    memset(pages[1], 0xa5, TALOS_PAGE);
    for (size_t i = 0; i < 6; i++)
        talos_merkle_leaf(idx[i], pages[0], l[i]);
    for (size_t i = 0; i < 6; i++)
        for (size_t j = i + 1; j < 6; j++)
            assert_memory_not_equal(l[i], l[j], TALOS_HASH);
    talos_merkle_leaf(7, pages[1], again);
    assert_memory_equal(l[3], again, TALOS_HASH);
    talos_merkle_leaves(0, pages[0], 2, two); /* two equal pages, two indices */
    assert_memory_not_equal(two, two + TALOS_HASH, TALOS_HASH);
}

/* An inner node is BLAKE3 keyed with 0x01 ‖ zeros over both children:
 * recomputed by hand with the library's public hasher; and the batch. */
static void node_definition(void **state)
{
    uint8_t key[BLAKE3_KEY_LEN] = {0x01}, want[TALOS_HASH], got[TALOS_HASH];
    uint8_t pair[2 * TALOS_HASH];
    blake3_hasher h;
    (void)state;
    memset(pair, 0x3c, sizeof(pair));
    blake3_hasher_init_keyed(&h, key);
    blake3_hasher_update(&h, pair, sizeof(pair));
    blake3_hasher_finalize(&h, want, sizeof(want));
    talos_merkle_node(pair, got);
    assert_memory_equal(got, want, TALOS_HASH);
    /* Many at once: the same as one by one (batches of 64 and a rest). */
    static const size_t counts[] = {1, 3, 64, 65, 130};
    static uint8_t outs[130 * TALOS_HASH];
    fill_big();
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        talos_merkle_nodes(big[1], counts[c], outs);
        for (size_t i = 0; i < counts[c]; i++) {
            talos_merkle_node(big[1] + i * 2 * TALOS_HASH, got);
            assert_memory_equal(outs + i * TALOS_HASH, got, TALOS_HASH);
        }
    }
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
    uint8_t r[TALOS_HASH], want[TALOS_HASH], key[BLAKE3_KEY_LEN] = {0x02}, leaf[TALOS_HASH];
    blake3_hasher h;
    (void)state;
    root_of(0, r);
    blake3_hasher_init_keyed(&h, key); /* the empty tree: keyed 0x02 ‖ zeros, no input */
    blake3_hasher_finalize(&h, want, sizeof(want));
    assert_memory_equal(r, want, TALOS_HASH);
    /* One page: the root is its leaf. */
    talos_merkle_leaf(0, pages[0], leaf);
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
        cmocka_unit_test(blake3_official_vectors), cmocka_unit_test(leaf_is_blake3_node),
        cmocka_unit_test(batch_equals_single),     cmocka_unit_test(leaf_binds_index),
        cmocka_unit_test(node_definition),
        cmocka_unit_test(root_binds_every_page),
        cmocka_unit_test(empty_and_single), cmocka_unit_test(chain),
        cmocka_unit_test(tokens),          cmocka_unit_test(record_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
