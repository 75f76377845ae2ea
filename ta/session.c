/* The SESSION frame (core/msg.h, docs/sessions.md): a client's TLS 1.3
 * session, terminated here, whose bytes the node relays. Each session is
 * an SSL on two memory BIOs: the frame's bytes go into the read BIO, the
 * handshake and the client's records are driven as far as they go, and
 * what the TA has for the client comes back from the write BIO in the
 * SESSION_RET, at most TALOS_SESS_IO_MAX per frame (MORE: ask again).
 *
 * Hostile input twice over: the frame (the node) and the plaintext (the
 * client, once TLS is up). Every buffer is bounded: the partial record by
 * the largest record a client may send, the ciphertext waiting in the TA
 * by RBIO_MAX, and the TA stops reading records while the client has more
 * than one frame's worth of answers waiting, so that a client that sends
 * and never reads holds at most one answer in the TA.
 *
 * Sessions are not migrated (their TLS state stays behind: the client
 * reconnects and resumes with its sequence numbers). Only the serving
 * thread touches them. Trusted code. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/msg.h"
#include "core/sess.h"
#include "ta/rt.h"
#include "ta/sess.h"
#include "ta/sess_rec.h"

#define IN_MAX (TALOS_SESS_HDR + TALOS_SESS_CALL_MAX) /* the largest client record */
#define READ_CHUNK (16u << 10)
#define RBIO_MAX (2u << 20) /* ciphertext from the client not yet read */

struct sess {
    int used;
    uint32_t sid;
    SSL *ssl;          /* owns both BIOs */
    BIO *rbio, *wbio;
    uint8_t *in;       /* plaintext of the client's partial record */
    size_t in_len, in_cap;
    struct talos_sess_peer peer;
};

static struct sess sessions[TALOS_SESS_MAX];
static uint8_t io[TALOS_SESS_IO_MAX]; /* ciphertext for the node: nothing secret */

static struct sess *find(uint32_t sid)
{
    for (size_t i = 0; i < TALOS_SESS_MAX; i++)
        if (sessions[i].used && sessions[i].sid == sid)
            return &sessions[i];
    return NULL;
}

static void sess_free(struct sess *s)
{
    SSL_free(s->ssl); /* its keys are cleared as it frees them */
    if (s->in) {
        talos_wipe(s->in, s->in_cap);
        free(s->in);
    }
    talos_wipe(s, sizeof(*s));
}

void talos_rt_sess_drop_all(void)
{
    for (size_t i = 0; i < TALOS_SESS_MAX; i++)
        if (sessions[i].used)
            sess_free(&sessions[i]);
}

/* The answer: status, flags and up to TALOS_SESS_IO_MAX bytes of the
 * session's output (s NULL: none). A closed session is freed after. */
static int answer(int status, struct sess *s, uint8_t flags)
{
    struct talos_msg_session_ret ret = {.status = status, .version = talos_rt.version,
                                        .flags = flags, .data = io};
    struct talos_wr *w = &talos_rt.tx;

    if (s) {
        size_t pending = BIO_ctrl_pending(s->wbio);
        size_t n = pending < sizeof(io) ? pending : sizeof(io);
        int got = n ? BIO_read(s->wbio, io, (int)n) : 0;
        ret.len = got > 0 ? (size_t)got : 0;
        if (BIO_ctrl_pending(s->wbio) && !(flags & TALOS_SESS_RET_CLOSED))
            ret.flags |= TALOS_SESS_RET_MORE;
        if (flags & TALOS_SESS_RET_CLOSED)
            sess_free(s);
    }
    talos_wr_reset(w);
    talos_msg_session_ret_encode(&ret, w);
    return w->err ? w->err : talos_xport_send(&talos_rt.x, TALOS_MSG_SESSION_RET, w->p, w->len);
}

