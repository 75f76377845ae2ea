/* The client session codec (core/sess.h). Every decoder takes hostile
 * bytes: the node's answer (client side), a client's records (TA side), a
 * TA's records (client side, after its evidence verified). */
#include "core/sess.h"

#include <string.h>

#include "talos/err.h"

void talos_sess_preamble_encode(const uint8_t lineage[TALOS_LINEAGE_BYTES],
                                uint8_t out[TALOS_SESS_PREAMBLE_BYTES])
{
    memcpy(out, TALOS_SESS_MAGIC, TALOS_SESS_MAGIC_BYTES);
    memcpy(out + TALOS_SESS_MAGIC_BYTES, lineage, TALOS_LINEAGE_BYTES);
}

int talos_sess_preamble_decode(const uint8_t in[TALOS_SESS_PREAMBLE_BYTES],
                               uint8_t lineage[TALOS_LINEAGE_BYTES])
{
    if (memcmp(in, TALOS_SESS_MAGIC, TALOS_SESS_MAGIC_BYTES) != 0)
        return TALOS_ERR_MALFORMED;
    memcpy(lineage, in + TALOS_SESS_MAGIC_BYTES, TALOS_LINEAGE_BYTES);
    return TALOS_OK;
}

/* Start a record: the header's room, filled by rec_end. */
static size_t rec_begin(struct talos_wr *w)
{
    size_t at = w->len;
    (void)talos_wr_space(w, TALOS_SESS_HDR);
    return at;
}

static void rec_end(struct talos_wr *w, size_t at, uint8_t type)
{
    if (w->err)
        return;
    talos_sess_hdr_encode(type, (uint32_t)(w->len - at - TALOS_SESS_HDR), w->p + at);
}

void talos_sess_answer_encode(int32_t status, const char *message, struct talos_wr *w)
{
    size_t at = w->len;
    size_t n = message ? strnlen(message, TALOS_SESS_ANSWER_MAX - 8) : 0;

    talos_wr_u32(w, 0);
    talos_wr_u32(w, (uint32_t)status);
    talos_wr_bytes(w, message, n);
    if (!w->err)
        talos_be32_put(w->p + at, (uint32_t)(w->len - at - 4));
}

int talos_sess_answer_decode(const uint8_t *p, size_t n, int32_t *status, char *message,
                             size_t cap)
{
    struct talos_rd r;

    if (n > TALOS_SESS_ANSWER_MAX)
        return TALOS_ERR_MALFORMED;
    talos_rd_init(&r, p, n);
    *status = (int32_t)talos_rd_u32(&r);
    talos_rd_str(&r, message, cap);
    if (talos_rd_finish(&r) != TALOS_OK || *status > 0 || *status < TALOS_ERR_MIN) {
        if (cap)
            message[0] = '\0';
        return TALOS_ERR_MALFORMED;
    }
    return TALOS_OK;
}

void talos_sess_hdr_encode(uint8_t type, uint32_t len, uint8_t out[TALOS_SESS_HDR])
{
    talos_be32_put(out, len);
    out[4] = type;
}

/* Indexed by type: who sends it and its body bounds. */
static const struct {
    uint8_t from;
    uint32_t min, max;
} recs[] = {
    [TALOS_SESS_HELLO] = {TALOS_SESS_FROM_CLIENT, 1 + TALOS_SESS_CLIENT_ID_BYTES,
                          1 + TALOS_SESS_CLIENT_ID_BYTES},
    [TALOS_SESS_WELCOME] = {TALOS_SESS_FROM_TA, 1 + TALOS_LINEAGE_BYTES + 16,
                            1 + TALOS_LINEAGE_BYTES + 16},
    [TALOS_SESS_CALL] = {TALOS_SESS_FROM_CLIENT, 9 + 8, TALOS_SESS_CALL_MAX},
    [TALOS_SESS_RESULT] = {TALOS_SESS_FROM_TA, 8 + 4 + 8 + 1 + 4 + 4, TALOS_SESS_RESULT_MAX},
    [TALOS_SESS_END] = {TALOS_SESS_FROM_TA, 8, 8 + 255},
};

int talos_sess_hdr_decode(const uint8_t in[TALOS_SESS_HDR], uint8_t from, uint8_t *type,
                          uint32_t *len)
{
    *len = talos_be32_get(in);
    *type = in[4];
    if (*type == 0 || *type >= sizeof(recs) / sizeof(recs[0]) || !(recs[*type].from & from))
        return TALOS_ERR_PROTOCOL;
    if (*len > recs[*type].max)
        return TALOS_ERR_TOO_LARGE;
    return *len < recs[*type].min ? TALOS_ERR_MALFORMED : TALOS_OK;
}

void talos_sess_hello_encode(const struct talos_sess_hello *in, struct talos_wr *w)
{
    size_t at = rec_begin(w);
    talos_wr_u8(w, in->proto);
    talos_wr_raw(w, in->client_id, sizeof(in->client_id));
    rec_end(w, at, TALOS_SESS_HELLO);
}

