#include "core/merkle.h"

#include <string.h>

#include "blake3.h"
/* blake3_hash_many and the flags: the library's own internal header (not
 * exported by blake3.h), for its batch of many chunks across the SIMD
 * lanes. Nothing of the compression function is written here. */
#include "blake3_impl.h"
#include "core/crypto.h"
#include "core/wire.h"

#define CHUNKS_PER_PAGE (TALOS_PAGE / BLAKE3_CHUNK_LEN) /* 4 */
/* Pages per blake3_hash_many call: 64 chunks, four rounds of the widest
 * unit (AVX-512: 16 lanes); 3 KiB of chaining values on the stack. */
#define LEAF_BATCH 16u
/* Inner nodes per blake3_hash_many call (one block each). */
#define NODE_BATCH 64u

/* BLAKE3 keyed by what the bytes are (D41): a key per domain (leaf, inner
 * node, empty tree), public: these are domains, not secrets. A key costs
 * nothing (it is the hasher's IV), where a prefix would make a page five
 * chunks instead of four. */
static void domain_key(uint8_t domain, uint8_t key[BLAKE3_KEY_LEN])
{
    memset(key, 0, BLAKE3_KEY_LEN);
    key[0] = domain;
}

static void blake3_keyed(const uint8_t key[BLAKE3_KEY_LEN], const void *p, size_t n,
                         uint8_t out[TALOS_HASH])
{
    blake3_hasher h;

    blake3_hasher_init_keyed(&h, key);
    blake3_hasher_update(&h, p, n);
    blake3_hasher_finalize(&h, out, TALOS_HASH);
}

/* Page i is chunks 4i .. 4i+3 of one long input keyed with K(0x00), and its
 * leaf BLAKE3's own (non-root) chaining value of the subtree over them:
 * chunks, then two parents, then one, each level across the lanes, exactly
 * as BLAKE3 computes that subtree's node for a long input
 * (compress_chunks_parallel, compress_parents_parallel in blake3.c). The
 * chunk counter 4i binds the index, so the key no longer needs it (D42);
 * pages are hashed in place, never copied. */
void talos_merkle_leaves(uint64_t first, const uint8_t *pages, size_t n, uint8_t *out)
{
    uint8_t kb[BLAKE3_KEY_LEN];
    uint32_t key[8];
    const uint8_t *in[LEAF_BATCH * CHUNKS_PER_PAGE];
    uint8_t chunks[LEAF_BATCH * CHUNKS_PER_PAGE * BLAKE3_OUT_LEN];
    uint8_t halves[LEAF_BATCH * 2 * BLAKE3_OUT_LEN];

    domain_key(0x00, kb);
    load_key_words(kb, key);
    while (n > 0) {
        size_t m = n < LEAF_BATCH ? n : LEAF_BATCH;
        for (size_t c = 0; c < m * CHUNKS_PER_PAGE; c++)
            in[c] = pages + c * BLAKE3_CHUNK_LEN;
        blake3_hash_many(in, m * CHUNKS_PER_PAGE, BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN, key,
                         first * CHUNKS_PER_PAGE, true, KEYED_HASH, CHUNK_START, CHUNK_END,
                         chunks);
        for (size_t p = 0; p < 2 * m; p++)
            in[p] = chunks + p * 2 * BLAKE3_OUT_LEN;
        blake3_hash_many(in, 2 * m, 1, key, 0, false, KEYED_HASH | PARENT, 0, 0, halves);
        for (size_t p = 0; p < m; p++)
            in[p] = halves + p * 2 * BLAKE3_OUT_LEN;
        blake3_hash_many(in, m, 1, key, 0, false, KEYED_HASH | PARENT, 0, 0, out);
        pages += m * TALOS_PAGE;
        out += m * TALOS_HASH;
        first += m;
        n -= m;
    }
}

void talos_merkle_leaf(uint64_t index, const uint8_t page[TALOS_PAGE], uint8_t out[TALOS_HASH])
{
    talos_merkle_leaves(index, page, 1, out);
}

