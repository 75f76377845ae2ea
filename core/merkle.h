/* State roots and the version chain (DESIGN.md "Words", SECURITY.md).
 *
 * The state of a TA is a sequence of pages: the arena's pages [0, n_arena)
 * then the persist section's pages. Leaf i = the BLAKE3 chaining value of
 * the subtree over chunks 4i..4i+3 of an input keyed with K(0x00) whose
 * chunks 4i..4i+3 are page i: BLAKE3's own node for bytes [4096 i,
 * 4096 (i+1)) of a long keyed hash, without the ROOT flag (D42). The chunk
 * counter binds the index. Inner = BLAKE3 keyed with K(0x01) over
 * left ‖ right, an odd node is promoted unchanged; the root of zero pages
 * is BLAKE3 keyed with K(0x02) over nothing. K(d) = d ‖ 31 zero bytes: a
 * public key per domain (D41), so that a leaf can never pass for an inner
 * node. BLAKE3 is the official C implementation (Makefile BLAKE3_DIR),
 * leaves batched through its own SIMD blake3_hash_many; the chain stays on
 * SHA-256.
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

/* Leaf hashes of the n pages first .. first + n - 1, which lie one after
 * another at `pages` (n * TALOS_PAGE bytes), into out[32 * i]. Hashed many
 * pages at once across the SIMD lanes; the same leaves as n calls of
 * talos_merkle_leaf. Page indices stay below 2^62 (the chunk counter is
 * 4 * index, 64 bits); the arena is far smaller. */
void talos_merkle_leaves(uint64_t first, const uint8_t *pages, size_t n, uint8_t *out);

/* Leaf hash of page `index`: talos_merkle_leaves with n = 1. */
void talos_merkle_leaf(uint64_t index, const uint8_t page[TALOS_PAGE], uint8_t out[TALOS_HASH]);

/* An inner node over two child hashes (left ‖ right), and the root of
 * zero pages (core/mtree.c builds its trees with these too). */
void talos_merkle_node(const uint8_t pair[2 * TALOS_HASH], uint8_t out[TALOS_HASH]);
/* n inner nodes at once: node i over pairs[64 i .. 64 i + 64) into
 * out[32 i]; the same as n calls of talos_merkle_node, across the SIMD
 * lanes. `out` must not overlap `pairs`. */
void talos_merkle_nodes(const uint8_t *pairs, size_t n, uint8_t *out);
void talos_merkle_empty(uint8_t out[TALOS_HASH]);

/* Root over n leaf hashes (leaves[32*i]). Uses `leaves` as scratch: its
 * contents are destroyed. */
void talos_merkle_root(uint8_t *leaves, size_t n, uint8_t out[TALOS_HASH]);

void talos_chain_genesis(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint8_t out[TALOS_HASH]);
void talos_chain_next(const uint8_t prev[TALOS_HASH], uint64_t version,
                      const uint8_t root[TALOS_HASH], uint8_t out[TALOS_HASH]);

#endif
