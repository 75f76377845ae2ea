/* State arena allocator: boundary tags, segregated first-fit free lists,
 * immediate coalescing, bump allocation from top.
 *
 * Why this shape: the arena is migrated as raw pages, so the allocator's
 * whole state must be inside those pages (header + tags + links, links as
 * offsets), must be checkable when the pages arrive from the network, and
 * must make the transferred size track the live data (top drops when the
 * highest chunk is freed). Determinism (same calls, same addresses) lets
 * tests compare arenas and keeps page hashes reproducible: every byte that
 * is not a live payload or a tag is kept zero.
 *
 * One file over 400 lines: the allocator and the check of its own pages are one
 * invariant, read best in one place. */
#include "ta/arena.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8, "the arena layout is LP64");
_Static_assert(TALOS_ARENA_FIRST_CHUNK == 400,
               "layout 1: a header change needs a new TALOS_ARENA_LAYOUT_VERSION");

#define ALIGN 16u
#define HEAD 16u           /* head tag + requested size: payloads stay 16-aligned */
#define OVERHEAD (HEAD + 8u) /* ... + foot tag */
#define FIRST ((uint64_t)TALOS_ARENA_FIRST_CHUNK)
#define MIN_CHUNK ((uint64_t)TALOS_ARENA_MIN_CHUNK)
#define F_INUSE ((uint64_t)TALOS_ARENA_INUSE)
#define F_MARK 2u          /* only while talos_arena_check runs: "seen on a list" */
#define F_MASK 15u
#define NEXT 16u           /* link offsets inside a free chunk */
#define PREV 24u
#define MAX_RESERVE (1ULL << 44) /* the bins cover classes up to 2^44 */
/* Returning pages to the OS costs a syscall now and a fault (~2 µs) per page
 * when top grows again; below this much it is not worth it. The pages stay
 * zeroed either way and above top they never migrate. */
#define TRIM_MIN (256u << 10)

/* Process-local view of the mapping: not migrated, rebuilt by map/check. */
static struct {
    uintptr_t base;   /* 0: nothing mapped */
    uint64_t reserve; /* bytes mapped */
    uint64_t page;
    uint64_t hwm;     /* highest offset touched since the last trim */
    _Atomic uint64_t populated; /* highest offset talos_arena_populate faulted in */
    bool ready;       /* formatted, or checked after a migration */
} g;

_Noreturn static void die(const char *why)
{
    /* A TA bug: continuing would corrupt state that is about to migrate. */
    fprintf(stderr, "talos arena: %s; aborting the TA\n", why);
    abort();
}

static struct talos_arena_hdr *hdr(void)
{
    return (struct talos_arena_hdr *)g.base;
}

/* Tag and link words through memcpy: arena bytes have no declared type and
 * payload bytes next to them are written by the TA as anything. */
static uint64_t ld(uint64_t off)
{
    uint64_t v = 0;
    memcpy(&v, (const void *)(g.base + off), sizeof v);
    return v;
}

static void st(uint64_t off, uint64_t v)
{
    memcpy((void *)(g.base + off), &v, sizeof v);
}

static uint64_t tag_size(uint64_t tag)
{
    return tag & ~(uint64_t)F_MASK;
}

static void put_tags(uint64_t c, uint64_t size, uint64_t flags)
{
    st(c, size | flags);
    st(c + size - 8, size | flags);
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
    return (v + to - 1) / to * to;
}

/* Chunk size serving an n-byte request; 0 when n is 0 or absurd (the
 * bound keeps the additions below from wrapping). */
