#include "core/merkle.h"

#include <string.h>

#include "core/crypto.h"
#include "core/wire.h"

void talos_merkle_leaf(struct talos_sha256_ctx *c, uint64_t index, const uint8_t page[TALOS_PAGE],
                       uint8_t out[TALOS_HASH])
{
    uint8_t hdr[1 + 8];
    hdr[0] = 0x00;
    talos_be32_put(hdr + 1, (uint32_t)(index >> 32));
    talos_be32_put(hdr + 5, (uint32_t)index);
    /* Hashed in place: no copy of the page (the profile showed it). */
    talos_sha256_restart(c);
    talos_sha256_add(c, hdr, sizeof(hdr));
    talos_sha256_add(c, page, TALOS_PAGE);
    talos_sha256_finish(c, out);
}

void talos_merkle_root(struct talos_sha256_ctx *c, uint8_t *leaves, size_t n,
                       uint8_t out[TALOS_HASH])
{
    uint8_t buf[1 + 2 * TALOS_HASH];

    if (n == 0) {
        buf[0] = 0x02;
        talos_sha256(buf, 1, out);
        return;
    }
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += 2, m++) {
            if (i + 1 == n) { /* odd one out: promoted unchanged */
                memmove(leaves + m * TALOS_HASH, leaves + i * TALOS_HASH, TALOS_HASH);
                continue;
            }
            buf[0] = 0x01;
            memcpy(buf + 1, leaves + i * TALOS_HASH, 2 * TALOS_HASH);
            talos_sha256_restart(c);
            talos_sha256_add(c, buf, sizeof(buf));
            talos_sha256_finish(c, leaves + m * TALOS_HASH);
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
