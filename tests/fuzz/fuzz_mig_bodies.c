/* The migration record bodies as a target takes them: pre-copy ROUNDs and
 * their CHUNKs, LINEAGE (core/cert.c's decoder), BEGIN, the last CHUNKs
 * and the MANIFEST — each decoded by core/migrec.c and fed to the target's
 * stream model, core/migrx.c, which says where each CHUNK's pages go and
 * whether the stream holds together; record headers are checked by
 * talos_mig_check as the channel does (ta/chan.c). This is what a source
 * could send inside an authenticated channel: after the attestation the
 * peer is a genuine TA, but its records are still checked like any input.
 * The harness does what ta/mig_receive.c does with the answers: it copies
 * the pages where the model places them and hashes them into a Merkle tree
 * (core/mtree.c).
 *
 * Input: a stream of records (u32 length ‖ u8 type ‖ body). The arena is a
 * fresh mapping of the whole arena reservation (pre-copy rounds may write
 * anywhere in it) followed by an inaccessible guard page, so a CHUNK placed
 * past it faults; the persist section is a 2-page buffer (ASan). Each input
 * runs twice: as is, and with the MANIFEST's root and chain head replaced
 * by the right ones for the pages received (computed over the target's
 * memory), so that the checks after the root are reached. Checked:
 *  - an accepted BEGIN is within the arena, names this image's persist
 *    size, and its chain head is not newer than its state;
 *  - a stream accepted in the second pass covered every page exactly: the
 *    root of the leaves hashed as pages came equals the Merkle root of the
 *    memory they were placed in, and the chain head chains onto BEGIN's;
 *  - in the first pass (a MANIFEST as sent) nothing is accepted whose root
 *    differs from the target's memory;
 *  - a refusal is MALFORMED, PROTOCOL, TOO_LARGE, MAC, NOMEM or
 *    PEER_CLOSED (the input ended), and a MAC refusal says why. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/cert.h"
#include "core/crypto.h"
#include "core/merkle.h"
#include "core/mig.h"
#include "core/migrec.h"
#include "core/migrx.h"
#include "core/mtree.h"
#include "core/wire.h"
#include "talos/err.h"
#include "talos/ta.h"
#include "tests/fuzz/fuzz.h"

#define PERSIST_LEN 5000 /* two pages, the second partly used */
#define STREAM_MAX (1u << 20)

static uint8_t *arena;

struct run {
    const uint8_t *in;
    size_t len, pos;
    int fix;   /* second pass: the MANIFEST's root and head made right */
    struct talos_mig_rx x;
    struct talos_mtree tree;
    uint8_t ppad[2 * TALOS_PAGE];
    uint8_t root[TALOS_HASH], head[TALOS_HASH];
    const char *why;
    int done;
};

static int take(struct run *r, void *dst, size_t n)
{
    if (n > r->len - r->pos)
        return TALOS_ERR_PEER_CLOSED;
    memcpy(dst, r->in + r->pos, n);
    r->pos += n;
    return TALOS_OK;
}

/* The Merkle root of the target's memory as the model laid it out. */
static void memory_root(const struct run *r, uint8_t root[TALOS_HASH])
{
    uint64_t a_pages = r->x.begin.arena_bytes / TALOS_PAGE, total = talos_mig_rx_total(&r->x);
    uint8_t *leaves = malloc(total * TALOS_HASH);

    FUZZ_CHECK(leaves);
    for (uint64_t i = 0; i < total; i++)
        talos_merkle_leaf(i, i < a_pages ? arena + i * TALOS_PAGE : r->ppad + (i - a_pages) * TALOS_PAGE,
                          leaves + i * TALOS_HASH);
    talos_merkle_root(leaves, total, root);
    free(leaves);
}

static int on_round(struct run *r, uint32_t len)
{
    struct talos_mig_round round;
    uint8_t body[TALOS_MIG_ROUND_BYTES], root[TALOS_HASH];
    int64_t acked = -1;
    int rc = len == sizeof(body) ? take(r, body, len) : TALOS_ERR_MALFORMED;

    if (rc != TALOS_OK || (rc = talos_mig_round_decode(body, len, &round)) != TALOS_OK ||
        (rc = talos_mig_rx_round(&r->x, &round, &acked, &r->why)) != TALOS_OK)
        return rc;
    FUZZ_CHECK(acked == r->x.round - 1);
    return r->x.high ? talos_mtree_root(&r->tree, r->x.high, root) : TALOS_OK;
}

