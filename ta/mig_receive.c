/* The state stream at the target (T): pre-copy ROUNDs of CHUNKs (optional),
 * the LINEAGE key, BEGIN, the final CHUNKs, MANIFEST (docs/migration.md,
 * docs/precopy.md).
 *
 * Each record type the source may send here is one row of a const table,
 * like the ecall table (ta/dispatch.c): its shape (body bounds) and the
 * stream phases it may come in (core/migrx.h) are checked before its
 * handler reads a byte of the body; anything else is refused as an
 * unexpected record. A handler decodes the body with core/migrec.h and asks
 * core/migrx.h where the pages go and whether the stream holds together;
 * what is left here is I/O: pages read straight into place, hashed
 * (ta/leafhash.h, core/mtree.h), rounds acknowledged. Trusted code. */
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migrec.h"
#include "core/migrx.h"
#include "core/mtree.h"
#include "ta/arena.h"
#include "ta/cert.h"
#include "ta/fault.h"
#include "ta/flow.h"
#include "ta/leafhash.h"
#include "ta/mig.h"
#include "ta/rt.h"

struct rx {
    struct mig *m;
    struct mig_prefault *pf;
    struct talos_mig_rx x;
    struct talos_mtree tree;
    struct leafhash lh;          /* the final phase's leaves, hashed on a helper */
    uint8_t *ppad;               /* the persist pages land here */
    struct mig_received *out;
    int done;                    /* MANIFEST checked */
};

static int fail(struct rx *r, int rc, const char *why)
{
    snprintf(r->m->reason, sizeof(r->m->reason), "%s", why);
    return rc;
}

/* ROUND: u32 round ‖ u64 arena pages so far. The previous round is
 * complete: fold it into the tree now, while the source still serves, so
 * that the root after the freeze costs only the last pages' paths. */
static int on_round(struct rx *r, uint32_t len)
{
    struct talos_mig_round round;
    uint8_t body[TALOS_MIG_ROUND_BYTES];
    const char *why = NULL;
    int64_t acked = -1;
    int rc = TALOS_OK;

    if ((rc = talos_chan_read(&r->m->ch, body, len)) != TALOS_OK ||
        (rc = talos_mig_round_decode(body, len, &round)) != TALOS_OK)
        return rc;
    if ((rc = talos_mig_rx_round(&r->x, &round, &acked, &why)) != TALOS_OK)
        return fail(r, rc, why);
    if (r->x.high) {
        uint8_t root[TALOS_HASH];
        if ((rc = talos_mtree_root(&r->tree, r->x.high, root)) != TALOS_OK)
            return rc;
    }
    if (acked >= 0) {
        uint8_t ack[TALOS_MIG_ROUND_ACK_BYTES];
        /* The source freezes after an acknowledgement: by then the CFG
         * (parsed since launch) must be ready for the check. */
        talos_flow_ready();
        talos_mig_round_ack_encode((uint32_t)acked, ack);
        if ((rc = talos_chan_send(&r->m->ch, TALOS_MIG_ROUND_ACK, ack, sizeof(ack), NULL, 0)) !=
            TALOS_OK)
            return rc;
    }
    return TALOS_OK;
}

/* CHUNK: its pages into the place the stream gives them, then hashed. */
static int on_chunk(struct rx *r, uint32_t len)
{
    struct talos_mig_chunk c;
    struct talos_mig_rx_place pl;
    uint8_t hdr[TALOS_MIG_CHUNK_HDR_BYTES];
    const char *why = NULL;
    int rc = TALOS_OK;

    if ((rc = talos_chan_read(&r->m->ch, hdr, sizeof(hdr))) != TALOS_OK ||
        (rc = talos_mig_chunk_decode(hdr, sizeof(hdr), &c)) != TALOS_OK)
        return rc;
    if ((rc = talos_mig_rx_chunk(&r->x, &c, len, &pl, &why)) != TALOS_OK)
        return fail(r, rc, why);
    uint8_t *dst = (pl.persist ? r->ppad : (uint8_t *)talos_arena_base()) + pl.page * TALOS_PAGE;
    if ((rc = talos_chan_read(&r->m->ch, dst, (size_t)pl.n * TALOS_PAGE)) != TALOS_OK)
        return rc;
    /* The leaf slots of a chunk are contiguous; in the final phase they
     * exist already (BEGIN grew the tree), so no slot moves under the helper.
     * Marked from the last down: only the first call may grow the tree
     * (and move its slots), so the first slot, taken last, stays valid. */
    struct leafhash_job j = {.first = pl.leaf, .n = pl.n, .pages = dst};
    for (uint32_t i = pl.n; i-- > 0;)
        if (!(j.slots = talos_mtree_leaf(&r->tree, pl.leaf + i)))
            return TALOS_ERR_NOMEM;
    if (r->lh.on) /* a final phase with a helper (see BEGIN) */
        leafhash_post(&r->lh, &j);
    else /* a pre-copy round may send a page again: hashed now, in order */
        talos_merkle_leaves(pl.leaf, dst, pl.n, j.slots);
#ifdef TALOS_FAULT_POINTS
    if (r->x.seq == 2) /* the step means "two chunks in place and hashed" (T15) */
        leafhash_drain(&r->lh);
#endif
    TALOS_FAULT(r->x.seq == 2 ? "target.after_2_chunks" : NULL);
    return TALOS_OK;
}

