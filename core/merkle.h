/* State roots and the version chain (DESIGN.md "Words", SECURITY.md).
 *
 * The state of a TA is a sequence of pages: the arena's pages [0, n_arena)
 * then the persist section's pages. Leaf i = BLAKE3 keyed with K(0x00, i)
 * over the page, inner = BLAKE3 keyed with K(0x01, 0) over left ‖ right, an
 * odd node is promoted unchanged; the root of zero pages is BLAKE3 keyed
 * with K(0x02, 0) over nothing. K(d, i) = d ‖ u64 BE i ‖ 23 zero bytes: a
 * public key per domain (D41), so that a leaf can never pass for an inner
 * node nor for another index. BLAKE3 is the official C implementation
 * (Makefile BLAKE3_DIR); the chain stays on SHA-256.
 *
 * Chain: H_0 = SHA-256("talos-genesis" ‖ lineage) and, at each checkpoint
 * (a migration, a state certificate), H = SHA-256("talos-chain" ‖ H_prev ‖
 * u64 version ‖ root). Trusted code; no OS dependency.
 */
#ifndef TALOS_CORE_MERKLE_H
#define TALOS_CORE_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "talos/abi.h" /* TALOS_LINEAGE_BYTES */

#define TALOS_PAGE 4096u
#define TALOS_HASH 32u

/* Leaf hash of page `index`. */
void talos_merkle_leaf(uint64_t index, const uint8_t page[TALOS_PAGE], uint8_t out[TALOS_HASH]);

/* An inner node over two child hashes (left ‖ right), and the root of
 * zero pages (core/mtree.c builds its trees with these too). */
void talos_merkle_node(const uint8_t pair[2 * TALOS_HASH], uint8_t out[TALOS_HASH]);
void talos_merkle_empty(uint8_t out[TALOS_HASH]);

/* Root over n leaf hashes (leaves[32*i]). Uses `leaves` as scratch: its
 * contents are destroyed. */
void talos_merkle_root(uint8_t *leaves, size_t n, uint8_t out[TALOS_HASH]);

void talos_chain_genesis(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint8_t out[TALOS_HASH]);
void talos_chain_next(const uint8_t prev[TALOS_HASH], uint64_t version,
                      const uint8_t root[TALOS_HASH], uint8_t out[TALOS_HASH]);

#endif
