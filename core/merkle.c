#include "core/merkle.h"

#include <string.h>

#include "blake3.h"
#include "core/crypto.h"
#include "core/wire.h"

/* BLAKE3 keyed by what the bytes are (D41): a leaf's key names its domain
 * and page index, so a page is exactly four of BLAKE3's 1 KiB chunks (a
 * prefix would make a fifth); an inner node's key and the empty tree's
 * differ from every leaf's. Public keys: these are domains, not secrets. */
static void domain_key(uint8_t domain, uint64_t index, uint8_t key[BLAKE3_KEY_LEN])
{
    memset(key, 0, BLAKE3_KEY_LEN);
    key[0] = domain;
    talos_be64_put(key + 1, index);
}

static void blake3_keyed(const uint8_t key[BLAKE3_KEY_LEN], const void *p, size_t n,
                         uint8_t out[TALOS_HASH])
{
    blake3_hasher h;

    blake3_hasher_init_keyed(&h, key);
    blake3_hasher_update(&h, p, n);
    blake3_hasher_finalize(&h, out, TALOS_HASH);
}

void talos_merkle_leaf(uint64_t index, const uint8_t page[TALOS_PAGE], uint8_t out[TALOS_HASH])
{
    uint8_t key[BLAKE3_KEY_LEN];

    domain_key(0x00, index, key);
    /* Hashed in place: no copy of the page (the profile showed it). */
    blake3_keyed(key, page, TALOS_PAGE, out);
}

void talos_merkle_node(const uint8_t pair[2 * TALOS_HASH], uint8_t out[TALOS_HASH])
{
    uint8_t key[BLAKE3_KEY_LEN];

    domain_key(0x01, 0, key);
    blake3_keyed(key, pair, 2 * TALOS_HASH, out);
}

void talos_merkle_empty(uint8_t out[TALOS_HASH])
{
    uint8_t key[BLAKE3_KEY_LEN];

    domain_key(0x02, 0, key);
    blake3_keyed(key, NULL, 0, out);
}

void talos_merkle_root(uint8_t *leaves, size_t n, uint8_t out[TALOS_HASH])
{
    if (n == 0) {
        talos_merkle_empty(out);
        return;
    }
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += 2, m++) {
            if (i + 1 == n) { /* odd one out: promoted unchanged */
                memmove(leaves + m * TALOS_HASH, leaves + i * TALOS_HASH, TALOS_HASH);
                continue;
            }
            /* In place: node m is written after both its children are read. */
            uint8_t pair[2 * TALOS_HASH];
            memcpy(pair, leaves + i * TALOS_HASH, sizeof(pair));
            talos_merkle_node(pair, leaves + m * TALOS_HASH);
        }
        n = m;
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