/* LINEAGE: the lineage key, held until activation (ta/mig_cert.c). */
static int on_lineage(struct rx *r, uint32_t len)
{
    const char *why = NULL;
    int rc = talos_mig_rx_lineage(&r->x, &why);

    return rc != TALOS_OK ? fail(r, rc, why) : talos_rt_cert_recv(r->m, len);
}

/* BEGIN: the frozen state's size, version and chain head. */
static int on_begin(struct rx *r, uint32_t len)
{
    struct talos_mig_begin *b = &r->out->begin;
    uint8_t body[TALOS_MIG_BEGIN_BYTES];
    const char *why = NULL;
    int rc = TALOS_OK;

    if ((rc = talos_chan_read(&r->m->ch, body, len)) != TALOS_OK ||
        (rc = talos_mig_begin_decode(body, len, b)) != TALOS_OK)
        return rc;
    if ((rc = talos_mig_rx_begin(&r->x, b, &why)) != TALOS_OK)
        return fail(r, rc, why);
    r->out->t_begin = mig_now();
    TLOG_DEBUG("T: +%.3f ms BEGIN", (r->out->t_begin - r->m->t0) / 1e6);
    /* Not joined here: the chunks land in pages as the helper gets to them
     * (a page it has not reached yet faults in the copy). */
    mig_prefault_rest(r->pf, b->arena_bytes); /* more than the hint said: the rest now */
    /* Stop-and-copy: every leaf slot of the state now, then the helper
     * (final chunks are ascending and disjoint, at most this many). After
     * pre-copy rounds the last one is small and on the downtime's path,
     * where a thread's start and wake-ups cost more than they save: hashed
     * inline. */
    if (r->x.round < 0) {
        uint64_t a_pages = b->arena_bytes / TALOS_PAGE, p_pages = r->x.p_pages;
        uint64_t cp = TALOS_MIG_CHUNK_PAGES;
        if (!talos_mtree_leaf(&r->tree, a_pages + p_pages - 1))
            return TALOS_ERR_NOMEM;
        leafhash_start(&r->lh, (uint32_t)((a_pages + cp - 1) / cp + (p_pages + cp - 1) / cp));
    }
    return TALOS_OK;
}

/* MANIFEST: every page of the announced state came, and root and chain
 * head match what arrived. */
static int on_manifest(struct rx *r, uint32_t len)
{
    struct talos_mig_manifest man;
    uint8_t body[TALOS_MIG_MANIFEST_BYTES];
    uint64_t a_pages = r->out->begin.arena_bytes / TALOS_PAGE;
    const char *why = NULL;
    int rc = TALOS_OK;

    mig_prefault_join(r->pf); /* every chunk is in place: the helper has nothing left to do */
    if ((rc = talos_chan_read(&r->m->ch, body, len)) != TALOS_OK ||
        (rc = talos_mig_manifest_decode(body, len, &man)) != TALOS_OK)
        return rc;
    if ((rc = talos_mig_rx_manifest(&r->x, &man, &why)) != TALOS_OK)
        return fail(r, rc, why);
    /* Pages a round sent above the final top: the arena keeps them zero. */
    if (r->x.high > a_pages)
        memset((uint8_t *)talos_arena_base() + a_pages * TALOS_PAGE, 0,
               (r->x.high - a_pages) * TALOS_PAGE);
    TLOG_DEBUG("T: +%.3f ms MANIFEST", (mig_now() - r->m->t0) / 1e6);
    leafhash_finish(&r->lh);
    TLOG_DEBUG("T: +%.3f ms leaves hashed", (mig_now() - r->m->t0) / 1e6);
    if ((rc = talos_mtree_root(&r->tree, talos_mig_rx_total(&r->x), r->out->root)) !=
        TALOS_OK)
        return rc;
    TLOG_DEBUG("T: +%.3f ms root computed", (mig_now() - r->m->t0) / 1e6);
    if ((rc = talos_mig_rx_verify(&r->x, &man, r->out->root, r->out->head, &why)) != TALOS_OK)
        return fail(r, rc, why);
    r->done = 1;
    return TALOS_OK;
}