static int on_open(const struct talos_msg_session *m)
{
    uint32_t sid = m->sid;
    char why[200];
    struct sess *s = NULL;

    if (talos_rt.state != RT_ACTIVE)
        return answer(talos_rt_not_serving(why, sizeof(why)), NULL, TALOS_SESS_RET_CLOSED);
    if (!talos_rt_sess_ctx())
        return answer(TALOS_ERR_BACKEND, NULL, TALOS_SESS_RET_CLOSED);
    if (find(sid))
        return answer(TALOS_ERR_PROTOCOL, NULL, TALOS_SESS_RET_CLOSED);
    for (size_t i = 0; i < TALOS_SESS_MAX && !s; i++)
        if (!sessions[i].used)
            s = &sessions[i];
    if (!s)
        return answer(TALOS_ERR_BUSY, NULL, TALOS_SESS_RET_CLOSED);
    memset(s, 0, sizeof(*s));
    s->ssl = SSL_new(talos_rt_sess_ctx());
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    if (!s->ssl || !s->rbio || !s->wbio) {
        BIO_free(s->rbio);
        BIO_free(s->wbio);
        SSL_free(s->ssl);
        memset(s, 0, sizeof(*s));
        ERR_clear_error();
        return answer(TALOS_ERR_NOMEM, NULL, TALOS_SESS_RET_CLOSED);
    }
    /* An empty read BIO means "no bytes yet", not EOF. */
    BIO_set_mem_eof_return(s->rbio, -1);
    BIO_set_mem_eof_return(s->wbio, -1);
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    SSL_set_accept_state(s->ssl);
    s->used = 1;
    s->sid = sid;
    return answer(TALOS_OK, NULL, 0);
}

/* Room for `need` bytes of partial record (need <= IN_MAX). */
static int grow(struct sess *s, size_t need)
{
    size_t cap = s->in_cap ? s->in_cap : READ_CHUNK;
    uint8_t *p = NULL;

    if (need <= s->in_cap)
        return TALOS_OK;
    while (cap < need)
        cap *= 2;
    if (cap > IN_MAX)
        cap = IN_MAX;
    if (!(p = malloc(cap)))
        return TALOS_ERR_NOMEM;
    if (s->in) {
        memcpy(p, s->in, s->in_len);
        talos_wipe(s->in, s->in_cap);
        free(s->in);
    }
    s->in = p;
    s->in_cap = cap;
    return TALOS_OK;
}

/* Encrypt the plaintext answers into the write BIO, wipe the plaintext. */
static int flush(struct sess *s, struct talos_wr *plain)
{
    int ok = plain->err == TALOS_OK &&
             (plain->len == 0 || SSL_write(s->ssl, plain->p, (int)plain->len) == (int)plain->len);
    if (plain->len)
        talos_wipe(plain->p, plain->len);
    talos_wr_reset(plain);
    ERR_clear_error();
    return ok ? TALOS_OK : TALOS_ERR_CRYPTO;
}

/* One complete record at the head of the partial buffer, if any: handled
 * (1), not complete yet (0), or the session ends (its negative code). */
static int one_record(struct sess *s, struct talos_wr *plain)
{
    uint8_t type = 0;
    uint32_t len = 0;
    int rc = TALOS_OK;

    if (s->in_len < TALOS_SESS_HDR)
        return 0;
    if ((rc = talos_sess_hdr_decode(s->in, TALOS_SESS_FROM_CLIENT, &type, &len)) != TALOS_OK)
        return talos_rt_sess_end(plain, rc, "bad record header");
    if ((rc = grow(s, TALOS_SESS_HDR + (size_t)len)) != TALOS_OK)
        return talos_rt_sess_end(plain, rc, "no memory for the record");
    if (s->in_len < TALOS_SESS_HDR + (size_t)len)
        return 0;
    rc = talos_rt_sess_record(&s->peer, type, s->in + TALOS_SESS_HDR, len, plain);
    size_t used = TALOS_SESS_HDR + (size_t)len;
    memmove(s->in, s->in + used, s->in_len - used);
    talos_wipe(s->in + s->in_len - used, used);
    s->in_len -= used;
    return rc == TALOS_OK ? 1 : rc;
}

/* Drive the handshake, then read and answer records while the client's
 * answers waiting here fit one frame. TALOS_OK, 1 (the client closed), or
 * the negative code the session ends with (tls: whether TLS was up). */
