#include "core/msg.h"

#include <stddef.h>
#include <string.h>

#include "core/wire.h"

#include "talos/abi.h"
#include "talos/err.h"
#include "talos/ta.h"

static const struct talos_msg_desc msgs[] = {
    {TALOS_MSG_INIT, "INIT", TALOS_MSG_FROM_HOST, 6, (1u << 20) + 6},
    {TALOS_MSG_CALL, "CALL", TALOS_MSG_FROM_HOST, 8, TALOS_MSG_MAX},
    {TALOS_MSG_ATTEST, "ATTEST", TALOS_MSG_FROM_HOST, TALOS_NONCE_BYTES, TALOS_NONCE_BYTES},
    {TALOS_MSG_INFO, "INFO", TALOS_MSG_FROM_HOST, 0, 0},
    {TALOS_MSG_STOP, "STOP", TALOS_MSG_FROM_HOST, 0, 0},
    {TALOS_MSG_OCALL_RET, "OCALL_RET", TALOS_MSG_FROM_HOST, 8, TALOS_MSG_MAX},
    /* Up to a whole frame: HOST_REQ_CFG returns a CFG file of a few MB. */
    {TALOS_MSG_HOST_RET, "HOST_RET", TALOS_MSG_FROM_HOST, 8, TALOS_MSG_MAX},
    {TALOS_MSG_MIGRATE_OUT, "MIGRATE_OUT", TALOS_MSG_FROM_HOST, 9, 9 + 256},
    {TALOS_MSG_MIGRATE_SOCK, "MIGRATE_SOCK", TALOS_MSG_FROM_HOST, 0, 0},
    {TALOS_MSG_MIGRATE_IN, "MIGRATE_IN", TALOS_MSG_FROM_HOST, TALOS_MSG_MIGRATE_IN_BYTES,
     TALOS_MSG_MIGRATE_IN_BYTES},
    {TALOS_MSG_RESUME, "RESUME", TALOS_MSG_FROM_HOST, 4, 4096},
    {TALOS_MSG_HANDOFF, "HANDOFF", TALOS_MSG_FROM_HOST, 4, 4096},
    {TALOS_MSG_GIVE_UP, "GIVE_UP", TALOS_MSG_FROM_HOST, TALOS_MSG_GIVE_UP_BYTES, TALOS_MSG_GIVE_UP_BYTES},
    {TALOS_MSG_RECEIPT, "RECEIPT", TALOS_MSG_FROM_HOST, 4, 4096},
    {TALOS_MSG_STATE_CERT, "STATE_CERT", TALOS_MSG_FROM_HOST, 0, 0},
    {TALOS_MSG_PREFAULT, "PREFAULT", TALOS_MSG_FROM_HOST, TALOS_MSG_PREFAULT_BYTES,
     TALOS_MSG_PREFAULT_BYTES},
    {TALOS_MSG_SESSION, "SESSION", TALOS_MSG_FROM_HOST, TALOS_MSG_SESSION_MIN,
     TALOS_MSG_SESSION_MIN + TALOS_SESS_IO_MAX},
    {TALOS_MSG_SESSION_RET, "SESSION_RET", TALOS_MSG_FROM_TA, TALOS_MSG_SESSION_RET_MIN,
     TALOS_MSG_SESSION_RET_MIN + TALOS_SESS_IO_MAX},
    {TALOS_MSG_READY, "READY", TALOS_MSG_FROM_TA, 28, 4096},
    {TALOS_MSG_REPLY, "REPLY", TALOS_MSG_FROM_TA, 20, TALOS_MAX_OUT_BYTES + 4096},
    {TALOS_MSG_OCALL, "OCALL", TALOS_MSG_FROM_TA, 8, TALOS_MSG_MAX},
    {TALOS_MSG_HOST_REQ, "HOST_REQ", TALOS_MSG_FROM_TA, 6, 64u << 10},
    {TALOS_MSG_INFO_RET, "INFO_RET", TALOS_MSG_FROM_TA, 20, 4096},
    {TALOS_MSG_START_FAILED, "START_FAILED", TALOS_MSG_FROM_TA, 8, 8 + TALOS_MSG_START_REASON_MAX},
};

const struct talos_msg_desc *talos_msg_find(uint16_t type)
{
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        if (msgs[i].type == type)
            return &msgs[i];
    return NULL;
}

int talos_msg_check(uint16_t type, uint8_t from, uint32_t body_len)
{
    const struct talos_msg_desc *d = talos_msg_find(type);
    if (!d || d->from != from)
        return TALOS_ERR_PROTOCOL;
    return talos_len_check(body_len, d->min_len, d->max_len);
}

/* The fixed-size bodies, one field list a message (core/wire.h), read by
 * both its encoder and its decoder. */
enum { L_MIGRATE_IN, L_ACTIVATE, L_N };
static const struct talos_field layouts[L_N][3] = {
    [L_MIGRATE_IN] = {TALOS_FIELD(RAW, struct talos_msg_migrate_in, lineage),
                      TALOS_FIELD(U64, struct talos_msg_migrate_in, prefault_grant)},
    [L_ACTIVATE] = {TALOS_FIELD(RAW, struct talos_host_activate, lineage),
                    TALOS_FIELD(U64, struct talos_host_activate, version)},
};

