#include "core/migrec.h"

#include <string.h>

#include "core/wire.h"
#include "talos/abi.h"
#include "talos/err.h"

/* The fixed-size bodies, one field list a record (core/wire.h), read by
 * both its encoder and its decoder so that the two cannot drift apart the
 * way hand-placed offsets do (tests/unit/test_migrec.c checks that each
 * writes exactly its record's size). */
enum { L_HELLO, L_HELLO_ACK, L_BEGIN, L_CHUNK, L_MANIFEST, L_ROUND, L_RECEIPT, L_N };
#define F(kind, rec, member) TALOS_FIELD(kind, struct talos_mig_##rec, member)
static const struct talos_field layouts[L_N][6] = {
    [L_HELLO] = {F(U8, hello, version), F(RAW, hello, session), F(RAW, hello, nonce),
                 F(RAW, hello, lineage), F(U64, hello, arena_hint)},
    [L_HELLO_ACK] = {F(U8, hello_ack, version), F(RAW, hello_ack, nonce)},
    [L_BEGIN] = {F(U64, begin, version), F(U64, begin, arena_bytes), F(U64, begin, persist_bytes),
                 F(U64, begin, head_version), F(RAW, begin, head)},
    [L_CHUNK] = {F(U32, chunk, seq), F(U64, chunk, first), F(U32, chunk, n_pages)},
    [L_MANIFEST] = {F(U32, manifest, n_chunks), F(RAW, manifest, root), F(RAW, manifest, head)},
    [L_ROUND] = {F(U32, round, round), F(U64, round, arena_pages)},
    [L_RECEIPT] = {F(RAW, receipt, token), F(U64, receipt, restore_ns),
                   F(U64, receipt, activate_ns)},
};
#undef F

/* The encoder and the decoder of a record whose body is its field list and
 * nothing more: talos_mig_<rec>_encode and talos_mig_<rec>_decode, as
 * declared in core/migrec.h. */
#define FIXED_CODEC(rec, REC)                                                              \
    void talos_mig_##rec##_encode(const struct talos_mig_##rec *in,                        \
                                  uint8_t out[TALOS_MIG_##REC##_BYTES])                    \
    {                                                                                      \
        (void)talos_fields_put(layouts[L_##REC], in, out);                                 \
    }                                                                                      \
    int talos_mig_##rec##_decode(const uint8_t *p, size_t n, struct talos_mig_##rec *out)  \
    {                                                                                      \
        return talos_fields_get(layouts[L_##REC], p, n, out, sizeof(*out));                \
    }

FIXED_CODEC(hello, HELLO)
FIXED_CODEC(hello_ack, HELLO_ACK)
FIXED_CODEC(begin, BEGIN)
FIXED_CODEC(manifest, MANIFEST)
FIXED_CODEC(round, ROUND)
FIXED_CODEC(receipt, RECEIPT)
#undef FIXED_CODEC

/* The others check more than a field list says, or take no struct. */

int talos_mig_evidence_encode(const uint8_t *ev, size_t ev_len,
                              const uint8_t mac[TALOS_MIG_BIND_MAC_BYTES], struct talos_wr *w)
{
    if (ev_len > TALOS_EVIDENCE_MAX)
        return TALOS_ERR_TOO_LARGE;
    talos_wr_bytes(w, ev, ev_len);
    talos_wr_raw(w, mac, TALOS_MIG_BIND_MAC_BYTES);
    return w->err;
}

int talos_mig_evidence_decode(const uint8_t *p, size_t n, const uint8_t **ev, size_t *ev_len,
                              const uint8_t **mac)
{
    struct talos_rd r;
    talos_rd_init(&r, p, n);
    *ev = talos_rd_bytes(&r, ev_len, TALOS_EVIDENCE_MAX);
    /* After the evidence, exactly the MAC (talos_rd_left is 0 on an error). */
    if (talos_rd_left(&r) == TALOS_MIG_BIND_MAC_BYTES) {
        *mac = p + n - TALOS_MIG_BIND_MAC_BYTES;
        return TALOS_OK;
    }
    *ev = NULL, *mac = NULL;
    *ev_len = 0;
    return TALOS_ERR_MALFORMED;
}

int talos_mig_chunk_encode(const struct talos_mig_chunk *in, uint8_t out[TALOS_MIG_CHUNK_HDR_BYTES])
{
    if (in->n_pages == 0 || in->n_pages > TALOS_MIG_CHUNK_PAGES)
        return TALOS_ERR_INVALID_ARG;
    (void)talos_fields_put(layouts[L_CHUNK], in, out);
    return TALOS_OK;
}

int talos_mig_chunk_decode(const uint8_t *p, size_t n, struct talos_mig_chunk *out)
{
    return talos_fields_get(layouts[L_CHUNK], p, n, out, sizeof(*out));
}

void talos_mig_round_ack_encode(uint32_t round, uint8_t out[TALOS_MIG_ROUND_ACK_BYTES])
{
    talos_be32_put(out, round);
}

int talos_mig_round_ack_decode(const uint8_t *p, size_t n, uint32_t *round)
{
    return talos_u32_body_decode(p, n, round);
}