/* An inner node is BLAKE3 keyed with K(0x01) over 64 bytes: one chunk of
 * one block, so the hasher's whole work is one compression with
 * CHUNK_START | CHUNK_END | ROOT at counter 0, and the first 32 bytes of a
 * ROOT output are that compression's chaining value. blake3_hash_many
 * computes exactly that for many nodes at once: the definition is D41's
 * (test_merkle checks it against the public hasher), the hasher's set-up
 * per node is gone, and the lanes fill. */
void talos_merkle_nodes(const uint8_t *pairs, size_t n, uint8_t *out)
{
    uint8_t kb[BLAKE3_KEY_LEN];
    uint32_t key[8];
    const uint8_t *in[NODE_BATCH];

    domain_key(0x01, kb);
    load_key_words(kb, key);
    while (n > 0) {
        size_t m = n < NODE_BATCH ? n : NODE_BATCH;
        for (size_t i = 0; i < m; i++)
            in[i] = pairs + i * 2 * TALOS_HASH;
        blake3_hash_many(in, m, 1, key, 0, false, KEYED_HASH | ROOT, CHUNK_START, CHUNK_END, out);
        pairs += m * 2 * TALOS_HASH;
        out += m * TALOS_HASH;
        n -= m;
    }
}

void talos_merkle_node(const uint8_t pair[2 * TALOS_HASH], uint8_t out[TALOS_HASH])
{
    talos_merkle_nodes(pair, 1, out);
}

void talos_merkle_empty(uint8_t out[TALOS_HASH])
{
    uint8_t key[BLAKE3_KEY_LEN];

    domain_key(0x02, key);
    blake3_keyed(key, NULL, 0, out);
}

void talos_merkle_root(uint8_t *leaves, size_t n, uint8_t out[TALOS_HASH])
{
    if (n == 0) {
        talos_merkle_empty(out);
        return;
    }
    while (n > 1) {
        /* In place, NODE_BATCH nodes at a time: the batch's nodes land in
         * [m, m + k) only after it read its children [2m, 2m + 2k), and
         * later batches read from 2(m + k) on, beyond what it wrote. */
        for (size_t m = 0; m < n / 2;) {
            uint8_t tmp[NODE_BATCH * TALOS_HASH];
            size_t k = n / 2 - m < NODE_BATCH ? n / 2 - m : NODE_BATCH;
            talos_merkle_nodes(leaves + 2 * m * TALOS_HASH, k, tmp);
            memcpy(leaves + m * TALOS_HASH, tmp, k * TALOS_HASH);
            m += k;
        }
        if (n % 2) /* odd one out: promoted unchanged */
            memmove(leaves + n / 2 * TALOS_HASH, leaves + (n - 1) * TALOS_HASH, TALOS_HASH);
        n = (n + 1) / 2;
    }
    memcpy(out, leaves, TALOS_HASH);
}

void talos_chain_genesis(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint8_t out[TALOS_HASH])
{
    uint8_t buf[13 + TALOS_LINEAGE_BYTES];
    memcpy(buf, "talos-genesis", 13);
    memcpy(buf + 13, lineage, TALOS_LINEAGE_BYTES);
    talos_sha256(buf, sizeof(buf), out);
}

void talos_chain_next(const uint8_t prev[TALOS_HASH], uint64_t version,
                      const uint8_t root[TALOS_HASH], uint8_t out[TALOS_HASH])
{
    uint8_t buf[11 + TALOS_HASH + 8 + TALOS_HASH];
    memcpy(buf, "talos-chain", 11);
    memcpy(buf + 11, prev, TALOS_HASH);
    talos_be32_put(buf + 11 + TALOS_HASH, (uint32_t)(version >> 32));
    talos_be32_put(buf + 15 + TALOS_HASH, (uint32_t)version);
    memcpy(buf + 19 + TALOS_HASH, root, TALOS_HASH);
    talos_sha256(buf, sizeof(buf), out);
}
