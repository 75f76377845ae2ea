/* Client session codecs (core/sess.h, the SESSION frames of core/msg.h)
 * and the RA-TLS certificate (core/ratls.h): round trips, and refusals of
 * what a hostile peer could send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "core/msg.h"
#include "core/ratls.h"
#include "core/sess.h"
#include "core/wire.h"

/* The record in w: its header checked for `from`, the body returned. */
static const uint8_t *body_of(const struct talos_wr *w, uint8_t from, uint8_t want, size_t *n)
{
    uint8_t type = 0;
    uint32_t len = 0;
    assert_int_equal(w->err, TALOS_OK);
    assert_true(w->len >= TALOS_SESS_HDR);
    assert_int_equal(talos_sess_hdr_decode(w->p, from, &type, &len), TALOS_OK);
    assert_int_equal(type, want);
    assert_int_equal(len, w->len - TALOS_SESS_HDR);
    *n = len;
    return w->p + TALOS_SESS_HDR;
}

static void test_preamble_answer(void **st)
{
    uint8_t lin[TALOS_LINEAGE_BYTES], got[TALOS_LINEAGE_BYTES], pre[TALOS_SESS_PREAMBLE_BYTES];
    struct talos_wr w;
    int32_t status = 0;
    char msg[128];
    (void)st;
    memset(lin, 0x5a, sizeof(lin));
    talos_sess_preamble_encode(lin, pre);
    assert_int_equal(pre[0], 't');
    assert_int_equal(talos_sess_preamble_decode(pre, got), TALOS_OK);
    assert_memory_equal(got, lin, sizeof(lin));
    pre[3] ^= 1;
    assert_int_equal(talos_sess_preamble_decode(pre, got), TALOS_ERR_MALFORMED);

    talos_wr_init(&w, 0);
    talos_sess_answer_encode(TALOS_ERR_MOVED, "10.0.0.2:7000", &w);
    assert_int_equal(talos_be32_get(w.p), w.len - 4);
    assert_int_equal(talos_sess_answer_decode(w.p + 4, w.len - 4, &status, msg, sizeof(msg)),
                     TALOS_OK);
    assert_int_equal(status, TALOS_ERR_MOVED);
    assert_string_equal(msg, "10.0.0.2:7000");
    /* truncated, trailing byte, positive status */
    assert_int_equal(talos_sess_answer_decode(w.p + 4, w.len - 5, &status, msg, sizeof(msg)),
                     TALOS_ERR_MALFORMED);
    talos_wr_u8(&w, 0);
    assert_int_equal(talos_sess_answer_decode(w.p + 4, w.len - 4, &status, msg, sizeof(msg)),
                     TALOS_ERR_MALFORMED);
    talos_wr_reset(&w);
    talos_sess_answer_encode(5, "", &w);
    assert_int_equal(talos_sess_answer_decode(w.p + 4, w.len - 4, &status, msg, sizeof(msg)),
                     TALOS_ERR_MALFORMED);
    talos_wr_free(&w);
}

static void test_hello_welcome(void **st)
{
    struct talos_wr w;
    struct talos_sess_hello h = {.proto = 1}, h2;
    struct talos_sess_welcome wl = {.proto = 1, .version = 42, .last_seq = 7}, wl2;
    const uint8_t *b = NULL;
    size_t n = 0;
    uint8_t type = 0;
    uint32_t len = 0;
    (void)st;
    memset(h.client_id, 0x11, sizeof(h.client_id));
    memset(wl.lineage, 0x22, sizeof(wl.lineage));
    talos_wr_init(&w, 0);
    talos_sess_hello_encode(&h, &w);
    b = body_of(&w, TALOS_SESS_FROM_CLIENT, TALOS_SESS_HELLO, &n);
    assert_int_equal(talos_sess_hello_decode(b, n, &h2), TALOS_OK);
    assert_memory_equal(&h, &h2, sizeof(h));
    assert_int_equal(talos_sess_hello_decode(b, n - 1, &h2), TALOS_ERR_MALFORMED);
    /* A HELLO is a client's: the client refuses it from a TA. */
    assert_int_equal(talos_sess_hdr_decode(w.p, TALOS_SESS_FROM_TA, &type, &len),
                     TALOS_ERR_PROTOCOL);
    talos_wr_reset(&w);
    talos_sess_welcome_encode(&wl, &w);
    b = body_of(&w, TALOS_SESS_FROM_TA, TALOS_SESS_WELCOME, &n);
    assert_int_equal(talos_sess_welcome_decode(b, n, &wl2), TALOS_OK);
    assert_memory_equal(wl2.lineage, wl.lineage, sizeof(wl.lineage));
    assert_int_equal(wl2.version, 42);
    assert_int_equal(wl2.last_seq, 7);
    assert_int_equal(wl2.proto, 1);
    assert_int_equal(talos_sess_hdr_decode(w.p, TALOS_SESS_FROM_CLIENT, &type, &len),
                     TALOS_ERR_PROTOCOL);
    talos_wr_free(&w);
}

