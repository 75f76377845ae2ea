#include "core/mig.h"

#include <string.h>

#include "core/crypto.h"
#include "core/migctx.h"
#include "core/wire.h"
#include "talos/abi.h"
#include "talos/err.h"

_Static_assert(TALOS_MIG_PAGE_BYTES == TALOS_PAGE && TALOS_MIG_HASH_BYTES == TALOS_HASH,
               "the protocol's page and hash are the Merkle tree's");

/* Indexed by record type: a type names its own row. */
#define REC(t, from, min, max) [TALOS_MIG_##t] = {TALOS_MIG_##t, #t, from, min, max}
static const struct talos_mig_desc recs[] = {
    REC(HELLO, TALOS_MIG_FROM_S, TALOS_MIG_HELLO_BYTES, TALOS_MIG_HELLO_BYTES),
    REC(HELLO_ACK, TALOS_MIG_FROM_T, TALOS_MIG_HELLO_ACK_BYTES, TALOS_MIG_HELLO_ACK_BYTES),
    REC(EVIDENCE, TALOS_MIG_FROM_S | TALOS_MIG_FROM_T, TALOS_MIG_EVIDENCE_MIN,
        TALOS_MIG_EVIDENCE_MAX_BYTES),
    REC(BEGIN, TALOS_MIG_FROM_S, TALOS_MIG_BEGIN_BYTES, TALOS_MIG_BEGIN_BYTES),
    REC(CHUNK, TALOS_MIG_FROM_S, TALOS_MIG_CHUNK_MIN, TALOS_MIG_CHUNK_MAX),
    REC(MANIFEST, TALOS_MIG_FROM_S, TALOS_MIG_MANIFEST_BYTES, TALOS_MIG_MANIFEST_BYTES),
    REC(PREPARED, TALOS_MIG_FROM_T, TALOS_TOKEN_BYTES, TALOS_TOKEN_BYTES),
    REC(HANDOFF, TALOS_MIG_FROM_S, TALOS_TOKEN_BYTES, TALOS_TOKEN_BYTES),
    REC(RECEIPT, TALOS_MIG_FROM_T, TALOS_MIG_RECEIPT_BYTES, TALOS_MIG_RECEIPT_BYTES),
    REC(ABORT, TALOS_MIG_FROM_T, TALOS_TOKEN_BYTES, TALOS_TOKEN_BYTES),
    REC(THREADS, TALOS_MIG_FROM_S, TALOS_MIG_THREADS_MIN, TALOS_MIG_THREADS_MAX),
    REC(ROUND, TALOS_MIG_FROM_S, TALOS_MIG_ROUND_BYTES, TALOS_MIG_ROUND_BYTES),
    REC(ROUND_ACK, TALOS_MIG_FROM_T, TALOS_MIG_ROUND_ACK_BYTES, TALOS_MIG_ROUND_ACK_BYTES),
    REC(LINEAGE, TALOS_MIG_FROM_S, TALOS_MIG_LINEAGE_MIN, TALOS_MIG_LINEAGE_MAX),
};
#undef REC

const struct talos_mig_desc *talos_mig_find(uint8_t type)
{
    /* Row 0 and any gap are empty (no name): not a record type. */
    return type < sizeof(recs) / sizeof(recs[0]) && recs[type].name ? &recs[type] : NULL;
}

int talos_mig_check(uint8_t type, uint8_t from, uint32_t len)
{
    const struct talos_mig_desc *d = talos_mig_find(type);
    if (!d || !(d->from & from))
        return TALOS_ERR_PROTOCOL;
    return talos_len_check(len, d->min_len, d->max_len);
}

void talos_mig_hdr_encode(uint8_t type, uint32_t len, uint8_t out[TALOS_MIG_HDR])
{
    talos_be32_put(out, len);
    out[4] = type;
}

int talos_mig_hdr_decode(const uint8_t in[TALOS_MIG_HDR], uint8_t from, uint8_t *type,
                         uint32_t *len)
{
    *len = talos_be32_get(in);
    *type = in[4];
    return talos_mig_check(*type, from, *len);
}

static void token_body(const struct talos_token *t, struct talos_wr *w)
{
    talos_wr_u8(w, t->kind);
    talos_wr_raw(w, t->session, sizeof(t->session));
    talos_wr_raw(w, t->lineage, sizeof(t->lineage));
    talos_wr_u64(w, t->version);
    talos_wr_raw(w, t->head, sizeof(t->head));
    talos_wr_u32(w, (uint32_t)t->code);
}

int talos_token_seal(struct talos_token *t, const uint8_t key[TALOS_MIG_KEY_BYTES], uint8_t *out)
{
    struct talos_wr w;
    int rc = TALOS_OK;

    talos_wr_init(&w, TALOS_TOKEN_BYTES);
    token_body(t, &w);
    if (!w.err && (rc = talos_hmac_sha256(key, TALOS_MIG_KEY_BYTES, w.p, w.len, t->mac)) == TALOS_OK) {
        talos_wr_raw(&w, t->mac, sizeof(t->mac));
        if (!w.err)
            memcpy(out, w.p, TALOS_TOKEN_BYTES);
    }
    rc = w.err ? w.err : rc;
    talos_wr_free(&w);
    return rc;
}