#define UNEXPECTED "unexpected record in the state stream"

/* The records of the state stream: shape and phases, checked before the
 * handler runs. A record out of its phases is refused with PROTOCOL: with
 * `why` in the phases `why_in`, as an unexpected record elsewhere. */
static const struct rx_rec {
    uint8_t type;
    const char *name;
    int (*fn)(struct rx *r, uint32_t len);
    uint32_t min_len, max_len;
    unsigned phases, why_in;
    const char *why;
} recs[] = {
    {TALOS_MIG_ROUND, "ROUND", on_round, TALOS_MIG_ROUND_BYTES, TALOS_MIG_ROUND_BYTES,
     TALOS_MIG_RX_BEFORE_BEGIN, TALOS_MIG_RX_FINAL, "pre-copy round after the final one"},
    {TALOS_MIG_CHUNK, "CHUNK", on_chunk, TALOS_MIG_CHUNK_MIN, TALOS_MIG_CHUNK_MAX,
     TALOS_MIG_RX_ROUNDS | TALOS_MIG_RX_ROUNDS_KEYED | TALOS_MIG_RX_FINAL, 0, NULL},
    {TALOS_MIG_LINEAGE, "LINEAGE", on_lineage, TALOS_MIG_LINEAGE_MIN, TALOS_MIG_LINEAGE_MAX,
     TALOS_MIG_RX_OPEN | TALOS_MIG_RX_ROUNDS, 0, NULL},
    {TALOS_MIG_BEGIN, "BEGIN", on_begin, TALOS_MIG_BEGIN_BYTES, TALOS_MIG_BEGIN_BYTES,
     TALOS_MIG_RX_KEYED | TALOS_MIG_RX_ROUNDS_KEYED, TALOS_MIG_RX_OPEN | TALOS_MIG_RX_ROUNDS,
     "BEGIN before the lineage key"},
    {TALOS_MIG_MANIFEST, "MANIFEST", on_manifest, TALOS_MIG_MANIFEST_BYTES,
     TALOS_MIG_MANIFEST_BYTES, TALOS_MIG_RX_FINAL, 0, NULL},
};

static int dispatch(struct rx *r, uint8_t type, uint32_t len)
{
    const struct rx_rec *e = NULL;
    unsigned ph = talos_mig_rx_phase(&r->x);

    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]) && !e; i++)
        if (recs[i].type == type)
            e = &recs[i];
    if (!e)
        return fail(r, TALOS_ERR_PROTOCOL, UNEXPECTED);
    if (!(e->phases & ph))
        return fail(r, TALOS_ERR_PROTOCOL, (e->why_in & ph) ? e->why : UNEXPECTED);
    if (len < e->min_len || len > e->max_len) {
        snprintf(r->m->reason, sizeof(r->m->reason), "%s of a wrong size", e->name);
        return len > e->max_len ? TALOS_ERR_TOO_LARGE : TALOS_ERR_MALFORMED;
    }
    return e->fn(r, len);
}

int mig_receive(struct mig *m, struct mig_prefault *pf, uint8_t *ppad, size_t plen,
                struct mig_received *out)
{
    struct rx r;
    int rc = TALOS_ERR_NOMEM;

    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    r.m = m;
    r.pf = pf;
    r.ppad = ppad;
    r.out = out;
    if (talos_mig_rx_init(&r.x, TALOS_ARENA_MAX, plen) != TALOS_OK ||
        talos_mtree_init(&r.tree, 1024) != TALOS_OK)
        goto out;
    while (!r.done) {
        uint8_t type = 0;
        uint32_t len = 0;
        if ((rc = talos_chan_recv_hdr(&m->ch, TALOS_MIG_FROM_S, &type, &len)) != TALOS_OK ||
            (rc = dispatch(&r, type, len)) != TALOS_OK)
            goto out;
    }
    rc = TALOS_OK;
out:
    leafhash_finish(&r.lh); /* before the tree it writes into goes */
    talos_mtree_free(&r.tree);
    talos_mig_rx_free(&r.x);
    return rc;
}
