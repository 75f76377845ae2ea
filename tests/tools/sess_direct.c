/* sess_direct: a client session with a real TA process, end to end
 * through the host library, without a node: the host relays the bytes
 * (talos_ta_session) between a TA it launched itself and an OpenSSL TLS
 * 1.3 client on memory BIOs here. Checks the TA's RA-TLS certificate (its
 * evidence verifies under the sim anchors and binds the certificate's key,
 * role 'C'), then HELLO/WELCOME, calls, a retried call (answered from the
 * exactly-once record, nothing runs), an older sequence number (REPLAY),
 * the WELCOME of a second session (last_seq), and a protocol violation
 * (CALL before HELLO: END, closed). Prints OK. Test tool: never installed.
 *
 * With `migrate`, the lineage then moves to a virgin target of the same
 * host (over loopback TCP): the target serves sessions with its own
 * identity, and the exactly-once table moved with the state (the client's
 * last call is answered from its record there).
 *
 *   sess_direct STATE_DIR IMAGE [migrate]   (sim backend; TALOS_SIM_CA names its CA) */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/migcheck.h"
#include "core/msg.h"
#include "core/ratls.h"
#include "core/sess.h"
#include "talos/talos.h"

#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "sess_direct: line %d: ", __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

struct cli {
    struct talos_ta *ta;
    uint32_t sid;
    SSL *ssl;
    BIO *rbio, *wbio;
    uint8_t plain[1 << 20];
    size_t plain_len;
    int closed;
    int status; /* of the last exchange */
};

static uint8_t io_buf[TALOS_SESSION_IO_MAX];

/* Send what the client has (maybe nothing), take what the TA has, all of it. */
static void pump(struct cli *c)
{
    uint8_t in[TALOS_SESSION_IO_MAX];
    struct talos_session_io io = {.out = io_buf};
    int more = 1;

    while (more && !c->closed) {
        int n = BIO_read(c->wbio, in, sizeof(in));
        c->status = talos_ta_session(c->ta, c->sid, TALOS_SESSION_DATA, in, n > 0 ? (size_t)n : 0,
                                     &io);
        if (io.out_len)
            CHECK(BIO_write(c->rbio, io.out, (int)io.out_len) == (int)io.out_len, "BIO_write");
        c->closed = io.closed;
        more = io.more || BIO_ctrl_pending(c->wbio) > 0;
    }
}