static int on_chunk(struct run *r, uint32_t len)
{
    struct talos_mig_chunk c;
    struct talos_mig_rx_place pl;
    uint8_t hdr[TALOS_MIG_CHUNK_HDR_BYTES];
    int rc = take(r, hdr, sizeof(hdr));

    if (rc != TALOS_OK || (rc = talos_mig_chunk_decode(hdr, sizeof(hdr), &c)) != TALOS_OK ||
        (rc = talos_mig_rx_chunk(&r->x, &c, len, &pl, &r->why)) != TALOS_OK)
        return rc;
    FUZZ_CHECK(pl.n >= 1 && pl.n <= TALOS_MIG_CHUNK_PAGES && pl.leaf == c.first);
    /* Inside its region: the persist pad, or the arena (its guard page
     * faults otherwise; the final phase stays below BEGIN's top). */
    if (pl.persist)
        FUZZ_CHECK(r->x.final && pl.page + pl.n <= r->x.p_pages);
    else
        FUZZ_CHECK(pl.page + pl.n <= (r->x.final ? r->x.begin.arena_bytes / TALOS_PAGE
                                                 : r->x.max_arena));
    uint8_t *dst = (pl.persist ? r->ppad : arena) + pl.page * TALOS_PAGE;
    if ((rc = take(r, dst, (size_t)pl.n * TALOS_PAGE)) != TALOS_OK)
        return rc;
    for (uint32_t i = 0; i < pl.n; i++) {
        uint8_t *leaf = talos_mtree_leaf(&r->tree, pl.leaf + i);
        if (!leaf)
            return TALOS_ERR_NOMEM;
        talos_merkle_leaf(pl.leaf + i, dst + (size_t)i * TALOS_PAGE, leaf);
    }
    return TALOS_OK;
}

/* ta/mig_cert.c: the LINEAGE body decoded as the target does; the key is
 * not kept (ta/cert.c is not part of this harness). */
static int on_lineage(struct run *r, uint32_t len)
{
    struct talos_lineage_rec rec;
    uint8_t *buf = NULL;
    int rc = talos_mig_rx_lineage(&r->x, &r->why);

    if (rc != TALOS_OK)
        return rc;
    if (!(buf = malloc(len ? len : 1)))
        return TALOS_ERR_NOMEM;
    if ((rc = take(r, buf, len)) == TALOS_OK && (rc = talos_lineage_rec_decode(buf, len, &rec)) == TALOS_OK) {
        FUZZ_CHECK(rec.n_links == rec.epoch && rec.n_links <= TALOS_CERT_MAX_LINKS);
        talos_lineage_rec_clear(&rec);
    }
    free(buf);
    return rc;
}

static int on_begin(struct run *r, uint32_t len)
{
    struct talos_mig_begin b;
    uint8_t body[TALOS_MIG_BEGIN_BYTES];
    int rc = len == sizeof(body) ? take(r, body, len) : TALOS_ERR_MALFORMED;

    if (rc != TALOS_OK || (rc = talos_mig_begin_decode(body, len, &b)) != TALOS_OK ||
        (rc = talos_mig_rx_begin(&r->x, &b, &r->why)) != TALOS_OK)
        return rc;
    /* An accepted BEGIN: within the arena, this image's persist size, a
     * chain head not newer than the state. */
    FUZZ_CHECK(b.arena_bytes % TALOS_PAGE == 0 && b.arena_bytes > 0 &&
               b.arena_bytes <= TALOS_ARENA_MAX);
    FUZZ_CHECK(b.persist_bytes == PERSIST_LEN && b.head_version <= b.version);
    FUZZ_CHECK(talos_mig_rx_phase(&r->x) == TALOS_MIG_RX_FINAL);
    return TALOS_OK;
}