void talos_msg_migrate_in_encode(const struct talos_msg_migrate_in *in,
                                 uint8_t out[TALOS_MSG_MIGRATE_IN_BYTES])
{
    (void)talos_fields_put(layouts[L_MIGRATE_IN], in, out);
}

int talos_msg_migrate_in_decode(const uint8_t *p, size_t n, struct talos_msg_migrate_in *out)
{
    return talos_fields_get(layouts[L_MIGRATE_IN], p, n, out, sizeof(*out));
}

void talos_msg_give_up_encode(int32_t code, uint8_t out[TALOS_MSG_GIVE_UP_BYTES])
{
    talos_be32_put(out, (uint32_t)code);
}

int talos_msg_give_up_decode(const uint8_t *p, size_t n, int32_t *code)
{
    uint32_t v = 0;
    int rc = talos_u32_body_decode(p, n, &v);

    *code = (int32_t)v;
    return rc;
}

void talos_msg_prefault_encode(uint64_t bytes, uint8_t out[TALOS_MSG_PREFAULT_BYTES])
{
    talos_be64_put(out, bytes);
}

int talos_msg_prefault_decode(const uint8_t *p, size_t n, uint64_t *bytes)
{
    struct talos_rd r;

    talos_rd_init(&r, p, n);
    *bytes = talos_rd_u64(&r);
    if (talos_rd_finish(&r) == TALOS_OK)
        return TALOS_OK;
    *bytes = 0;
    return TALOS_ERR_MALFORMED;
}

void talos_msg_start_failed_encode(const struct talos_msg_start_failed *in, struct talos_wr *w)
{
    talos_wr_u32(w, (uint32_t)in->status);
    talos_wr_str(w, in->reason);
}

int talos_msg_start_failed_decode(const uint8_t *p, size_t n, struct talos_msg_start_failed *out)
{
    struct talos_rd r;

    memset(out, 0, sizeof(*out));
    talos_rd_init(&r, p, n);
    out->status = (int32_t)talos_rd_u32(&r);
    talos_rd_str(&r, out->reason, sizeof(out->reason));
    if (talos_rd_finish(&r) == TALOS_OK)
        return TALOS_OK;
    memset(out, 0, sizeof(*out));
    return TALOS_ERR_MALFORMED;
}

void talos_host_activate_encode(const struct talos_host_activate *in,
                                uint8_t out[TALOS_HOST_ACTIVATE_BYTES])
{
    (void)talos_fields_put(layouts[L_ACTIVATE], in, out);
}

int talos_host_activate_decode(const uint8_t *p, size_t n, struct talos_host_activate *out)
{
    return talos_fields_get(layouts[L_ACTIVATE], p, n, out, sizeof(*out));
}

void talos_msg_session_encode(const struct talos_msg_session *in, struct talos_wr *w)
{
    talos_wr_u32(w, in->sid);
    talos_wr_u8(w, in->op);
    if (in->len > TALOS_SESS_IO_MAX)
        w->err = w->err ? w->err : TALOS_ERR_TOO_LARGE;
    else if (in->len)
        talos_wr_raw(w, in->data, in->len);
}

int talos_msg_session_decode(const uint8_t *p, size_t n, struct talos_msg_session *out)
{
    memset(out, 0, sizeof(*out));
    if (n < TALOS_MSG_SESSION_MIN || n > TALOS_MSG_SESSION_MIN + TALOS_SESS_IO_MAX)
        return TALOS_ERR_MALFORMED;
    out->sid = talos_be32_get(p);
    out->op = p[4];
    out->len = n - TALOS_MSG_SESSION_MIN;
    out->data = out->len ? p + TALOS_MSG_SESSION_MIN : NULL;
    /* Only DATA carries bytes. */
    if (out->op < TALOS_SESS_OP_OPEN || out->op > TALOS_SESS_OP_CLOSE ||
        (out->op != TALOS_SESS_OP_DATA && out->len)) {
        memset(out, 0, sizeof(*out));
        return TALOS_ERR_MALFORMED;
    }
    return TALOS_OK;
}

void talos_msg_session_ret_encode(const struct talos_msg_session_ret *in, struct talos_wr *w)
{
    talos_wr_u32(w, (uint32_t)in->status);
    talos_wr_u64(w, in->version);
    talos_wr_u8(w, in->flags);
    if (in->len > TALOS_SESS_IO_MAX)
        w->err = w->err ? w->err : TALOS_ERR_TOO_LARGE;
    else if (in->len)
        talos_wr_raw(w, in->data, in->len);
}

int talos_msg_session_ret_decode(const uint8_t *p, size_t n, struct talos_msg_session_ret *out)
{
    memset(out, 0, sizeof(*out));
    if (n < TALOS_MSG_SESSION_RET_MIN || n > TALOS_MSG_SESSION_RET_MIN + TALOS_SESS_IO_MAX)
        return TALOS_ERR_MALFORMED;
    out->status = (int32_t)talos_be32_get(p);
    out->version = talos_be64_get(p + 4);
    out->flags = p[12];
    out->len = n - TALOS_MSG_SESSION_RET_MIN;
    out->data = out->len ? p + TALOS_MSG_SESSION_RET_MIN : NULL;
    if (out->status > 0 || out->status < TALOS_ERR_MIN ||
        (out->flags & ~(TALOS_SESS_RET_MORE | TALOS_SESS_RET_CLOSED))) {
        memset(out, 0, sizeof(*out));
        return TALOS_ERR_MALFORMED;
    }
    return TALOS_OK;
}