static void open_session(struct cli *c, SSL_CTX *ctx, struct talos_ta *ta, uint32_t sid)
{
    struct talos_session_io io = {.out = io_buf};

    memset(c, 0, sizeof(*c));
    c->ta = ta;
    c->sid = sid;
    CHECK(talos_ta_session(ta, sid, TALOS_SESSION_OPEN, NULL, 0, &io) == TALOS_OK && !io.closed,
          "OPEN refused");
    c->ssl = SSL_new(ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    CHECK(c->ssl && c->rbio && c->wbio, "SSL_new");
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    for (int i = 0; i < 20 && !SSL_is_init_finished(c->ssl); i++) {
        int r = SSL_do_handshake(c->ssl);
        CHECK(r == 1 || SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ, "handshake failed");
        pump(c);
        CHECK(!c->closed, "TA closed during the handshake (%s)", talos_strerror(c->status));
    }
    CHECK(SSL_is_init_finished(c->ssl), "no handshake");
    CHECK(strcmp(SSL_get_version(c->ssl), "TLSv1.3") == 0, "not TLS 1.3");
}

static void send_plain(struct cli *c, const struct talos_wr *w)
{
    CHECK(w->err == TALOS_OK, "encode");
    CHECK(SSL_write(c->ssl, w->p, (int)w->len) == (int)w->len, "SSL_write");
    pump(c);
}

/* The next record from the TA: its type, body copied to a static buffer. */
static uint8_t rec_body[TALOS_SESS_RESULT_MAX];
static uint8_t recv_record(struct cli *c, size_t *n)
{
    for (int i = 0; i < 1000; i++) {
        uint8_t type = 0;
        uint32_t len = 0;
        if (c->plain_len >= TALOS_SESS_HDR) {
            CHECK(talos_sess_hdr_decode(c->plain, TALOS_SESS_FROM_TA, &type, &len) == TALOS_OK,
                  "bad record header from the TA");
            if (c->plain_len >= TALOS_SESS_HDR + len) {
                memcpy(rec_body, c->plain + TALOS_SESS_HDR, len);
                memmove(c->plain, c->plain + TALOS_SESS_HDR + len,
                        c->plain_len - TALOS_SESS_HDR - len);
                c->plain_len -= TALOS_SESS_HDR + len;
                *n = len;
                return type;
            }
        }
        int r = SSL_read(c->ssl, c->plain + c->plain_len, (int)(sizeof(c->plain) - c->plain_len));
        if (r > 0) {
            c->plain_len += (size_t)r;
            continue;
        }
        CHECK(SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ, "SSL_read failed");
        CHECK(!c->closed, "session closed before a record came");
        pump(c);
    }
    CHECK(0, "no record");
    return 0;
}

static void hello(struct cli *c, const uint8_t cid[16], struct talos_sess_welcome *wl)
{
    struct talos_sess_hello h = {.proto = TALOS_SESS_PROTO};
    struct talos_wr w;
    size_t n = 0;

    memcpy(h.client_id, cid, 16);
    talos_wr_init(&w, 0);
    talos_sess_hello_encode(&h, &w);
    send_plain(c, &w);
    talos_wr_free(&w);
    CHECK(recv_record(c, &n) == TALOS_SESS_WELCOME, "no WELCOME");
    CHECK(talos_sess_welcome_decode(rec_body, n, wl) == TALOS_OK, "bad WELCOME");
}

static void call(struct cli *c, uint64_t seq, uint8_t flags, const char *ecall, int argc,
                 const char *const *argv, struct talos_sess_result *r)
{
    const uint8_t *a[4];
    size_t l[4];
    struct talos_wr w;
    size_t n = 0;

    for (int i = 0; i < argc; i++) {
        a[i] = (const uint8_t *)argv[i];
        l[i] = strlen(argv[i]);
    }
    talos_wr_init(&w, 0);
    talos_sess_call_encode(seq, flags, ecall, argc, a, l, &w);
    send_plain(c, &w);
    talos_wr_free(&w);
    CHECK(recv_record(c, &n) == TALOS_SESS_RESULT, "no RESULT for call %llu",
          (unsigned long long)seq);
    CHECK(talos_sess_result_decode(rec_body, n, r) == TALOS_OK, "bad RESULT");
    CHECK(r->seq == seq, "RESULT for another call");
}

/* The certificate's evidence verifies and binds its key (role 'C'). */
static void check_identity(struct cli *c, const uint8_t *pem, size_t pem_len)
{
    uint8_t ev[TALOS_EVIDENCE_MAX], pub[32];
    size_t ev_len = 0, pub_len = sizeof(pub);
    struct talos_claims cl;
    char why[200] = "";
    X509 *cert = SSL_get1_peer_certificate(c->ssl);

    CHECK(cert, "no certificate");
    CHECK(talos_ratls_evidence(cert, ev, sizeof(ev), &ev_len) == TALOS_OK, "no evidence");
    int rc = talos_verify_evidence(ev, ev_len, pem, pem_len, TALOS_VERIFY_ALLOW_SIM, &cl);
    CHECK(rc == TALOS_OK, "evidence does not verify: %s", talos_strerror(rc));
    CHECK(EVP_PKEY_get_raw_public_key(X509_get0_pubkey(cert), pub, &pub_len) == 1 &&
              pub_len == sizeof(pub), "not an Ed25519 key");
    const struct talos_mig_binding b = {.role = TALOS_SESS_ROLE, .pub = pub, .config = cl.config_id};
    CHECK(talos_mig_binding_check(&b, cl.report_data, why, sizeof(why)) == TALOS_OK,
          "binding: %s", why);
    /* Another role's binding of the same key does not pass. */
    const struct talos_mig_binding s = {.role = 'S', .pub = pub, .config = cl.config_id};
    CHECK(talos_mig_binding_check(&s, cl.report_data, why, sizeof(why)) != TALOS_OK,
          "role S accepted");
    X509_free(cert);
}

struct in_job {
    struct talos_ta *ta;
    int fd, rc;
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    struct talos_migration m;
};

static void *migrate_in_thread(void *arg)
{
    struct in_job *j = arg;
    j->rc = talos_ta_migrate_in(j->ta, j->fd, j->lineage, &j->m);
    return NULL;
}

/* Move src's lineage to a virgin target of the same host: the target. */
static struct talos_ta *migrate(struct talos_host *h, const char *image, struct talos_ta *src)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    struct talos_ta_options opt = {.mode = TALOS_CALL_PASSIVE};
    struct talos_ta_info si;
    struct in_job in = {.fd = -1};
    struct talos_migration mo;
    pthread_t th;
    int l = socket(AF_INET, SOCK_STREAM, 0), fa = socket(AF_INET, SOCK_STREAM, 0);

    CHECK(l >= 0 && fa >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 1) == 0 &&
              getsockname(l, (struct sockaddr *)&a, &alen) == 0 &&
              connect(fa, (struct sockaddr *)&a, sizeof(a)) == 0 && (in.fd = accept(l, NULL, NULL)) >= 0,
          "loopback pair");
    close(l);
    CHECK(talos_ta_create_target(h, image, &opt, &in.ta) == TALOS_OK, "target");
    CHECK(talos_ta_info(src, &si) == TALOS_OK, "info");
    memcpy(in.lineage, si.lineage, sizeof(in.lineage));
    CHECK(pthread_create(&th, NULL, migrate_in_thread, &in) == 0, "thread");
    int rc = talos_ta_migrate_out(src, fa, &mo);
    pthread_join(th, NULL);
    CHECK(rc == TALOS_OK && mo.status == TALOS_OK && in.rc == TALOS_OK && in.m.status == TALOS_OK,
          "migration: source %s (%s), target %s (%s)", talos_strerror(rc ? rc : mo.status),
          mo.reason, talos_strerror(in.rc ? in.rc : in.m.status), in.m.reason);
    return in.ta;
}

