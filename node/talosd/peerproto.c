#include "node/talosd/peerproto.h"

#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/wire.h"
#include "os/xport.h"
#include "talos/err.h"

/* One message in one write: on TLS, one record instead of two. Frees w. */
static int send_msg(struct peer_link *l, struct talos_wr *w)
{
    uint8_t buf[4 + PEER_MSG_MAX];
    int rc = w->err;

    if (rc == TALOS_OK && w->len > PEER_MSG_MAX)
        rc = TALOS_ERR_TOO_LARGE;
    if (rc == TALOS_OK) {
        talos_be32_put(buf, (uint32_t)w->len);
        memcpy(buf + 4, w->p, w->len);
        rc = peer_link_write(l, buf, 4 + w->len);
    }
    talos_wr_free(w);
    return rc;
}

/* Read one message into buf (hostile: bounded, copied once). */
static int recv_msg(struct peer_link *l, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t hdr[4];
    int rc = peer_link_read(l, hdr, 4);
    if (rc != TALOS_OK)
        return rc;
    *len = talos_be32_get(hdr);
    if (*len > cap)
        return TALOS_ERR_TOO_LARGE;
    return peer_link_read(l, buf, *len);
}

int peer_send_offer(struct peer_link *l, const struct peer_offer *o)
{
    struct talos_wr w;
    talos_wr_init(&w, PEER_MSG_MAX);
    talos_wr_raw(&w, PEER_MAGIC, sizeof(PEER_MAGIC));
    talos_wr_raw(&w, o->lineage, TALOS_LINEAGE_BYTES);
    talos_wr_raw(&w, o->image_sha, TALOS_SHA256_BYTES);
    talos_wr_u64(&w, o->image_size);
    talos_wr_u8(&w, o->mode);
    talos_wr_bytes(&w, o->sig, o->sig_len);
    return send_msg(l, &w);
}

static int decode_offer(const uint8_t *buf, size_t len, struct peer_offer *o)
{
    uint8_t magic[sizeof(PEER_MAGIC)];
    const uint8_t *sig = NULL;
    struct talos_rd r;
    int rc = TALOS_OK;

    talos_rd_init(&r, buf, len);
    talos_rd_raw(&r, magic, sizeof(magic));
    talos_rd_raw(&r, o->lineage, TALOS_LINEAGE_BYTES);
    talos_rd_raw(&r, o->image_sha, TALOS_SHA256_BYTES);
    o->image_size = talos_rd_u64(&r);
    o->mode = talos_rd_u8(&r);
    sig = talos_rd_bytes(&r, &o->sig_len, sizeof(o->sig));
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        return rc;
    if (o->sig_len != 0 && o->sig_len != sizeof(o->sig))
        return TALOS_ERR_MALFORMED;
    memcpy(o->sig, sig, o->sig_len);
    if (memcmp(magic, PEER_MAGIC, sizeof(magic)) != 0)
        return TALOS_ERR_PROTOCOL;
    if (o->image_size == 0 || o->image_size > PEER_IMAGE_MAX || o->mode > 1)
        return TALOS_ERR_MALFORMED;
    return TALOS_OK;
}

static int decode_resend(const uint8_t *buf, size_t len, struct peer_resend *q)
{
    struct talos_rd r;
    const uint8_t *tok = NULL;
    int rc = TALOS_OK;

    talos_rd_init(&r, buf, len);
    talos_rd_raw(&r, (uint8_t[sizeof(PEER_MAGIC_RESEND)]){0}, sizeof(PEER_MAGIC_RESEND));
    talos_rd_raw(&r, q->lineage, TALOS_LINEAGE_BYTES);
    talos_rd_raw(&r, q->session, TALOS_SESSION_BYTES);
    tok = talos_rd_bytes(&r, &q->token_len, sizeof(q->token));
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        return rc;
    memcpy(q->token, tok, q->token_len);
    return TALOS_OK;
}

int peer_recv_offer(struct peer_link *l, struct peer_offer *o)
{
    uint8_t buf[PEER_MSG_MAX];
    size_t len = 0;
    int rc = recv_msg(l, buf, sizeof(buf), &len);
    return rc != TALOS_OK ? rc : decode_offer(buf, len, o);
}

int peer_recv_request(struct peer_link *l, int *kind, struct peer_offer *o, struct peer_resend *q)
{
    uint8_t buf[PEER_MSG_MAX];
    size_t len = 0;
    int rc = recv_msg(l, buf, sizeof(buf), &len);

    if (rc != TALOS_OK)
        return rc;
    if (len >= sizeof(PEER_MAGIC_RESEND) &&
        memcmp(buf, PEER_MAGIC_RESEND, sizeof(PEER_MAGIC_RESEND)) == 0) {
        *kind = PEER_REQ_RESEND;
        return decode_resend(buf, len, q);
    }
    *kind = PEER_REQ_OFFER;
    return decode_offer(buf, len, o);
}