static uint64_t chunk_need(uint64_t n)
{
    uint64_t s = 0;

    if (n == 0 || n > MAX_RESERVE)
        return 0;
    s = (n + OVERHEAD + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
    return s < MIN_CHUNK ? MIN_CHUNK : s;
}

/* A live chunk of `size` serving n: exactly the size alloc would give it
 * (a free chunk is split unless the rest is smaller than MIN_CHUNK). */
static bool size_fits(uint64_t n, uint64_t size)
{
    uint64_t need = chunk_need(n);

    return need != 0 && need <= size && size - need < MIN_CHUNK;
}

static unsigned bin_of(uint64_t size)
{
    unsigned lg = 63u - (unsigned)__builtin_clzll(size); /* size >= MIN_CHUNK */

    return lg - 5u >= TALOS_ARENA_NBINS ? TALOS_ARENA_NBINS - 1 : lg - 5u;
}

/* A chunk reached through a list link or a bin head: before the allocator
 * writes through it, it must be a free chunk of bin b wholly inside the
 * arena, with matching tags. The arena of a migrated TA is adopted without
 * a walk of every chunk (talos_arena_adopt); this is what keeps a damaged
 * list from steering a write outside the arena. */
static void check_listed(const struct talos_arena_hdr *h, uint64_t c, unsigned b)
{
    uint64_t head = 0, size = 0;

    if (c < FIRST || c >= h->top || c % ALIGN != 0)
        die("free list points outside the arena");
    head = ld(c);
    size = tag_size(head);
    if ((head & F_MASK) != 0 || size < MIN_CHUNK || size > h->top - c || ld(c + size - 8) != head ||
        bin_of(size) != b)
        die("free list entry is not a free chunk of its bin");
}

static void list_push(struct talos_arena_hdr *h, uint64_t c, uint64_t size)
{
    unsigned b = bin_of(size);
    uint64_t first = h->bins[b];

    if (first != 0)
        check_listed(h, first, b);
    st(c + NEXT, first);
    st(c + PREV, 0);
    if (first != 0)
        st(first + PREV, c);
    h->bins[b] = c;
    h->n_free++;
}

/* Unlink and zero the links, so the chunk's bytes are all zero but tags. */
static void list_unlink(struct talos_arena_hdr *h, uint64_t c, uint64_t size)
{
    uint64_t next = ld(c + NEXT);
    uint64_t prev = ld(c + PREV);
    unsigned b = bin_of(size);

    /* Both neighbours must be free chunks of this bin that point back. */
    if (prev != 0) {
        check_listed(h, prev, b);
        if (ld(prev + NEXT) != c)
            die("free list links disagree");
    } else if (h->bins[b] != c) {
        die("free list links disagree");
    }
    if (next != 0) {
        check_listed(h, next, b);
        if (ld(next + PREV) != c)
            die("free list links disagree");
    }
    if (prev != 0)
        st(prev + NEXT, next);
    else
        h->bins[bin_of(size)] = next;
    if (next != 0)
        st(next + PREV, prev);
    st(c + NEXT, 0);
    st(c + PREV, 0);
    h->n_free--;
}

/* First fit in the request's own class; any chunk of a higher class fits,
 * so there the first one is taken. The low end is handed out and the rest
 * goes back to its bin, which keeps addresses low and deterministic. */
static uint64_t take_free(struct talos_arena_hdr *h, uint64_t need, uint64_t *got)
{
    for (unsigned b = bin_of(need); b < TALOS_ARENA_NBINS; b++) {
        /* Bounded: a damaged list may loop; there are never more free
         * chunks than fit between FIRST and top. */
        uint64_t steps = (h->top - FIRST) / MIN_CHUNK + 1;
        for (uint64_t c = h->bins[b]; c != 0; c = ld(c + NEXT)) {
            if (steps-- == 0)
                die("free list does not end");
            check_listed(h, c, b);
            uint64_t size = tag_size(ld(c));

            if (size < need)
                continue;
            list_unlink(h, c, size);
            if (size - need >= MIN_CHUNK) {
                put_tags(c + need, size - need, 0);
                st(c + need + 8, 0); /* do not trust migrated interiors */
                list_push(h, c + need, size - need);
                size = need;
            }
            *got = size;
            return c;
        }
    }
    return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static void trim(const struct talos_arena_hdr *h)
{
    uint64_t keep = round_up(h->top, g.page);

    if (g.hwm > keep && g.hwm - keep >= TRIM_MIN) {
        /* Failure only leaves zeroed pages resident; nothing to undo. */
        (void)madvise((void *)(g.base + keep), g.hwm - keep, MADV_DONTNEED);
        g.hwm = keep;
    }
}

int talos_arena_map(uintptr_t base, size_t reserve)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = MAP_FAILED;

    if (g.base != 0)
        return TALOS_ERR_STATE;
    if (page <= 0)
        return TALOS_ERR_NOMEM;
    if (base == 0 || base % (uint64_t)page != 0 || reserve % (uint64_t)page != 0 ||
        reserve == 0 || reserve > MAX_RESERVE || base > UINTPTR_MAX - reserve)
        return TALOS_ERR_INVALID_ARG;
    p = mmap((void *)base, reserve, PROT_READ | PROT_WRITE,
             MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return errno == EEXIST ? TALOS_ERR_EXISTS : TALOS_ERR_NOMEM;
    if ((uintptr_t)p != base) {
        /* Kernels before 4.17 take the flag as a mere hint. */
        (void)munmap(p, reserve);
        return TALOS_ERR_EXISTS;
    }
    /* The arena is the TA's state: never in a core file, whatever else
     * keeps one from being written (docs/confinement.md). */
    if (madvise(p, reserve, MADV_DONTDUMP) != 0) {
        (void)munmap(p, reserve);
        return TALOS_ERR_NOMEM;
    }
    g.base = base;
    g.reserve = reserve;
    g.page = (uint64_t)page;
    g.hwm = 0;
    g.ready = false;
    return TALOS_OK;
}

int talos_arena_format(void)
{
    struct talos_arena_hdr *h = NULL;

    if (g.base == 0)
        return TALOS_ERR_STATE;
    g.ready = false;
    /* A new lineage inherits no byte of an earlier one (and untouched
     * pages cost nothing to drop). */
    if (madvise((void *)g.base, g.reserve, MADV_DONTNEED) != 0)
        return TALOS_ERR_NOMEM;
    h = hdr();
    h->magic = TALOS_ARENA_MAGIC;
    h->version = TALOS_ARENA_LAYOUT_VERSION;
    h->page_size = (uint32_t)g.page;
    h->base = g.base;
    h->reserve = g.reserve;
    h->top = FIRST;
    g.hwm = FIRST;
    g.ready = true;
    return TALOS_OK;
}

int talos_arena_unmap(void)
{
    if (g.base == 0)
        return TALOS_ERR_STATE;
    if (munmap((void *)g.base, g.reserve) != 0)
        return TALOS_ERR_INVALID_ARG;
    memset(&g, 0, sizeof g);
    return TALOS_OK;
}

/* --- check: the bytes came from the network ------------------------------ */

static int check_header(const struct talos_arena_hdr *h)
{
    if (h->magic != TALOS_ARENA_MAGIC || h->version != TALOS_ARENA_LAYOUT_VERSION)
        return TALOS_ERR_MALFORMED;
    /* Pointers inside are only valid at the address they were made for;
     * a different page size would change what "used pages" means. */
    if (h->base != g.base || h->page_size != g.page)
        return TALOS_ERR_MALFORMED;
    if (h->reserve % g.page != 0 || h->reserve > g.reserve || h->reserve < FIRST + MIN_CHUNK)
        return TALOS_ERR_MALFORMED;
    if (h->top < FIRST || h->top > h->reserve || h->top % ALIGN != 0)
        return TALOS_ERR_MALFORMED;
    if (h->root != 0 && (h->root < FIRST || h->root >= h->top))
        return TALOS_ERR_MALFORMED;
    return TALOS_OK;
}

/* One pass over the chunks in address order. Pass 1 (!unmark) checks the
 * structure and the counters and rejects stray marks; pass 2 (unmark)
 * requires every free chunk to carry the mark the list walk set and clears
 * it. Bounded: sizes are >= MIN_CHUNK and checked against top. */
static int walk_chunks(struct talos_arena_hdr *h, bool unmark, uint64_t *n_free)
{
    uint64_t off = FIRST, steps = 0, in_use = 0, live = 0, nfree = 0;
    uint64_t want_free = unmark ? F_MARK : 0;
    bool prev_free = false;

    while (off < h->top) {
        uint64_t head = 0, size = 0, flags = 0;

        if (++steps > h->top / ALIGN || h->top - off < MIN_CHUNK)
            return TALOS_ERR_MALFORMED;
        head = ld(off);
        size = tag_size(head);
        flags = head & F_MASK;
        if (size < MIN_CHUNK || size > h->top - off)
            return TALOS_ERR_MALFORMED;
        if (flags == F_INUSE) {
            uint64_t n = ld(off + 8);

            if (ld(off + size - 8) != head || !size_fits(n, size))
                return TALOS_ERR_MALFORMED;
            in_use += n;
            live++;
            prev_free = false;
        } else if (flags == want_free) {
            if (ld(off + size - 8) != size || ld(off + 8) != 0 || prev_free)
                return TALOS_ERR_MALFORMED;
            if (unmark)
                st(off, size);
            nfree++;
            prev_free = true;
        } else {
            return TALOS_ERR_MALFORMED;
        }
        off += size;
    }
    /* A free chunk ending at top would have lowered top. */
    if (prev_free)
        return TALOS_ERR_MALFORMED;
    if (!unmark && (in_use != h->in_use || live != h->n_live || nfree != h->n_free))
        return TALOS_ERR_MALFORMED;
    *n_free = nfree;
    return TALOS_OK;
}

/* Every list node must be a free, unmarked chunk of the bin's class whose
 * prev link names the node before it; it is then marked, so a cycle or a
 * chunk on two lists shows up as a marked node. At most n_free nodes in
 * all; exactly n_free, together with pass 2 finding every free chunk
 * marked, proves the lists hold exactly the free chunks. */
static int check_lists(struct talos_arena_hdr *h, uint64_t n_free)
{
    uint64_t budget = n_free;

    for (unsigned b = 0; b < TALOS_ARENA_NBINS; b++) {
        uint64_t prev = 0;

        for (uint64_t c = h->bins[b]; c != 0; c = ld(c + NEXT)) {
            uint64_t head = 0, size = 0;

            if (budget == 0)
                return TALOS_ERR_MALFORMED;
            budget--;
            if (c < FIRST || c % ALIGN != 0 || c > h->top - MIN_CHUNK)
                return TALOS_ERR_MALFORMED;
            head = ld(c);
            size = tag_size(head);
            if ((head & F_MASK) != 0 || size < MIN_CHUNK || size > h->top - c ||
                ld(c + size - 8) != head || bin_of(size) != b || ld(c + PREV) != prev)
                return TALOS_ERR_MALFORMED;
            st(c, head | F_MARK);
            prev = c;
        }
    }
    return budget == 0 ? TALOS_OK : TALOS_ERR_MALFORMED;
}

int talos_arena_adopt(void)
{
    int rc = TALOS_OK;

    if (g.base == 0)
        return TALOS_ERR_STATE;
    g.ready = false;
    if ((rc = check_header(hdr())) != TALOS_OK)
        return TALOS_ERR_MALFORMED;
    for (unsigned b = 0; b < TALOS_ARENA_NBINS; b++) {
        uint64_t c = hdr()->bins[b];
        if (c != 0 && (c < FIRST || c >= hdr()->top || c % ALIGN != 0))
            return TALOS_ERR_MALFORMED;
    }
    g.hwm = max_u64(hdr()->top, atomic_load(&g.populated));
    g.ready = true;
    return TALOS_OK;
}

int talos_arena_check(void)
{
    struct talos_arena_hdr *h = NULL;
    uint64_t n_free = 0;
    int rc = TALOS_OK;

    if (g.base == 0)
        return TALOS_ERR_STATE;
    g.ready = false;
    h = hdr();
    rc = check_header(h);
    if (rc == TALOS_OK)
        rc = walk_chunks(h, false, &n_free);
    if (rc == TALOS_OK)
        rc = check_lists(h, n_free);
    if (rc == TALOS_OK)
        rc = walk_chunks(h, true, &n_free);
    if (rc != TALOS_OK)
        return TALOS_ERR_MALFORMED;
    /* What a pre-fault touched above top is given back at the next trim. */
    g.hwm = max_u64(h->top, atomic_load(&g.populated));
    g.ready = true;
    return TALOS_OK;
}

/* --- allocation ------------------------------------------------------------ */

void *talos_arena_alloc(size_t n)
{
    struct talos_arena_hdr *h = NULL;
    uint64_t need = chunk_need(n), c = 0, size = 0;

    if (!g.ready || need == 0)
        return NULL;
    h = hdr();
    c = take_free(h, need, &size);
    if (c == 0) {
        if (need > h->reserve - h->top)
            return NULL;
        c = h->top;
        size = need;
        h->top += need;
        if (h->top > g.hwm)
            g.hwm = h->top;
    }
    put_tags(c, size, F_INUSE);
    st(c + 8, n);
    /* Free chunks are kept zero, but these bytes may have arrived from
     * another node: zero them rather than trust them. */
    memset((void *)(g.base + c + HEAD), 0, size - OVERHEAD);
    h->in_use += n;
    h->n_live++;
    return (void *)(g.base + c + HEAD);
}

/* Offset of the live chunk whose payload starts at a, or 0. O(1): the
 * tags and the recorded size must agree with each other and with top. */
static uint64_t live_chunk(const struct talos_arena_hdr *h, uintptr_t a)
{
    uint64_t off = 0, head = 0, size = 0;

    if (a < g.base + FIRST + HEAD || a >= g.base + h->top || (a - g.base) % ALIGN != 0)
        return 0;
    off = a - g.base - HEAD;
    head = ld(off);
    size = tag_size(head);
    if ((head & F_MASK) != F_INUSE || size < MIN_CHUNK || size > h->top - off)
        return 0;
    if (ld(off + size - 8) != head || !size_fits(ld(off + 8), size))
        return 0;
    return off;
}

/* Size of the free chunk whose head tag is at c and foot tag at c+size-8,
 * validated before its links are trusted; abort when the TA overwrote it. */
static uint64_t free_neighbour(const struct talos_arena_hdr *h, uint64_t c, uint64_t tag)
{
    uint64_t size = tag_size(tag);

    if ((tag & F_MASK) != 0 || size < MIN_CHUNK || c < FIRST || c >= h->top ||
        size > h->top - c || ld(c) != tag || ld(c + size - 8) != tag)
        die("free chunk tags overwritten (heap overflow in the TA)");
    return size;
}

void talos_arena_free(void *p)
{
    struct talos_arena_hdr *h = NULL;
    uint64_t c = 0, size = 0, start = 0, total = 0, end = 0;

    if (p == NULL)
        return;
    if (!g.ready)
        die("talos_free with no usable arena");
    h = hdr();
    c = live_chunk(h, (uintptr_t)p);
    if (c == 0)
        die("talos_free of a pointer that is not a live block (double or foreign free)");
    size = tag_size(ld(c));
    h->in_use -= ld(c + 8);
    h->n_live--;
    if (h->root >= c && h->root < c + size)
        h->root = 0;
    /* Wipe the payload now: it may hold plaintext secrets, and free bytes
     * must be zero so that pages hash the same wherever they are built. */
    memset(p, 0, size - OVERHEAD);
    st(c + 8, 0);
    start = c;
    total = size;
    if (c > FIRST && (ld(c - 8) & F_INUSE) == 0) {
        uint64_t ptag = ld(c - 8), psize = tag_size(ptag);

        if (psize > c - FIRST)
            die("free chunk tags overwritten (heap overflow in the TA)");
        start = c - psize;
        psize = free_neighbour(h, start, ptag);
        list_unlink(h, start, psize);
        st(c - 8, 0); /* old boundary is now inside the merged chunk */
        st(c, 0);
        total += psize;
    }
    end = c + size;
    if (end < h->top && (ld(end) & F_INUSE) == 0) {
        uint64_t nsize = free_neighbour(h, end, ld(end));

        list_unlink(h, end, nsize);
        st(end - 8, 0);
        st(end, 0);
        total += nsize;
    }
    if (start + total == h->top) {
        /* The highest chunk: drop top instead of listing it, so it stops
         * migrating. Its last tags go; the bytes above top are all zero. */
        st(start, 0);
        st(start + total - 8, 0);
        h->top = start;
        trim(h);
    } else {
        put_tags(start, total, 0);
        list_push(h, start, total);
    }
}

/* --- root and accounting ---------------------------------------------------- */

size_t talos_arena_size(const void *p)
{
    uint64_t c = 0;

    if (p == NULL)
        return 0;
    if (!g.ready)
        die("talos_usable_size with no usable arena");
    if ((c = live_chunk(hdr(), (uintptr_t)p)) == 0)
        die("talos_usable_size of a pointer that is not a live block");
    return (size_t)ld(c + 8);
}

void *talos_arena_realloc(void *p, size_t n)
{
    struct talos_arena_hdr *h = NULL;
    uint64_t c = 0, old = 0, size = 0;
    void *q = NULL;

    if (p == NULL)
        return talos_arena_alloc(n);
    if (n == 0) {
        talos_arena_free(p);
        return NULL;
    }
    if (!g.ready)
        die("talos_realloc with no usable arena");
    h = hdr();
    if ((c = live_chunk(h, (uintptr_t)p)) == 0)
        die("talos_realloc of a pointer that is not a live block (freed or foreign)");
    old = ld(c + 8);
    size = tag_size(ld(c));
    /* In place when the chunk is exactly what alloc(n) would give: the
     * layout's invariants (docs/arena.md) then hold as they are. */
    if (size_fits(n, size)) {
        if (n < old) /* bytes past the payload are zero */
            memset((uint8_t *)p + n, 0, old - n);
        st(c + 8, n);
        h->in_use = h->in_use - old + n;
        return p;
    }
    if ((q = talos_arena_alloc(n)) == NULL)
        return NULL; /* p is untouched, as realloc promises */
    memcpy(q, p, old < n ? old : n);
    talos_arena_free(p);
    return q;
}

void *talos_arena_root(void)
{
    if (!g.ready || hdr()->root == 0)
        return NULL;
    return (void *)(g.base + hdr()->root);
}

void talos_arena_set_root(void *p)
{
    uintptr_t a = (uintptr_t)p;

    if (p == NULL) {
        if (g.ready)
            hdr()->root = 0;
        return;
    }
    if (!g.ready || a < g.base + FIRST || a >= g.base + hdr()->top)
        die("talos_set_state_root outside the allocated arena");
    hdr()->root = a - g.base;
}

size_t talos_arena_used_bytes(void)
{
    return g.ready ? round_up(hdr()->top, g.page) : 0;
}

size_t talos_arena_in_use(void)
{
    return g.ready ? hdr()->in_use : 0;
}

int talos_arena_contains(const void *p)
{
    return g.base && (uintptr_t)p >= g.base && (uintptr_t)p - g.base < g.reserve;
}

uintptr_t talos_arena_base(void)
{
    return g.base;
}

/* In slices: MADV_POPULATE_WRITE holds the mmap lock for the whole range,
 * and every malloc that maps memory (the stream's bookkeeping, OpenSSL's
 * buffers) waits for it — for 256 MiB that stalled the import ~80 ms with
 * both TAs' main threads idle. Between slices a waiting writer gets in. */
#define POPULATE_SLICE (4ull << 20)

void talos_arena_populate(uint64_t from, uint64_t to)
{
    uint8_t *base = (uint8_t *)g.base;

    if (!g.base)
        return;
    if (to > g.reserve)
        to = g.reserve;
    for (uint64_t was = atomic_load(&g.populated);
         was < to && !atomic_compare_exchange_weak(&g.populated, &was, to);)
        ; /* a maximum: a migration's helper and its stream may both populate */
    for (uint64_t off = from; off < to; off += POPULATE_SLICE)
        (void)madvise(base + off, to - off < POPULATE_SLICE ? to - off : POPULATE_SLICE,
                      MADV_POPULATE_WRITE);
}