int talos_token_decode(const uint8_t *in, size_t len, struct talos_token *out)
{
    struct talos_rd r;
    int rc = TALOS_OK;

    memset(out, 0, sizeof(*out));
    if (len != TALOS_TOKEN_BYTES)
        return TALOS_ERR_MALFORMED;
    talos_rd_init(&r, in, len);
    out->kind = talos_rd_u8(&r);
    talos_rd_raw(&r, out->session, sizeof(out->session));
    talos_rd_raw(&r, out->lineage, sizeof(out->lineage));
    out->version = talos_rd_u64(&r);
    talos_rd_raw(&r, out->head, sizeof(out->head));
    out->code = (int32_t)talos_rd_u32(&r);
    talos_rd_raw(&r, out->mac, sizeof(out->mac));
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int talos_token_open(const uint8_t *in, size_t len, const uint8_t key[TALOS_MIG_KEY_BYTES],
                     uint8_t kind, const uint8_t session[TALOS_SESSION_BYTES],
                     const uint8_t lineage[TALOS_LINEAGE_BYTES], struct talos_token *out)
{
    uint8_t mac[TALOS_TOKEN_MAC_BYTES];
    int rc = TALOS_OK;

    if ((rc = talos_token_decode(in, len, out)) != TALOS_OK)
        return rc;
    /* The MAC covers every byte before it. */
    if ((rc = talos_hmac_sha256(key, TALOS_MIG_KEY_BYTES, in, len - TALOS_TOKEN_MAC_BYTES, mac)) !=
        TALOS_OK)
        return rc;
    if (!talos_ct_eq(mac, out->mac, TALOS_TOKEN_MAC_BYTES))
        return TALOS_ERR_MAC;
    if (out->kind != kind || !talos_ct_eq(out->session, session, TALOS_SESSION_BYTES) ||
        !talos_ct_eq(out->lineage, lineage, TALOS_LINEAGE_BYTES))
        return TALOS_ERR_PROTOCOL;
    return TALOS_OK;
}

void talos_mig_report_encode(const struct talos_mig_report *r, struct talos_wr *w)
{
    talos_wr_raw(w, r->lineage, sizeof(r->lineage));
    talos_wr_u64(w, r->version);
    talos_wr_raw(w, r->head, sizeof(r->head));
    talos_wr_u64(w, r->prepare_ns);
    talos_wr_u64(w, r->checkpoint_ns);
    talos_wr_u64(w, r->transfer_ns);
    talos_wr_u64(w, r->restore_ns);
    talos_wr_u64(w, r->activate_ns);
    talos_wr_u64(w, r->downtime_ns);
    talos_wr_u64(w, r->total_ns);
    talos_wr_u64(w, r->state_bytes);
    talos_wr_u64(w, r->frozen_bytes);
    talos_wr_u64(w, r->cpu_ns);
    talos_wr_u32(w, r->rounds);
    talos_wr_u8(w, r->converged);
    talos_wr_u8(w, r->wtrack);
    talos_wr_u8(w, r->token_kind);
    talos_wr_raw(w, r->token, sizeof(r->token));
}

const char *talos_wtrack_name(unsigned code)
{
    static const char *const names[] = {"", "uffd-wp", "soft-dirty", "mprotect"};
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}

const char *talos_precopy_reason(unsigned code)
{
    static const char *const names[] = {
        [TALOS_PRECOPY_NONE] = "stop-and-copy",
        [TALOS_PRECOPY_CONVERGED] = "converged",
        [TALOS_PRECOPY_ROUNDS] = "round limit",
        [TALOS_PRECOPY_NOT_SHRINKING] = "not shrinking",
    };
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}

int talos_mig_report_decode(const uint8_t *p, size_t n, struct talos_mig_report *r)
{
    struct talos_rd rd;
    talos_rd_init(&rd, p, n);
    talos_rd_raw(&rd, r->lineage, sizeof(r->lineage));
    r->version = talos_rd_u64(&rd);
    talos_rd_raw(&rd, r->head, sizeof(r->head));
    r->prepare_ns = talos_rd_u64(&rd);
    r->checkpoint_ns = talos_rd_u64(&rd);
    r->transfer_ns = talos_rd_u64(&rd);
    r->restore_ns = talos_rd_u64(&rd);
    r->activate_ns = talos_rd_u64(&rd);
    r->downtime_ns = talos_rd_u64(&rd);
    r->total_ns = talos_rd_u64(&rd);
    r->state_bytes = talos_rd_u64(&rd);
    r->frozen_bytes = talos_rd_u64(&rd);
    r->cpu_ns = talos_rd_u64(&rd);
    r->rounds = talos_rd_u32(&rd);
    r->converged = talos_rd_u8(&rd);
    r->wtrack = talos_rd_u8(&rd);
    r->token_kind = talos_rd_u8(&rd);
    talos_rd_raw(&rd, r->token, sizeof(r->token));
    return talos_rd_finish(&rd);
}