static int on_manifest(struct run *r, uint32_t len)
{
    struct talos_mig_manifest man;
    uint8_t body[TALOS_MIG_MANIFEST_BYTES], want[TALOS_HASH];
    int rc = len == sizeof(body) ? take(r, body, len) : TALOS_ERR_MALFORMED;

    if (rc != TALOS_OK || (rc = talos_mig_manifest_decode(body, len, &man)) != TALOS_OK ||
        (rc = talos_mig_rx_manifest(&r->x, &man, &r->why)) != TALOS_OK)
        return rc;
    /* Only a state the input can cover entirely can be accepted; hashing a
     * larger announced arena here would only make the harness slow. */
    if (r->fix && r->x.begin.arena_bytes + r->x.begin.persist_bytes <= STREAM_MAX) {
        memory_root(r, man.root);
        talos_chain_next(r->x.begin.head, r->x.begin.version, man.root, man.head);
    }
    if ((rc = talos_mtree_root(&r->tree, talos_mig_rx_total(&r->x), r->root)) != TALOS_OK ||
        (rc = talos_mig_rx_verify(&r->x, &man, r->root, r->head, &r->why)) != TALOS_OK)
        return rc;
    /* Accepted: the leaves hashed as the pages came are the memory's. */
    memory_root(r, want);
    FUZZ_CHECK(memcmp(r->root, want, TALOS_HASH) == 0);
    talos_chain_next(r->x.begin.head, r->x.begin.version, want, want);
    FUZZ_CHECK(memcmp(r->head, want, TALOS_HASH) == 0);
    r->done = 1;
    return TALOS_OK;
}

static int record(struct run *r)
{
    uint8_t hdr[TALOS_MIG_HDR], type = 0;
    uint32_t len = 0;
    int rc = take(r, hdr, sizeof(hdr));

    if (rc != TALOS_OK ||
        (rc = talos_mig_hdr_decode(hdr, TALOS_MIG_FROM_S, &type, &len)) != TALOS_OK)
        return rc;
    switch (type) {
    case TALOS_MIG_ROUND:
        return on_round(r, len);
    case TALOS_MIG_CHUNK:
        return on_chunk(r, len);
    case TALOS_MIG_LINEAGE:
        return on_lineage(r, len);
    case TALOS_MIG_BEGIN:
        return on_begin(r, len);
    case TALOS_MIG_MANIFEST:
        return on_manifest(r, len);
    default:
        r->why = "unexpected record in the state stream";
        return TALOS_ERR_PROTOCOL;
    }
}

static void run(const uint8_t *data, size_t size, int fix)
{
    static struct run r; /* the persist pad: off the stack */
    size_t map_len = TALOS_ARENA_MAX + TALOS_PAGE;
    int rc = TALOS_OK;

    memset(&r, 0, sizeof(r));
    r.in = data;
    r.len = size;
    r.fix = fix;
    /* The arena reservation, then a guard page. */
    arena = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    FUZZ_CHECK(arena != MAP_FAILED);
    FUZZ_CHECK(mprotect(arena + TALOS_ARENA_MAX, TALOS_PAGE, PROT_NONE) == 0);
    FUZZ_CHECK(talos_mig_rx_init(&r.x, TALOS_ARENA_MAX, PERSIST_LEN) == TALOS_OK);
    FUZZ_CHECK(talos_mtree_init(&r.tree, 1024) == TALOS_OK);
    while (rc == TALOS_OK && !r.done)
        rc = record(&r);
    if (rc != TALOS_OK) {
        FUZZ_CHECK(rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_PROTOCOL ||
                   rc == TALOS_ERR_TOO_LARGE || rc == TALOS_ERR_MAC ||
                   rc == TALOS_ERR_PEER_CLOSED || rc == TALOS_ERR_NOMEM);
        FUZZ_CHECK(rc != TALOS_ERR_MAC || r.why);
    }
    talos_mtree_free(&r.tree);
    talos_mig_rx_free(&r.x);
    munmap(arena, map_len);
    arena = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > STREAM_MAX)
        return 0;
    run(data, size, 0);
    run(data, size, 1);
    return 0;
}
