/* The SESSION frame handler (ta/session.c, ta/sess_rec.c, ta/sess_ident.c)
 * in-process, against an OpenSSL client on memory BIOs: handshake, records
 * split across frames and TLS records, WELCOME/RESULT/replays, MORE, the
 * lifecycle refusals (END MOVED/STATE, OPEN refused), protocol violations
 * and bounds. The ecall runner, the platform and the transport are stubs;
 * the exactly-once table is the real one on a real arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ta/sess_ident.c"
#include "ta/sess_rec.c"
#include "ta/session.c"

#include "ta/arena.h"
#include "ta/once.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_BASE ((uintptr_t)0x200000000000ULL)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_BASE ((uintptr_t)0x200000000000ULL)
#endif
#endif
#ifndef TEST_BASE
#define TEST_BASE ((uintptr_t)0x1000000000ULL)
#endif

/* --- stubs ------------------------------------------------------------------ */
struct talos_rt talos_rt;
static int ran; /* ecalls run */

static int evidence(const uint8_t rd[TALOS_REPORT_DATA_BYTES], uint8_t *ev, size_t *len)
{
    memcpy(ev, rd, 64);
    *len = 64;
    return TALOS_OK;
}
const struct talos_tee_ops talos_tee_enclave = {.name = "stub", .evidence = evidence};

const char *talos_rt_state_name(enum talos_rt_state s)
{
    return talos_life_state_name((enum talos_life_state)s);
}
int talos_rt_not_serving(char *why, size_t cap)
{
    int moved = talos_rt.state == RT_HANDED_OFF || talos_rt.state == RT_RETIRED;
    snprintf(why, cap, "TA is %s", talos_rt_state_name(talos_rt.state));
    return moved ? TALOS_ERR_MOVED : TALOS_ERR_STATE;
}
const char *talos_rt_moved_to(void) { return talos_rt.state == RT_RETIRED ? "127.0.0.1:7199" : ""; }
void talos_rt_out_init(struct talos_out *out)
{
    memset(out, 0, sizeof(*out));
    talos_wr_init(&out->buf, TALOS_MAX_OUT_BYTES);
}
void talos_rt_out_free(struct talos_out *out) { talos_wr_free(&out->buf); }
/* echo ARG (commits), big N (N bytes, commits), anything else: NOT_FOUND. */
int talos_rt_run_call(const uint8_t *body, size_t len, struct talos_out *out)
{
    struct talos_rd r;
    char name[64];
    size_t n = 0;
    talos_rd_init(&r, body, len);
    talos_rd_str(&r, name, sizeof(name));
    uint32_t argc = talos_rd_u32(&r);
    const uint8_t *a = argc ? talos_rd_bytes(&r, &n, 1 << 20) : NULL;
    ran++;
    if (strcmp(name, "echo") == 0) {
        talos_wr_raw(&out->buf, a, n);
    } else if (strcmp(name, "big") == 0) {
        uint8_t *p = talos_wr_space(&out->buf, (size_t)atoi((const char *)a));
        if (p)
            memset(p, 'b', (size_t)atoi((const char *)a));
    } else {
        snprintf(out->reason, sizeof(out->reason), "no %s", name);
        return TALOS_ERR_NOT_FOUND;
    }
    talos_rt.version++;
    return TALOS_OK;
}

/* The last SESSION_RET the handler sent. */
static struct {
    int n;
    int32_t status;
    uint8_t flags;
    uint64_t version;
    uint8_t data[TALOS_SESS_IO_MAX];
    size_t len;
} ret;
int talos_xport_send(struct talos_xport *x, uint16_t type, const void *body, size_t len)
{
    struct talos_msg_session_ret r;
    (void)x;
    assert_int_equal(type, TALOS_MSG_SESSION_RET);
    assert_int_equal(talos_msg_session_ret_decode(body, len, &r), TALOS_OK);
    ret.n++;
    ret.status = r.status;
    ret.flags = r.flags;
    ret.version = r.version;
    ret.len = r.len;
    if (r.len)
        memcpy(ret.data, r.data, r.len);
    return TALOS_OK;
}