int peer_send_resend(struct peer_link *l, const struct peer_resend *q)
{
    struct talos_wr w;
    talos_wr_init(&w, PEER_MSG_MAX);
    talos_wr_raw(&w, PEER_MAGIC_RESEND, sizeof(PEER_MAGIC_RESEND));
    talos_wr_raw(&w, q->lineage, TALOS_LINEAGE_BYTES);
    talos_wr_raw(&w, q->session, TALOS_SESSION_BYTES);
    talos_wr_bytes(&w, q->token, q->token_len);
    return send_msg(l, &w);
}

int peer_send_verdict(struct peer_link *l, const struct peer_verdict *v)
{
    struct talos_wr w;
    talos_wr_init(&w, PEER_MSG_MAX);
    talos_wr_u32(&w, (uint32_t)v->status);
    talos_wr_u8(&w, v->kind);
    talos_wr_bytes(&w, v->token, v->token_len);
    talos_wr_bytes(&w, v->message, strnlen(v->message, 255));
    return send_msg(l, &w);
}

int peer_recv_verdict(struct peer_link *l, struct peer_verdict *v)
{
    uint8_t buf[PEER_MSG_MAX];
    size_t len = 0;
    struct talos_rd r;
    const uint8_t *tok = NULL;
    int rc = recv_msg(l, buf, sizeof(buf), &len);

    if (rc != TALOS_OK)
        return rc;
    memset(v, 0, sizeof(*v));
    talos_rd_init(&r, buf, len);
    v->status = (int32_t)talos_rd_u32(&r);
    v->kind = talos_rd_u8(&r);
    tok = talos_rd_bytes(&r, &v->token_len, sizeof(v->token));
    talos_rd_str(&r, v->message, sizeof(v->message));
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        return rc;
    memcpy(v->token, tok, v->token_len);
    return v->status > 0 || v->status < TALOS_ERR_MIN ? TALOS_ERR_MALFORMED : TALOS_OK;
}

int peer_send_answer(struct peer_link *l, int32_t status, uint8_t need_image, const char *message,
                     const uint8_t ticket[PEER_TICKET_BYTES])
{
    struct talos_wr w;
    talos_wr_init(&w, PEER_MSG_MAX);
    talos_wr_u32(&w, (uint32_t)status);
    talos_wr_u8(&w, need_image);
    talos_wr_bytes(&w, message, strnlen(message, 255));
    talos_wr_bytes(&w, ticket, ticket ? PEER_TICKET_BYTES : 0);
    return send_msg(l, &w);
}

int peer_recv_answer(struct peer_link *l, struct peer_answer *a)
{
    uint8_t buf[PEER_MSG_MAX];
    size_t len = 0;
    struct talos_rd r;
    int rc = recv_msg(l, buf, sizeof(buf), &len);
    if (rc != TALOS_OK)
        return rc;
    const uint8_t *tk = NULL;
    memset(a, 0, sizeof(*a));
    talos_rd_init(&r, buf, len);
    a->status = (int32_t)talos_rd_u32(&r);
    a->need_image = talos_rd_u8(&r);
    talos_rd_str(&r, a->message, sizeof(a->message));
    tk = talos_rd_bytes(&r, &a->ticket_len, sizeof(a->ticket));
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        return rc;
    if (a->ticket_len != 0 && a->ticket_len != PEER_TICKET_BYTES)
        return TALOS_ERR_MALFORMED;
    memcpy(a->ticket, tk, a->ticket_len);
    return a->status > 0 || a->status < TALOS_ERR_MIN ? TALOS_ERR_MALFORMED : TALOS_OK;
}

void peer_data_hello(uint8_t out[PEER_DATA_HELLO_BYTES], const uint8_t ticket[PEER_TICKET_BYTES])
{
    memcpy(out, PEER_MAGIC_DATA, sizeof(PEER_MAGIC_DATA));
    memcpy(out + sizeof(PEER_MAGIC_DATA), ticket, PEER_TICKET_BYTES);
}

int peer_data_ticket(const uint8_t buf[PEER_DATA_HELLO_BYTES], uint8_t ticket[PEER_TICKET_BYTES])
{
    if (memcmp(buf, PEER_MAGIC_DATA, sizeof(PEER_MAGIC_DATA)) != 0)
        return TALOS_ERR_PROTOCOL;
    memcpy(ticket, buf + sizeof(PEER_MAGIC_DATA), PEER_TICKET_BYTES);
    return TALOS_OK;
}

void peer_set_timeouts(int fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void peer_close(struct peer_link *l)
{
    char sink[1 << 14];
    uint64_t total = 0;

    if (l->fd < 0)
        return;
    /* Our last words first (close_notify, or FIN), then drain. Bounded:
     * what a refused peer may still send is an image at most. */
    if (l->ssl)
        (void)SSL_shutdown(l->ssl);
    else
        (void)shutdown(l->fd, SHUT_WR);
    peer_set_timeouts(l->fd, 2);
    for (;;) {
        ssize_t n = l->ssl ? SSL_read(l->ssl, sink, sizeof(sink)) : read(l->fd, sink, sizeof(sink));
        if (n <= 0 || (total += (uint64_t)n) > PEER_IMAGE_MAX)
            break;
    }
    peer_link_close(l);
}