static int drive(struct sess *s, struct talos_wr *plain, int *tls)
{
    int rc = TALOS_OK;

    *tls = SSL_is_init_finished(s->ssl);
    if (!*tls) {
        int r = SSL_do_handshake(s->ssl), e = SSL_get_error(s->ssl, r);
        if (r != 1)
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? TALOS_OK
                                                                         : TALOS_ERR_PROTOCOL;
        *tls = 1;
    }
    while (BIO_ctrl_pending(s->wbio) <= TALOS_SESS_IO_MAX) {
        if ((rc = one_record(s, plain)) < 0)
            return rc;
        if (rc == 1) {
            if ((rc = flush(s, plain)) != TALOS_OK)
                return rc;
            continue;
        }
        size_t want = s->in_len + READ_CHUNK > IN_MAX ? IN_MAX : s->in_len + READ_CHUNK;
        if ((rc = grow(s, want)) != TALOS_OK)
            return talos_rt_sess_end(plain, rc, "no memory for the record");
        size_t room = s->in_cap - s->in_len;
        int r = SSL_read(s->ssl, s->in + s->in_len, (int)(room < READ_CHUNK ? room : READ_CHUNK));
        if (r > 0) {
            s->in_len += (size_t)r;
            continue;
        }
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            return TALOS_OK;
        return e == SSL_ERROR_ZERO_RETURN ? 1 : TALOS_ERR_PROTOCOL;
    }
    return TALOS_OK;
}

static int on_data(const struct talos_msg_session *m)
{
    uint32_t sid = m->sid;
    const uint8_t *data = m->data;
    size_t len = m->len;
    char why[200];
    struct sess *s = find(sid);
    struct talos_wr plain;
    int tls = 0, rc = TALOS_OK;

    if (!s)
        return answer(talos_rt.state == RT_ACTIVE ? TALOS_ERR_NO_SUCH_SESSION
                                                  : talos_rt_not_serving(why, sizeof(why)),
                      NULL, TALOS_SESS_RET_CLOSED);
    if (len > RBIO_MAX - BIO_ctrl_pending(s->rbio) ||
        (len && BIO_write(s->rbio, data, (int)len) != (int)len))
        return answer(TALOS_ERR_PROTOCOL, s, TALOS_SESS_RET_CLOSED);
    talos_wr_init(&plain, TALOS_SESS_RESULT_MAX + 512);
    rc = drive(s, &plain, &tls);
    if (rc < 0 && tls) {
        /* The END already in plain goes out, then close_notify. */
        (void)flush(s, &plain);
        (void)SSL_shutdown(s->ssl);
    }
    if (plain.len)
        talos_wipe(plain.p, plain.len);
    talos_wr_free(&plain);
    ERR_clear_error();
    if (rc < 0) {
        TLOG_DEBUG("session %u ended: %s", sid, talos_strerror(rc));
        return answer(rc == TALOS_ERR_MOVED || rc == TALOS_ERR_STATE ? rc : TALOS_ERR_PROTOCOL,
                      s, TALOS_SESS_RET_CLOSED);
    }
    if (rc == 1) /* the client said close_notify: ours goes back */
        (void)SSL_shutdown(s->ssl);
    return answer(TALOS_OK, s, rc == 1 ? TALOS_SESS_RET_CLOSED : 0);
}

static int on_close(const struct talos_msg_session *m)
{
    struct sess *s = find(m->sid);

    if (!s)
        return answer(TALOS_ERR_NO_SUCH_SESSION, NULL, TALOS_SESS_RET_CLOSED);
    sess_free(s);
    return answer(TALOS_OK, NULL, TALOS_SESS_RET_CLOSED);
}

/* By op; the codec let only these through. */
static const struct {
    uint8_t op;
    int (*fn)(const struct talos_msg_session *m);
} ops[] = {
    {TALOS_SESS_OP_OPEN, on_open},
    {TALOS_SESS_OP_DATA, on_data},
    {TALOS_SESS_OP_CLOSE, on_close},
};

int talos_rt_handle_session(const uint8_t *body, size_t len)
{
    struct talos_msg_session m;

    if (talos_msg_session_decode(body, len, &m) == TALOS_OK)
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            if (ops[i].op == m.op)
                return ops[i].fn(&m);
    return answer(TALOS_ERR_MALFORMED, NULL, TALOS_SESS_RET_CLOSED);
}
