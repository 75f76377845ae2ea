#include "core/migrec.h"

#include <string.h>

#include "core/wire.h"
#include "talos/abi.h"
#include "talos/err.h"

/* A fixed-size body is written field by field through a cursor, in the
 * order its decoder reads them, so that the two cannot drift apart the way
 * hand-placed offsets do (tests/unit/test_migrec.c checks that each writes
 * exactly its record's size). */
struct put {
    uint8_t *p;
    size_t n;
};

static void put_u8(struct put *c, uint8_t v) { c->p[c->n++] = v; }
static void put_u32(struct put *c, uint32_t v)
{
    talos_be32_put(c->p + c->n, v);
    c->n += 4;
}
static void put_u64(struct put *c, uint64_t v)
{
    talos_be64_put(c->p + c->n, v);
    c->n += 8;
}
static void put_raw(struct put *c, const void *v, size_t n)
{
    memcpy(c->p + c->n, v, n);
    c->n += n;
}

/* Every decoder ends here: the whole body and nothing more, or a refusal
 * that leaves nothing half-decoded behind. */
static int done(const struct talos_rd *r, void *out, size_t size)
{
    if (talos_rd_finish(r) == TALOS_OK)
        return TALOS_OK;
    memset(out, 0, size);
    return TALOS_ERR_MALFORMED;
}

void talos_mig_hello_encode(const struct talos_mig_hello *in, uint8_t out[TALOS_MIG_HELLO_BYTES])
{
    struct put c = {out, 0};
    put_u8(&c, in->version);
    put_raw(&c, in->session, sizeof(in->session));
    put_raw(&c, in->nonce, sizeof(in->nonce));
    put_raw(&c, in->lineage, sizeof(in->lineage));
    put_u64(&c, in->arena_hint);
}

int talos_mig_hello_decode(const uint8_t *p, size_t n, struct talos_mig_hello *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->version = talos_rd_u8(&r);
    talos_rd_raw(&r, out->session, sizeof(out->session));
    talos_rd_raw(&r, out->nonce, sizeof(out->nonce));
    talos_rd_raw(&r, out->lineage, sizeof(out->lineage));
    out->arena_hint = talos_rd_u64(&r);
    return done(&r, out, sizeof(*out));
}

void talos_mig_hello_ack_encode(const struct talos_mig_hello_ack *in,
                                uint8_t out[TALOS_MIG_HELLO_ACK_BYTES])
{
    struct put c = {out, 0};
    put_u8(&c, in->version);
    put_raw(&c, in->nonce, sizeof(in->nonce));
}

int talos_mig_hello_ack_decode(const uint8_t *p, size_t n, struct talos_mig_hello_ack *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->version = talos_rd_u8(&r);
    talos_rd_raw(&r, out->nonce, sizeof(out->nonce));
    return done(&r, out, sizeof(*out));
}

int talos_mig_evidence_encode(const uint8_t *ev, size_t ev_len, struct talos_wr *w)
{
    if (ev_len > TALOS_EVIDENCE_MAX)
        return TALOS_ERR_TOO_LARGE;
    talos_wr_bytes(w, ev, ev_len);
    return w->err;
}

int talos_mig_evidence_decode(const uint8_t *p, size_t n, const uint8_t **ev, size_t *ev_len)
{
    struct talos_rd r;
    talos_rd_init(&r, p, n);
    *ev = talos_rd_bytes(&r, ev_len, TALOS_EVIDENCE_MAX);
    if (talos_rd_finish(&r) == TALOS_OK)
        return TALOS_OK;
    *ev = NULL;
    *ev_len = 0;
    return TALOS_ERR_MALFORMED;
}

void talos_mig_begin_encode(const struct talos_mig_begin *in, uint8_t out[TALOS_MIG_BEGIN_BYTES])
{
    struct put c = {out, 0};
    put_u64(&c, in->version);
    put_u64(&c, in->arena_bytes);
    put_u64(&c, in->persist_bytes);
    put_u64(&c, in->head_version);
    put_raw(&c, in->head, sizeof(in->head));
}

int talos_mig_begin_decode(const uint8_t *p, size_t n, struct talos_mig_begin *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->version = talos_rd_u64(&r);
    out->arena_bytes = talos_rd_u64(&r);
    out->persist_bytes = talos_rd_u64(&r);
    out->head_version = talos_rd_u64(&r);
    talos_rd_raw(&r, out->head, sizeof(out->head));
    return done(&r, out, sizeof(*out));
}

int talos_mig_chunk_encode(const struct talos_mig_chunk *in, uint8_t out[TALOS_MIG_CHUNK_HDR_BYTES])
{
    struct put c = {out, 0};
    if (in->n_pages == 0 || in->n_pages > TALOS_MIG_CHUNK_PAGES)
        return TALOS_ERR_INVALID_ARG;
    put_u32(&c, in->seq);
    put_u64(&c, in->first);
    put_u32(&c, in->n_pages);
    return TALOS_OK;
}

int talos_mig_chunk_decode(const uint8_t *p, size_t n, struct talos_mig_chunk *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->seq = talos_rd_u32(&r);
    out->first = talos_rd_u64(&r);
    out->n_pages = talos_rd_u32(&r);
    return done(&r, out, sizeof(*out));
}

void talos_mig_manifest_encode(const struct talos_mig_manifest *in,
                               uint8_t out[TALOS_MIG_MANIFEST_BYTES])
{
    struct put c = {out, 0};
    put_u32(&c, in->n_chunks);
    put_raw(&c, in->root, sizeof(in->root));
    put_raw(&c, in->head, sizeof(in->head));
}

int talos_mig_manifest_decode(const uint8_t *p, size_t n, struct talos_mig_manifest *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->n_chunks = talos_rd_u32(&r);
    talos_rd_raw(&r, out->root, sizeof(out->root));
    talos_rd_raw(&r, out->head, sizeof(out->head));
    return done(&r, out, sizeof(*out));
}

void talos_mig_round_encode(const struct talos_mig_round *in, uint8_t out[TALOS_MIG_ROUND_BYTES])
{
    struct put c = {out, 0};
    put_u32(&c, in->round);
    put_u64(&c, in->arena_pages);
}

int talos_mig_round_decode(const uint8_t *p, size_t n, struct talos_mig_round *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->round = talos_rd_u32(&r);
    out->arena_pages = talos_rd_u64(&r);
    return done(&r, out, sizeof(*out));
}

void talos_mig_round_ack_encode(uint32_t round, uint8_t out[TALOS_MIG_ROUND_ACK_BYTES])
{
    struct put c = {out, 0};
    put_u32(&c, round);
}

int talos_mig_round_ack_decode(const uint8_t *p, size_t n, uint32_t *round)
{
    struct talos_rd r;
    *round = 0;
    talos_rd_init(&r, p, n);
    *round = talos_rd_u32(&r);
    return done(&r, round, sizeof(*round));
}

void talos_mig_receipt_encode(const struct talos_mig_receipt *in,
                              uint8_t out[TALOS_MIG_RECEIPT_BYTES])
{
    struct put c = {out, 0};
    put_raw(&c, in->token, sizeof(in->token));
    put_u64(&c, in->restore_ns);
    put_u64(&c, in->activate_ns);
}

int talos_mig_receipt_decode(const uint8_t *p, size_t n, struct talos_mig_receipt *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    talos_rd_raw(&r, out->token, sizeof(out->token));
    out->restore_ns = talos_rd_u64(&r);
    out->activate_ns = talos_rd_u64(&r);
    return done(&r, out, sizeof(*out));
}