static void test_headers(void **st)
{
    uint8_t hdr[TALOS_SESS_HDR];
    uint8_t type = 0;
    uint32_t len = 0;
    (void)st;
    talos_sess_hdr_encode(0, 0, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_CLIENT, &type, &len),
                     TALOS_ERR_PROTOCOL);
    talos_sess_hdr_encode(6, 10, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_CLIENT, &type, &len),
                     TALOS_ERR_PROTOCOL);
    talos_sess_hdr_encode(255, 10, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_TA, &type, &len),
                     TALOS_ERR_PROTOCOL);
    talos_sess_hdr_encode(TALOS_SESS_CALL, TALOS_SESS_CALL_MAX + 1, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_CLIENT, &type, &len),
                     TALOS_ERR_TOO_LARGE);
    talos_sess_hdr_encode(TALOS_SESS_CALL, TALOS_SESS_CALL_MAX, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_CLIENT, &type, &len), TALOS_OK);
    talos_sess_hdr_encode(TALOS_SESS_CALL, 3, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_CLIENT, &type, &len),
                     TALOS_ERR_MALFORMED);
    talos_sess_hdr_encode(TALOS_SESS_HELLO, 18, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_CLIENT, &type, &len),
                     TALOS_ERR_TOO_LARGE);
    talos_sess_hdr_encode(TALOS_SESS_RESULT, TALOS_SESS_RESULT_MAX + 1, hdr);
    assert_int_equal(talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_TA, &type, &len),
                     TALOS_ERR_TOO_LARGE);
}

static void test_call(void **st)
{
    struct talos_wr w;
    struct talos_sess_call c;
    const uint8_t *argv[2] = {(const uint8_t *)"k", (const uint8_t *)"v\0x"};
    size_t lens[2] = {1, 3};
    const uint8_t *b = NULL;
    size_t n = 0;
    (void)st;
    talos_wr_init(&w, 0);
    talos_sess_call_encode(9, TALOS_SESS_CALL_RETRY, "put", 2, argv, lens, &w);
    b = body_of(&w, TALOS_SESS_FROM_CLIENT, TALOS_SESS_CALL, &n);
    assert_int_equal(talos_sess_call_decode(b, n, &c), TALOS_OK);
    assert_int_equal(c.seq, 9);
    assert_int_equal(c.flags, TALOS_SESS_CALL_RETRY);
    assert_ptr_equal(c.args, b + 9);
    assert_int_equal(c.args_len, n - 9);
    /* The arguments in the host CALL frame's encoding. */
    struct talos_rd r;
    char name[64];
    size_t alen = 0;
    talos_rd_init(&r, c.args, c.args_len);
    talos_rd_str(&r, name, sizeof(name));
    assert_string_equal(name, "put");
    assert_int_equal(talos_rd_u32(&r), 2);
    assert_memory_equal(talos_rd_bytes(&r, &alen, 16), "k", 1);
    assert_memory_equal(talos_rd_bytes(&r, &alen, 16), "v\0x", 3);
    assert_int_equal(talos_rd_finish(&r), TALOS_OK);
    /* seq 0 and unknown flags are refused; so is a short body. */
    uint8_t bad[64];
    memcpy(bad, b, n < sizeof(bad) ? n : sizeof(bad));
    memset(bad, 0, 8);
    assert_int_equal(talos_sess_call_decode(bad, n, &c), TALOS_ERR_MALFORMED);
    memcpy(bad, b, 9);
    bad[8] = 0x2;
    assert_int_equal(talos_sess_call_decode(bad, n, &c), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_sess_call_decode(b, 8, &c), TALOS_ERR_MALFORMED);
    talos_wr_free(&w);
}