static void end_session(struct cli *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
}

int main(int argc, char **argv)
{
    struct talos_host_config hc = {.backend = "sim"};
    struct talos_host *h = NULL;
    struct talos_ta *ta = NULL;
    struct talos_ta_options opt = {.mode = TALOS_CALL_PASSIVE};
    struct talos_ta_info info;
    struct talos_sess_welcome wl;
    struct talos_sess_result r;
    static struct cli c, d;
    const uint8_t *pem = NULL;
    size_t pem_len = 0;
    uint8_t cid[16];
    int rc = TALOS_OK;

    CHECK(argc == 3 || (argc == 4 && strcmp(argv[3], "migrate") == 0),
          "usage: sess_direct STATE_DIR IMAGE [migrate]");
    hc.state_dir = argv[1];
    CHECK((rc = talos_host_open(&hc, &h)) == TALOS_OK, "host: %s", talos_strerror(rc));
    CHECK(talos_host_anchors(h, &pem, &pem_len) == TALOS_OK, "anchors");
    CHECK((rc = talos_ta_create(h, argv[2], &opt, &ta)) == TALOS_OK, "launch: %s",
          talos_strerror(rc));
    CHECK(talos_ta_info(ta, &info) == TALOS_OK, "info");

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    CHECK(ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), "client context");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the evidence is checked instead */

    open_session(&c, ctx, ta, 1);
    check_identity(&c, pem, pem_len);
    memset(cid, 0xc7, sizeof(cid));
    hello(&c, cid, &wl);
    CHECK(memcmp(wl.lineage, info.lineage, sizeof(wl.lineage)) == 0, "WELCOME: another lineage");
    CHECK(wl.version == info.version && wl.last_seq == 0 && wl.proto == TALOS_SESS_PROTO,
          "WELCOME: version %llu last_seq %llu", (unsigned long long)wl.version,
          (unsigned long long)wl.last_seq);
    uint64_t v0 = wl.version;

    const char *put[] = {"k", "v"}, *get[] = {"k"}, *miss[] = {"nope"};
    call(&c, 1, 0, "put", 2, put, &r);
    CHECK(r.status == TALOS_OK && r.version == v0 + 1 && !r.flags, "put: %s %s",
          talos_strerror(r.status), r.reason);
    call(&c, 2, 0, "get", 1, get, &r);
    CHECK(r.status == TALOS_OK && r.out_len == 1 && r.out[0] == 'v' && r.version == v0 + 2,
          "get: %s", talos_strerror(r.status));
    /* The retry: answered from the record, nothing runs (version unchanged). */
    call(&c, 2, TALOS_SESS_CALL_RETRY, "get", 1, get, &r);
    CHECK(r.status == TALOS_OK && (r.flags & TALOS_SESS_RESULT_REPLAYED) && r.out_len == 1 &&
              r.out[0] == 'v' && r.version == v0 + 2,
          "retry: %s flags %u version %llu", talos_strerror(r.status), r.flags,
          (unsigned long long)r.version);
    /* An older sequence number: REPLAY. */
    call(&c, 1, 0, "put", 2, put, &r);
    CHECK(r.status == TALOS_ERR_REPLAY && r.version == v0 + 2, "older seq: %s",
          talos_strerror(r.status));
    /* A failed call is recorded too: its retry gets the same refusal. */
    call(&c, 3, 0, "get", 1, miss, &r);
    CHECK(r.status != TALOS_OK && r.out_len == 0 && r.version == v0 + 2, "get nope: %s",
          talos_strerror(r.status));
    int32_t st3 = r.status;
    call(&c, 3, TALOS_SESS_CALL_RETRY, "get", 1, miss, &r);
    CHECK(r.status == st3 && (r.flags & TALOS_SESS_RESULT_REPLAYED), "retry of a failure");
    /* The host's own calls see the same state and version (a get commits too). */
    struct talos_buf kb = {"k", 1};
    struct talos_result res;
    CHECK(talos_ta_call(ta, "get", 1, &kb, &res) == TALOS_OK && res.status == TALOS_OK &&
              res.out_len == 1 && res.version == v0 + 3, "host call");
    talos_result_clear(&res);

    /* A second session of the same client: WELCOME names its last call. */
    open_session(&d, ctx, ta, 2);
    hello(&d, cid, &wl);
    CHECK(wl.last_seq == 3 && wl.version == v0 + 3, "second WELCOME: last_seq %llu",
          (unsigned long long)wl.last_seq);
    call(&d, 3, TALOS_SESS_CALL_RETRY, "get", 1, miss, &r);
    CHECK(r.status == st3 && (r.flags & TALOS_SESS_RESULT_REPLAYED), "replay in session 2");
    struct talos_session_io io = {.out = io_buf};
    CHECK(talos_ta_session(ta, 2, TALOS_SESSION_CLOSE, NULL, 0, &io) == TALOS_OK && io.closed,
          "CLOSE");
    CHECK(talos_ta_session(ta, 2, TALOS_SESSION_DATA, NULL, 0, &io) == TALOS_ERR_NO_SUCH_SESSION,
          "closed session still there");
    end_session(&d);
    /* An sid in use is refused, the session under it untouched. */
    CHECK(talos_ta_session(ta, 1, TALOS_SESSION_OPEN, NULL, 0, &io) == TALOS_ERR_PROTOCOL &&
              io.closed, "second OPEN of sid 1");

    /* CALL before HELLO: END PROTOCOL, the TA closes the session. */
    open_session(&d, ctx, ta, 3);
    {
        struct talos_wr w;
        const uint8_t *a[1] = {(const uint8_t *)"k"};
        size_t l[1] = {1};
        size_t n = 0;
        struct talos_sess_end e;
        talos_wr_init(&w, 0);
        talos_sess_call_encode(1, 0, "get", 1, a, l, &w);
        send_plain(&d, &w);
        talos_wr_free(&w);
        CHECK(d.closed && d.status == TALOS_ERR_PROTOCOL, "no refusal: %s",
              talos_strerror(d.status));
        CHECK(recv_record(&d, &n) == TALOS_SESS_END, "no END");
        CHECK(talos_sess_end_decode(rec_body, n, &e) == TALOS_OK && e.code == TALOS_ERR_PROTOCOL,
              "END: %s", talos_strerror(e.code));
    }
    end_session(&d);

    /* Session 1 still serves. */
    call(&c, 4, 0, "get", 1, get, &r);
    CHECK(r.status == TALOS_OK && r.version == v0 + 4, "session 1 after the others");
    end_session(&c);

    if (argc == 4) {
        /* The sessions stay behind; the client reconnects to the new home. */
        struct talos_ta *dst = migrate(h, argv[2], ta);
        open_session(&c, ctx, dst, 1);
        check_identity(&c, pem, pem_len);
        hello(&c, cid, &wl);
        CHECK(memcmp(wl.lineage, info.lineage, sizeof(wl.lineage)) == 0, "target: another lineage");
        CHECK(wl.last_seq == 4 && wl.version >= v0 + 4, "target WELCOME: last_seq %llu version %llu",
              (unsigned long long)wl.last_seq, (unsigned long long)wl.version);
        uint64_t vt = wl.version;
        call(&c, 4, TALOS_SESS_CALL_RETRY, "get", 1, get, &r);
        CHECK(r.status == TALOS_OK && (r.flags & TALOS_SESS_RESULT_REPLAYED) && r.out_len == 1 &&
                  r.out[0] == 'v' && r.version == vt,
              "replay on the target: %s", talos_strerror(r.status));
        call(&c, 5, 0, "get", 1, get, &r);
        CHECK(r.status == TALOS_OK && !r.flags && r.version == vt + 1, "call on the target");
        end_session(&c);
        talos_ta_destroy(dst);
    }
    SSL_CTX_free(ctx);
    talos_ta_destroy(ta);
    talos_host_close(h);
    printf("OK\n");
    return 0;
}
