/* TALOS TA runtime — the state arena allocator (internal to ta/; TAs use
 * talos_alloc/talos_free from talos/ta.h, which wrap these).
 *
 * The arena is one region at a fixed virtual address. Every byte of
 * allocator metadata (header, boundary tags, free lists, top, root) lives
 * inside it, and every link is an offset from the base, so copying the bytes
 * [base, base + talos_arena_used_bytes()) into a fresh mapping at the same
 * base in another process yields a working allocator there, and pointers the
 * TA keeps inside the arena stay valid. docs/arena.md describes the layout.
 *
 * Not thread-safe: ecalls of one TA run one at a time. The arena is a
 * process-wide singleton: one mapping per process.
 */
#ifndef TALOS_TA_ARENA_H
#define TALOS_TA_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "talos/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- layout (part of the migrated state: LP64, little-endian) ------------ */

#define TALOS_ARENA_MAGIC 0x4e5241534f4c4154ULL /* "TALOSARN" in memory */
#define TALOS_ARENA_LAYOUT_VERSION 1u
#define TALOS_ARENA_NBINS 40 /* power-of-two size classes of free chunks */

/* The header, at offset 0 of the arena. All positions are byte offsets from
 * the base; 0 means "none" (offset 0 is the header, never a chunk). */
struct talos_arena_hdr {
    uint64_t magic;     /* TALOS_ARENA_MAGIC */
    uint32_t version;   /* TALOS_ARENA_LAYOUT_VERSION */
    uint32_t page_size; /* page size of the node that formatted it */
    uint64_t base;      /* address it was formatted at */
    uint64_t reserve;   /* bytes reserved; top never exceeds it */
    uint64_t top;       /* end of the last chunk; nothing above is in use */
    uint64_t root;      /* the TA's root object, 0 = NULL */
    uint64_t in_use;    /* sum of the requested sizes of live blocks */
    uint64_t n_live;    /* live blocks */
    uint64_t n_free;    /* free chunks (all on the bins) */
    uint64_t bins[TALOS_ARENA_NBINS]; /* first free chunk of each class */
};

/* Chunks follow the header back to back from TALOS_ARENA_FIRST_CHUNK up to
 * top. A chunk of `size` bytes (multiple of 16, at least
 * TALOS_ARENA_MIN_CHUNK) at offset c:
 *   c + 0         head tag: size | flags (TALOS_ARENA_INUSE)
 *   c + 8         requested size n of a live block; 0 when free
 *   c + 16        payload of a live block (16-aligned) — or, when free,
 *                 next (c + 16) and prev (c + 24) offsets in its bin's list
 *   c + size - 8  foot tag: equal to the head tag
 * Free chunks are never adjacent to each other nor to top. Every other byte
 * of a free chunk, and every byte from top to the reserve, is zero. */
#define TALOS_ARENA_FIRST_CHUNK                                                  \
    ((sizeof(struct talos_arena_hdr) + 15) & ~(size_t)15)
#define TALOS_ARENA_MIN_CHUNK 48u
#define TALOS_ARENA_INUSE 1u

/* --- lifecycle ------------------------------------------------------------ */

/* Reserve `reserve` bytes at exactly `base` (no memory is committed until
 * touched). base and reserve must be multiples of the page size, reserve at
 * least one page and at most 16 TiB. The arena is unusable until
 * talos_arena_format() or talos_arena_check() succeeds.
 * Returns TALOS_OK; TALOS_ERR_EXISTS when something is already mapped in the
 * range; TALOS_ERR_INVALID_ARG for a bad base/reserve; TALOS_ERR_STATE when
 * this process already has an arena; TALOS_ERR_NOMEM otherwise. */
TALOS_MUST_CHECK int talos_arena_map(uintptr_t base, size_t reserve);

/* Start a fresh lineage: discard every page of the mapping (no byte of an
 * earlier lineage survives) and write an empty header at the base.
 * TALOS_ERR_STATE when nothing is mapped, TALOS_ERR_NOMEM when the pages
 * cannot be discarded. */
TALOS_MUST_CHECK int talos_arena_format(void);