static void test_result_end(void **st)
{
    struct talos_wr w;
    struct talos_sess_result r = {.seq = 3, .status = TALOS_OK, .version = 10,
                                  .flags = TALOS_SESS_RESULT_REPLAYED,
                                  .out = (const uint8_t *)"value", .out_len = 5};
    struct talos_sess_result r2;
    struct talos_sess_end e = {.code = TALOS_ERR_MOVED}, e2;
    const uint8_t *b = NULL;
    size_t n = 0;
    (void)st;
    talos_wr_init(&w, 0);
    talos_sess_result_encode(&r, &w);
    b = body_of(&w, TALOS_SESS_FROM_TA, TALOS_SESS_RESULT, &n);
    assert_int_equal(talos_sess_result_decode(b, n, &r2), TALOS_OK);
    assert_int_equal(r2.seq, 3);
    assert_int_equal(r2.status, TALOS_OK);
    assert_int_equal(r2.version, 10);
    assert_int_equal(r2.flags, TALOS_SESS_RESULT_REPLAYED);
    assert_int_equal(r2.out_len, 5);
    assert_memory_equal(r2.out, "value", 5);
    assert_string_equal(r2.reason, "");
    assert_int_equal(talos_sess_result_decode(b, n - 1, &r2), TALOS_ERR_MALFORMED);
    /* flags outside REPLAYED, a positive status */
    uint8_t bad[128];
    memcpy(bad, b, n);
    bad[20] = 0x80;
    assert_int_equal(talos_sess_result_decode(bad, n, &r2), TALOS_ERR_MALFORMED);
    memcpy(bad, b, n);
    talos_be32_put(bad + 8, 1);
    assert_int_equal(talos_sess_result_decode(bad, n, &r2), TALOS_ERR_MALFORMED);

    talos_wr_reset(&w);
    r.status = TALOS_ERR_REPLAY;
    r.out = NULL;
    r.out_len = 0;
    r.flags = 0;
    snprintf(r.reason, sizeof(r.reason), "evicted");
    talos_sess_result_encode(&r, &w);
    b = body_of(&w, TALOS_SESS_FROM_TA, TALOS_SESS_RESULT, &n);
    assert_int_equal(talos_sess_result_decode(b, n, &r2), TALOS_OK);
    assert_int_equal(r2.status, TALOS_ERR_REPLAY);
    assert_string_equal(r2.reason, "evicted");

    talos_wr_reset(&w);
    snprintf(e.reason, sizeof(e.reason), "TA is RETIRED: it moved to h:1");
    talos_sess_end_encode(&e, &w);
    b = body_of(&w, TALOS_SESS_FROM_TA, TALOS_SESS_END, &n);
    assert_int_equal(talos_sess_end_decode(b, n, &e2), TALOS_OK);
    assert_int_equal(e2.code, TALOS_ERR_MOVED);
    assert_string_equal(e2.reason, e.reason);
    /* END carries an error: OK is no reason to end */
    memcpy(bad, b, n);
    talos_be32_put(bad, 0);
    assert_int_equal(talos_sess_end_decode(bad, n, &e2), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_sess_end_decode(b, n + 0 - 1, &e2), TALOS_ERR_MALFORMED);
    talos_wr_free(&w);
}

static void test_session_frames(void **st)
{
    struct talos_wr w;
    struct talos_msg_session m = {.sid = 77, .op = TALOS_SESS_OP_DATA,
                                  .data = (const uint8_t *)"tls", .len = 3}, m2;
    struct talos_msg_session_ret r = {.status = TALOS_ERR_MOVED, .version = 5,
                                      .flags = TALOS_SESS_RET_CLOSED | TALOS_SESS_RET_MORE,
                                      .data = (const uint8_t *)"x", .len = 1}, r2;
    static uint8_t big[TALOS_SESS_IO_MAX + 1];
    (void)st;
    talos_wr_init(&w, 0);
    talos_msg_session_encode(&m, &w);
    assert_int_equal(talos_msg_session_decode(w.p, w.len, &m2), TALOS_OK);
    assert_int_equal(m2.sid, 77);
    assert_int_equal(m2.op, TALOS_SESS_OP_DATA);
    assert_int_equal(m2.len, 3);
    assert_memory_equal(m2.data, "tls", 3);
    /* OPEN and CLOSE carry no bytes; unknown ops; too short */
    w.p[4] = TALOS_SESS_OP_OPEN;
    assert_int_equal(talos_msg_session_decode(w.p, w.len, &m2), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_msg_session_decode(w.p, 5, &m2), TALOS_OK);
    w.p[4] = 4;
    assert_int_equal(talos_msg_session_decode(w.p, 5, &m2), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_msg_session_decode(w.p, 4, &m2), TALOS_ERR_MALFORMED);
    /* more than one exchange's bytes */
    talos_wr_reset(&w);
    m.data = big;
    m.len = sizeof(big);
    talos_msg_session_encode(&m, &w);
    assert_int_equal(w.err, TALOS_ERR_TOO_LARGE);

    talos_wr_free(&w);
    talos_wr_init(&w, 0);
    talos_msg_session_ret_encode(&r, &w);
    assert_int_equal(talos_msg_session_ret_decode(w.p, w.len, &r2), TALOS_OK);
    assert_int_equal(r2.status, TALOS_ERR_MOVED);
    assert_int_equal(r2.version, 5);
    assert_int_equal(r2.flags, TALOS_SESS_RET_CLOSED | TALOS_SESS_RET_MORE);
    assert_int_equal(r2.len, 1);
    w.p[12] = 0x4;
    assert_int_equal(talos_msg_session_ret_decode(w.p, w.len, &r2), TALOS_ERR_MALFORMED);
    w.p[12] = 0;
    talos_be32_put(w.p, 3);
    assert_int_equal(talos_msg_session_ret_decode(w.p, w.len, &r2), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_msg_session_ret_decode(w.p, 12, &r2), TALOS_ERR_MALFORMED);
    talos_wr_free(&w);
}