int talos_sess_hello_decode(const uint8_t *p, size_t n, struct talos_sess_hello *out)
{
    struct talos_rd r;
    talos_rd_init(&r, p, n);
    out->proto = talos_rd_u8(&r);
    talos_rd_raw(&r, out->client_id, sizeof(out->client_id));
    return talos_rd_finish(&r);
}

void talos_sess_welcome_encode(const struct talos_sess_welcome *in, struct talos_wr *w)
{
    size_t at = rec_begin(w);
    talos_wr_u8(w, in->proto);
    talos_wr_raw(w, in->lineage, sizeof(in->lineage));
    talos_wr_u64(w, in->version);
    talos_wr_u64(w, in->last_seq);
    rec_end(w, at, TALOS_SESS_WELCOME);
}

int talos_sess_welcome_decode(const uint8_t *p, size_t n, struct talos_sess_welcome *out)
{
    struct talos_rd r;
    talos_rd_init(&r, p, n);
    out->proto = talos_rd_u8(&r);
    talos_rd_raw(&r, out->lineage, sizeof(out->lineage));
    out->version = talos_rd_u64(&r);
    out->last_seq = talos_rd_u64(&r);
    return talos_rd_finish(&r);
}

void talos_sess_call_encode(uint64_t seq, uint8_t flags, const char *ecall, int argc,
                            const uint8_t *const *argv, const size_t *arg_len,
                            struct talos_wr *w)
{
    size_t at = rec_begin(w);
    talos_wr_u64(w, seq);
    talos_wr_u8(w, flags);
    talos_wr_str(w, ecall);
    talos_wr_u32(w, (uint32_t)argc);
    for (int i = 0; i < argc; i++)
        talos_wr_bytes(w, argv[i], arg_len[i]);
    if (!w->err && w->len - at - TALOS_SESS_HDR > TALOS_SESS_CALL_MAX)
        w->err = TALOS_ERR_TOO_LARGE;
    rec_end(w, at, TALOS_SESS_CALL);
}

int talos_sess_call_decode(const uint8_t *p, size_t n, struct talos_sess_call *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 9 || n > TALOS_SESS_CALL_MAX)
        return TALOS_ERR_MALFORMED;
    out->seq = talos_be64_get(p);
    out->flags = p[8];
    out->args = p + 9;
    out->args_len = n - 9;
    if (out->seq == 0 || (out->flags & ~TALOS_SESS_CALL_RETRY)) {
        memset(out, 0, sizeof(*out));
        return TALOS_ERR_MALFORMED;
    }
    return TALOS_OK;
}

void talos_sess_result_encode(const struct talos_sess_result *in, struct talos_wr *w)
{
    size_t at = rec_begin(w);
    talos_wr_u64(w, in->seq);
    talos_wr_u32(w, (uint32_t)in->status);
    talos_wr_u64(w, in->version);
    talos_wr_u8(w, in->flags);
    talos_wr_bytes(w, in->out, in->out ? in->out_len : 0);
    talos_wr_str(w, in->reason);
    rec_end(w, at, TALOS_SESS_RESULT);
}

int talos_sess_result_decode(const uint8_t *p, size_t n, struct talos_sess_result *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->seq = talos_rd_u64(&r);
    out->status = (int32_t)talos_rd_u32(&r);
    out->version = talos_rd_u64(&r);
    out->flags = talos_rd_u8(&r);
    out->out = talos_rd_bytes(&r, &out->out_len, TALOS_MAX_OUT_BYTES);
    talos_rd_str(&r, out->reason, sizeof(out->reason));
    if (talos_rd_finish(&r) != TALOS_OK || out->status > 0 || out->status < TALOS_ERR_MIN ||
        (out->flags & ~TALOS_SESS_RESULT_REPLAYED)) {
        memset(out, 0, sizeof(*out));
        return TALOS_ERR_MALFORMED;
    }
    return TALOS_OK;
}

void talos_sess_end_encode(const struct talos_sess_end *in, struct talos_wr *w)
{
    size_t at = rec_begin(w);
    talos_wr_u32(w, (uint32_t)in->code);
    talos_wr_str(w, in->reason);
    rec_end(w, at, TALOS_SESS_END);
}

int talos_sess_end_decode(const uint8_t *p, size_t n, struct talos_sess_end *out)
{
    struct talos_rd r;
    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->code = (int32_t)talos_rd_u32(&r);
    talos_rd_str(&r, out->reason, sizeof(out->reason));
    if (talos_rd_finish(&r) != TALOS_OK || out->code >= 0 || out->code < TALOS_ERR_MIN) {
        memset(out, 0, sizeof(*out));
        return TALOS_ERR_MALFORMED;
    }
    return TALOS_OK;
}