/* --- a client ---------------------------------------------------------------- */
struct cli {
    uint32_t sid;
    SSL *ssl;
    BIO *rbio, *wbio;
    uint8_t plain[1 << 20];
    size_t plain_len;
    int closed;
    int32_t status;
    size_t chunk; /* DATA frames carry at most this many bytes (0: IO_MAX) */
};
static SSL_CTX *cctx;

static int frame(uint32_t sid, uint8_t op, const uint8_t *p, size_t n)
{
    struct talos_msg_session m = {.sid = sid, .op = op, .data = p, .len = n};
    struct talos_wr w;
    talos_wr_init(&w, 0);
    talos_msg_session_encode(&m, &w);
    int before = ret.n;
    assert_int_equal(talos_rt_handle_session(w.p, w.len), TALOS_OK);
    assert_int_equal(ret.n, before + 1); /* one answer per frame */
    talos_wr_free(&w);
    return ret.status;
}

static void take(struct cli *c)
{
    if (ret.len)
        assert_int_equal(BIO_write(c->rbio, ret.data, (int)ret.len), (int)ret.len);
    c->status = ret.status;
    if (ret.flags & TALOS_SESS_RET_CLOSED)
        c->closed = 1;
}

static void pump(struct cli *c)
{
    uint8_t in[TALOS_SESS_IO_MAX];
    size_t cap = c->chunk ? c->chunk : sizeof(in);
    do {
        int n = BIO_read(c->wbio, in, (int)cap);
        frame(c->sid, TALOS_SESS_OP_DATA, in, n > 0 ? (size_t)n : 0);
        take(c);
    } while (!c->closed && ((ret.flags & TALOS_SESS_RET_MORE) || BIO_ctrl_pending(c->wbio)));
}