/* Adopt an arena whose bytes [base, base + used bytes) were written into the
 * mapping from elsewhere (a migration), in O(1): checks the header (magic,
 * version, page size, base, reserve, top, root) and the bin heads, and makes
 * the arena usable. Every other piece of allocator metadata is checked when
 * the allocator first uses it: a free-list entry or neighbour before it is
 * unlinked or linked (a free chunk of its bin, inside the arena, tags
 * matching, links pointing back, lists bounded), a block before it is
 * freed; a violation ends the TA (die) instead of writing anywhere else.
 * The migration target uses this: the whole walk below costs O(chunks)
 * (~8 ms for 256 MiB of small blocks), inside the downtime (D31).
 * TALOS_ERR_MALFORMED on a bad header, TALOS_ERR_STATE when nothing is
 * mapped. */
TALOS_MUST_CHECK int talos_arena_adopt(void);

/* The full audit of an arena written from elsewhere. Treats it as hostile: checks the
 * header (magic, version, page size, base, reserve, top, root, counters),
 * walks every chunk once (tags, sizes, no adjacent free chunks) and every
 * free list (links in bounds, doubly linked, right class, each free chunk
 * listed exactly once); every walk is bounded by the chunk count.
 * TALOS_OK makes the arena usable. TALOS_ERR_MALFORMED on any inconsistency:
 * the arena then stays unusable and its bytes are unspecified (the check
 * marks chunks as it goes); format it or unmap it. TALOS_ERR_STATE when
 * nothing is mapped. */
TALOS_MUST_CHECK int talos_arena_check(void);

/* Unmap the arena (its pages and their contents are gone). Meant for tests
 * and for a TA that retires. TALOS_ERR_STATE when nothing is mapped. */
TALOS_MUST_CHECK int talos_arena_unmap(void);

/* --- allocation ----------------------------------------------------------- */

/* n bytes, 16-byte aligned, zeroed. NULL when n is 0, when the arena is not
 * usable, or when no free chunk fits and top cannot grow by the chunk size
 * (the reserve is exhausted); n near SIZE_MAX yields NULL. Deterministic:
 * the same sequence of calls on a fresh arena at the same base returns the
 * same addresses. O(bins + length of the first fitting bin's list). */
void *talos_arena_alloc(size_t n);

/* Release a block from talos_arena_alloc; NULL is ignored. The payload is
 * wiped at once, the chunk is merged with free neighbours, and when it ends
 * at top, top drops (fewer pages migrate; pages far above top are returned
 * to the OS). A block that held the root clears the root.
 * Anything that is not the start of a live block — a foreign or interior or
 * misaligned pointer, a double free, a block whose tags the TA overwrote —
 * calls abort(): it is a TA bug that would corrupt state that migrates. */
void talos_arena_free(void *p);

/* Resize a live block to n bytes, keeping its first min(old, n) bytes;
 * bytes past them are zero. In place when the chunk already has the size
 * talos_arena_alloc(n) would give, else allocate, copy and free. p NULL:
 * talos_arena_alloc(n); n 0: free p, NULL. NULL when the arena is full (p
 * is then untouched). A p that is not a live block: abort(), as free. */
void *talos_arena_realloc(void *p, size_t n);

/* The requested size of the live block p (0 for NULL); abort() for
 * anything else, as free. */
size_t talos_arena_size(const void *p);

/* Whether p lies inside the arena's mapping (any byte of it). */
int talos_arena_contains(const void *p);

/* The root object (NULL until set, and in an unusable arena). */
void *talos_arena_root(void);

/* Set the root; NULL clears it. A non-NULL pointer must lie inside the
 * allocated part of the arena, otherwise abort() (a root outside would not
 * survive migration). */
void talos_arena_set_root(void *p);

/* --- accounting ----------------------------------------------------------- */

/* Bytes from the base to top rounded up to the page size: exactly the range
 * a migration must transfer. 0 when the arena is not usable. */
size_t talos_arena_used_bytes(void);

/* Fault in the arena's bytes [from, to) for writing (page-aligned; cut at
 * the end of the mapping), in slices: a migration target's pre-fault
 * (ta/mig_helpers.c) and a warm pool target's (PREFAULT, ta/frames.c). */
void talos_arena_populate(uint64_t from, uint64_t to);

/* Sum of the requested sizes of live blocks (0 when not usable). */
size_t talos_arena_in_use(void);

/* The base address, 0 when nothing is mapped. */
uintptr_t talos_arena_base(void);

#ifdef __cplusplus
}
#endif
#endif