/* --- RA-TLS certificate ---------------------------------------------------- */

static EVP_PKEY *ed25519(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    return k;
}

static void test_ratls_round_trip(void **st)
{
    uint8_t ev[300], got[512];
    size_t len = 0;
    EVP_PKEY *k = ed25519();
    (void)st;
    for (size_t i = 0; i < sizeof(ev); i++)
        ev[i] = (uint8_t)(i * 7 + 1);
    X509 *x = talos_ratls_cert(k, ev, sizeof(ev));
    assert_non_null(x);
    assert_int_equal(talos_ratls_evidence(x, got, sizeof(got), &len), TALOS_OK);
    assert_int_equal(len, sizeof(ev));
    assert_memory_equal(got, ev, sizeof(ev));
    assert_int_equal(talos_ratls_evidence(x, got, sizeof(ev) - 1, &len), TALOS_ERR_TOO_LARGE);
    /* the certificate is for that key, and signed by it */
    EVP_PKEY *pub = X509_get0_pubkey(x);
    assert_int_equal(EVP_PKEY_eq(pub, k), 1);
    assert_int_equal(X509_verify(x, k), 1);
    /* no evidence, no certificate */
    assert_null(talos_ratls_cert(k, ev, 0));
    X509_free(x);
    EVP_PKEY_free(k);
}

static X509 *plain_cert(EVP_PKEY *k)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(X509_set_pubkey(x, k), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    return x;
}

static void add_ev_ext(X509 *x, const uint8_t *ev, int n)
{
    ASN1_OBJECT *o = OBJ_txt2obj(TALOS_RATLS_OID, 1);
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
    assert_non_null(o);
    assert_non_null(v);
    assert_int_equal(ASN1_OCTET_STRING_set(v, ev, n), 1);
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(v);
    ASN1_OBJECT_free(o);
}

static void test_ratls_refusals(void **st)
{
    uint8_t ev[8] = {1, 2, 3, 4, 5, 6, 7, 8}, got[64];
    size_t len = 0;
    EVP_PKEY *k = ed25519();
    (void)st;
    /* no extension */
    X509 *x = plain_cert(k);
    assert_int_equal(X509_sign(x, k, NULL) > 0, 1);
    assert_int_equal(talos_ratls_evidence(x, got, sizeof(got), &len), TALOS_ERR_MALFORMED);
    X509_free(x);
    /* two extensions: which evidence would count? */
    x = plain_cert(k);
    add_ev_ext(x, ev, sizeof(ev));
    add_ev_ext(x, ev, sizeof(ev));
    assert_int_equal(X509_sign(x, k, NULL) > 0, 1);
    assert_int_equal(talos_ratls_evidence(x, got, sizeof(got), &len), TALOS_ERR_MALFORMED);
    X509_free(x);
    /* an empty one */
    x = plain_cert(k);
    add_ev_ext(x, ev, 0);
    assert_int_equal(X509_sign(x, k, NULL) > 0, 1);
    assert_int_equal(talos_ratls_evidence(x, got, sizeof(got), &len), TALOS_ERR_MALFORMED);
    X509_free(x);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preamble_answer), cmocka_unit_test(test_hello_welcome),
        cmocka_unit_test(test_headers),         cmocka_unit_test(test_call),
        cmocka_unit_test(test_result_end),      cmocka_unit_test(test_session_frames),
        cmocka_unit_test(test_ratls_round_trip), cmocka_unit_test(test_ratls_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