static void cli_open(struct cli *c, uint32_t sid, size_t chunk)
{
    memset(c, 0, sizeof(*c));
    c->sid = sid;
    c->chunk = chunk;
    assert_int_equal(frame(sid, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_OK);
    assert_int_equal(ret.flags, 0);
    c->ssl = SSL_new(cctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    for (int i = 0; i < 10 && !SSL_is_init_finished(c->ssl); i++) {
        (void)SSL_do_handshake(c->ssl);
        pump(c);
    }
    assert_true(SSL_is_init_finished(c->ssl));
    /* The certificate carries the (stub) evidence. */
    X509 *x = SSL_get1_peer_certificate(c->ssl);
    uint8_t ev[128];
    size_t ev_len = 0;
    assert_non_null(x);
    assert_int_equal(talos_ratls_evidence(x, ev, sizeof(ev), &ev_len), TALOS_OK);
    assert_int_equal(ev_len, 64);
    X509_free(x);
}

static void cli_free(struct cli *c) { SSL_free(c->ssl), c->ssl = NULL; }

static void cli_send(struct cli *c, struct talos_wr *w)
{
    assert_int_equal(w->err, TALOS_OK);
    assert_int_equal(SSL_write(c->ssl, w->p, (int)w->len), (int)w->len);
    talos_wr_reset(w);
    pump(c);
}

static uint8_t rec[TALOS_SESS_RESULT_MAX];
/* The next record the TA sent (0: none yet). */
static uint8_t cli_record(struct cli *c, size_t *n)
{
    for (;;) {
        uint8_t type = 0;
        uint32_t len = 0;
        if (c->plain_len >= TALOS_SESS_HDR) {
            assert_int_equal(talos_sess_hdr_decode(c->plain, TALOS_SESS_FROM_TA, &type, &len),
                             TALOS_OK);
            if (c->plain_len >= TALOS_SESS_HDR + len) {
                memcpy(rec, c->plain + TALOS_SESS_HDR, len);
                c->plain_len -= TALOS_SESS_HDR + len;
                memmove(c->plain, c->plain + TALOS_SESS_HDR + len, c->plain_len);
                *n = len;
                return type;
            }
        }
        int r = SSL_read(c->ssl, c->plain + c->plain_len, (int)(sizeof(c->plain) - c->plain_len));
        if (r <= 0)
            return 0;
        c->plain_len += (size_t)r;
    }
}

static void hello(struct cli *c, uint8_t id, struct talos_wr *w)
{
    struct talos_sess_hello h = {.proto = TALOS_SESS_PROTO};
    memset(h.client_id, id, sizeof(h.client_id));
    talos_sess_hello_encode(&h, w);
}

static void call(struct cli *c, uint64_t seq, uint8_t flags, const char *ecall, const char *arg,
                 struct talos_wr *w)
{
    const uint8_t *a[1] = {(const uint8_t *)arg};
    size_t l[1] = {arg ? strlen(arg) : 0};
    (void)c;
    talos_sess_call_encode(seq, flags, ecall, arg ? 1 : 0, a, l, w);
}

static struct talos_sess_result expect_result(struct cli *c, uint64_t seq)
{
    struct talos_sess_result r;
    size_t n = 0;
    assert_int_equal(cli_record(c, &n), TALOS_SESS_RESULT);
    assert_int_equal(talos_sess_result_decode(rec, n, &r), TALOS_OK);
    assert_int_equal(r.seq, seq);
    return r;
}

static int32_t expect_end(struct cli *c)
{
    struct talos_sess_end e;
    size_t n = 0;
    assert_int_equal(cli_record(c, &n), TALOS_SESS_END);
    assert_int_equal(talos_sess_end_decode(rec, n, &e), TALOS_OK);
    return e.code;
}

/* --- tests ------------------------------------------------------------------- */
static int setup(void **st)
{
    (void)st;
    memset(&talos_rt, 0, sizeof(talos_rt));
    talos_rt.state = RT_ACTIVE;
    talos_rt.version = 7;
    memset(talos_rt.lineage, 0x4c, sizeof(talos_rt.lineage));
    talos_wr_init(&talos_rt.tx, 0);
    ran = 0;
    if (talos_arena_map(TEST_BASE, (size_t)1 << 30) != TALOS_OK || talos_arena_format() != TALOS_OK)
        return -1;
    if (!talos_rt_sess_ctx())
        talos_rt_sess_ident_start();
    if (!cctx) {
        cctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    }
    return talos_rt_sess_ctx() && cctx ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    talos_rt_sess_drop_all();
    talos_once_detach();
    talos_wr_free(&talos_rt.tx);
    return talos_arena_unmap() == TALOS_OK ? 0 : -1;
}

static struct cli c, d;

static void serves_and_replays(void **st)
{
    struct talos_wr w;
    struct talos_sess_welcome wl;
    size_t n = 0;
    (void)st;
    talos_wr_init(&w, 0);
    cli_open(&c, 1, 7); /* TLS in 7-byte frames: every TLS record split */
    hello(&c, 0xaa, &w);
    /* A CALL split over two TLS records, in the same flight as HELLO. */
    call(&c, 1, 0, "echo", "hi", &w);
    assert_int_equal(SSL_write(c.ssl, w.p, 9), 9);
    assert_int_equal(SSL_write(c.ssl, w.p + 9, (int)w.len - 9), (int)w.len - 9);
    talos_wr_reset(&w);
    pump(&c);
    assert_int_equal(cli_record(&c, &n), TALOS_SESS_WELCOME);
    assert_int_equal(talos_sess_welcome_decode(rec, n, &wl), TALOS_OK);
    assert_int_equal(wl.version, 7);
    assert_int_equal(wl.last_seq, 0);
    assert_memory_equal(wl.lineage, talos_rt.lineage, sizeof(wl.lineage));
    struct talos_sess_result r = expect_result(&c, 1);
    assert_int_equal(r.status, TALOS_OK);
    assert_int_equal(r.version, 8);
    assert_int_equal(r.out_len, 2);
    assert_memory_equal(r.out, "hi", 2);
    /* the retry: nothing runs */
    call(&c, 1, TALOS_SESS_CALL_RETRY, "echo", "hi", &w);
    cli_send(&c, &w);
    r = expect_result(&c, 1);
    assert_int_equal(ran, 1);
    assert_int_equal(r.flags, TALOS_SESS_RESULT_REPLAYED);
    assert_memory_equal(r.out, "hi", 2);
    /* a failure is recorded; an older seq is REPLAY */
    call(&c, 2, 0, "nope", NULL, &w);
    cli_send(&c, &w);
    r = expect_result(&c, 2);
    assert_int_equal(r.status, TALOS_ERR_NOT_FOUND);
    assert_string_equal(r.reason, "no nope");
    assert_int_equal(r.version, 8);
    call(&c, 1, 0, "echo", "x", &w);
    cli_send(&c, &w);
    assert_int_equal(expect_result(&c, 1).status, TALOS_ERR_REPLAY);
    assert_int_equal(ran, 2);
    assert_int_equal(ret.version, 8); /* SESSION_RET carries the TA's version */
    /* A big answer comes out in several frames (MORE). */
    c.chunk = 0;
    call(&c, 3, 0, "big", "200000", &w);
    int before = ret.n;
    cli_send(&c, &w);
    assert_true(ret.n - before >= 3);
    r = expect_result(&c, 3);
    assert_int_equal(r.status, TALOS_OK);
    assert_int_equal(r.out_len, 200000);
    /* A second session of the client: WELCOME names its last call. */
    cli_open(&d, 2, 0);
    hello(&d, 0xaa, &w);
    cli_send(&d, &w);
    assert_int_equal(cli_record(&d, &n), TALOS_SESS_WELCOME);
    assert_int_equal(talos_sess_welcome_decode(rec, n, &wl), TALOS_OK);
    assert_int_equal(wl.last_seq, 3);
    /* The client's close_notify: closed, OK. */
    SSL_shutdown(d.ssl);
    pump(&d);
    assert_true(d.closed);
    assert_int_equal(d.status, TALOS_OK);
    assert_int_equal(frame(2, TALOS_SESS_OP_DATA, NULL, 0), TALOS_ERR_NO_SUCH_SESSION);
    cli_free(&d);
    /* CLOSE */
    assert_int_equal(frame(1, TALOS_SESS_OP_CLOSE, NULL, 0), TALOS_OK);
    assert_int_equal(ret.flags, TALOS_SESS_RET_CLOSED);
    assert_int_equal(frame(1, TALOS_SESS_OP_CLOSE, NULL, 0), TALOS_ERR_NO_SUCH_SESSION);
    cli_free(&c);
    talos_wr_free(&w);
}

static void lifecycle(void **st)
{
    struct talos_wr w;
    (void)st;
    talos_wr_init(&w, 0);
    /* A session opened while ACTIVE, then the TA handed off: HELLO gets END MOVED. */
    cli_open(&c, 5, 0);
    talos_rt.state = RT_HANDED_OFF;
    hello(&c, 1, &w);
    cli_send(&c, &w);
    assert_true(c.closed);
    assert_int_equal(c.status, TALOS_ERR_MOVED);
    assert_int_equal(expect_end(&c), TALOS_ERR_MOVED);
    cli_free(&c);
    assert_int_equal(frame(5, TALOS_SESS_OP_DATA, NULL, 0), TALOS_ERR_MOVED); /* gone */
    /* A CALL once the instance froze (a migration): END STATE, nothing runs. */
    talos_rt.state = RT_ACTIVE;
    cli_open(&c, 6, 0);
    hello(&c, 1, &w);
    cli_send(&c, &w);
    size_t n = 0;
    assert_int_equal(cli_record(&c, &n), TALOS_SESS_WELCOME);
    talos_rt.state = RT_FROZEN;
    call(&c, 1, 0, "echo", "x", &w);
    cli_send(&c, &w);
    assert_int_equal(c.status, TALOS_ERR_STATE);
    assert_int_equal(expect_end(&c), TALOS_ERR_STATE);
    assert_int_equal(ran, 0);
    cli_free(&c);
    /* OPEN elsewhere than ACTIVE */
    assert_int_equal(frame(7, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_ERR_STATE);
    assert_int_equal(ret.flags, TALOS_SESS_RET_CLOSED);
    talos_rt.state = RT_RETIRED;
    assert_int_equal(frame(7, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_ERR_MOVED);
    talos_rt.state = RT_ACTIVE;
    talos_wr_free(&w);
}

static void violations(void **st)
{
    struct talos_wr w;
    uint8_t hdr[TALOS_SESS_HDR];
    (void)st;
    talos_wr_init(&w, 0);
    /* CALL before HELLO */
    cli_open(&c, 1, 0);
    call(&c, 1, 0, "echo", "x", &w);
    cli_send(&c, &w);
    assert_int_equal(c.status, TALOS_ERR_PROTOCOL);
    assert_int_equal(expect_end(&c), TALOS_ERR_PROTOCOL);
    cli_free(&c);
    /* a TA's record type from the client */
    cli_open(&c, 1, 0);
    talos_sess_hdr_encode(TALOS_SESS_WELCOME, 41, hdr);
    talos_wr_raw(&w, hdr, sizeof(hdr));
    cli_send(&c, &w);
    assert_true(c.closed);
    assert_int_equal(expect_end(&c), TALOS_ERR_PROTOCOL);
    cli_free(&c);
    /* a record over the bound: refused from its header, before its body */
    cli_open(&c, 1, 0);
    talos_sess_hdr_encode(TALOS_SESS_CALL, TALOS_SESS_CALL_MAX + 1, hdr);
    talos_wr_raw(&w, hdr, sizeof(hdr));
    cli_send(&c, &w);
    assert_true(c.closed);
    assert_int_equal(expect_end(&c), TALOS_ERR_TOO_LARGE);
    cli_free(&c);
    /* a second HELLO */
    cli_open(&c, 1, 0);
    hello(&c, 1, &w);
    hello(&c, 1, &w);
    cli_send(&c, &w);
    size_t n = 0;
    assert_int_equal(cli_record(&c, &n), TALOS_SESS_WELCOME);
    assert_int_equal(expect_end(&c), TALOS_ERR_PROTOCOL);
    cli_free(&c);
    /* not TLS at all: no END (no TLS to carry it), closed */
    assert_int_equal(frame(9, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_OK);
    assert_int_equal(frame(9, TALOS_SESS_OP_DATA, (const uint8_t *)"GET / HTTP/1.0\r\n\r\n", 18),
                     TALOS_ERR_PROTOCOL);
    assert_true(ret.flags & TALOS_SESS_RET_CLOSED);
    /* an sid in use; a malformed frame */
    assert_int_equal(frame(10, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_OK);
    assert_int_equal(frame(10, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_ERR_PROTOCOL);
    assert_int_equal(frame(10, TALOS_SESS_OP_DATA, NULL, 0), TALOS_OK); /* still there */
    uint8_t bad[5] = {0, 0, 0, 10, 9};
    assert_int_equal(talos_rt_handle_session(bad, sizeof(bad)), TALOS_OK);
    assert_int_equal(ret.status, TALOS_ERR_MALFORMED);
    talos_wr_free(&w);
}

static void table_full(void **st)
{
    (void)st;
    for (uint32_t i = 0; i < TALOS_SESS_MAX; i++)
        assert_int_equal(frame(100 + i, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_OK);
    assert_int_equal(frame(99, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_ERR_BUSY);
    assert_int_equal(frame(100, TALOS_SESS_OP_CLOSE, NULL, 0), TALOS_OK);
    assert_int_equal(frame(99, TALOS_SESS_OP_OPEN, NULL, 0), TALOS_OK);
    talos_rt_sess_drop_all();
    assert_int_equal(frame(99, TALOS_SESS_OP_DATA, NULL, 0), TALOS_ERR_NO_SUCH_SESSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(serves_and_replays, setup, teardown),
        cmocka_unit_test_setup_teardown(lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(violations, setup, teardown),
        cmocka_unit_test_setup_teardown(table_full, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    talos_rt_sess_fini();
    SSL_CTX_free(cctx);
    return rc;
}
