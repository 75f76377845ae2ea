/* A scripted fake TA behind a fake node, on loopback, for the client
 * library's session tests (tests/unit/test_client_session.c): per
 * connection, the node's preamble answer, then TLS 1.3 with a real ratls
 * certificate (client_fixture.h), WELCOME, and RESULTs that echo the
 * ecall's name. It records what the client sent. */
#ifndef TALOS_TESTS_FAKE_TA_H
#define TALOS_TESTS_FAKE_TA_H

#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/sess.h"
#include "core/wire.h"

struct fake_conn {
    int32_t pre_status;      /* the node's answer */
    char pre_msg[64];
    uint64_t version;        /* in WELCOME and RESULT */
    int other_lineage;       /* WELCOME names another lineage */
    int drop_on_call;        /* close without answering the first CALL */
    int32_t status;          /* the RESULT's */
    uint8_t flags;           /* the RESULT's */
};

struct fake_ta {
    int lfd, port;
    pthread_t th;
    SSL_CTX *ctx;
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    struct fake_conn conn[4];
    int n_conn;
    /* what happened */
    int accepted, hellos, calls;
    uint64_t seq[8];
    uint8_t call_flags[8];
    uint8_t client_id[TALOS_SESS_CLIENT_ID_BYTES];
};

static int ft_full(SSL *ssl, uint8_t *p, size_t n, int writing)
{
    for (size_t done = 0; done < n;) {
        int r = writing ? SSL_write(ssl, p + done, (int)(n - done)) : SSL_read(ssl, p + done, (int)(n - done));
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int ft_plain(int fd, uint8_t *p, size_t n, int writing)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = writing ? send(fd, p + done, n - done, MSG_NOSIGNAL) : recv(fd, p + done, n - done, 0);
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* One record from the client: its type and body (into buf). */
static int ft_recv(SSL *ssl, uint8_t *type, uint8_t *buf, size_t cap, uint32_t *len)
{
    uint8_t hdr[TALOS_SESS_HDR];
    if (ft_full(ssl, hdr, sizeof(hdr), 0) != 0 ||
        talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_CLIENT, type, len) != TALOS_OK || *len > cap)
        return -1;
    return ft_full(ssl, buf, *len, 0);
}

static int ft_send(SSL *ssl, struct talos_wr *w)
{
    int rc = w->err ? -1 : ft_full(ssl, w->p, w->len, 1);
    talos_wr_reset(w);
    return rc;
}

static void ft_serve(struct fake_ta *f, int fd, const struct fake_conn *c)
{
    uint8_t pre[TALOS_SESS_PREAMBLE_BYTES], lin[TALOS_LINEAGE_BYTES], type = 0;
    static uint8_t buf[1 << 16];
    uint32_t len = 0;
    struct talos_wr w;
    SSL *ssl = NULL;

    talos_wr_init(&w, 0);
    if (ft_plain(fd, pre, sizeof(pre), 0) != 0 || talos_sess_preamble_decode(pre, lin) != TALOS_OK)
        goto out;
    talos_sess_answer_encode(c->pre_status, c->pre_msg, &w);
    if (ft_plain(fd, w.p, w.len, 1) != 0 || c->pre_status != TALOS_OK)
        goto out;
    talos_wr_reset(&w);
    if (!(ssl = SSL_new(f->ctx)) || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
        goto out;
    struct talos_sess_hello h;
    if (ft_recv(ssl, &type, buf, sizeof(buf), &len) != 0 || type != TALOS_SESS_HELLO ||
        talos_sess_hello_decode(buf, len, &h) != TALOS_OK)
        goto out;
    f->hellos++;
    memcpy(f->client_id, h.client_id, sizeof(h.client_id));
    struct talos_sess_welcome wel = {.proto = TALOS_SESS_PROTO, .version = c->version};
    memcpy(wel.lineage, f->lineage, sizeof(wel.lineage));
    wel.lineage[0] ^= (uint8_t)c->other_lineage;
    talos_sess_welcome_encode(&wel, &w);
    if (ft_send(ssl, &w) != 0)
        goto out;
    while (ft_recv(ssl, &type, buf, sizeof(buf), &len) == 0 && type == TALOS_SESS_CALL) {
        struct talos_sess_call call;
        if (talos_sess_call_decode(buf, len, &call) != TALOS_OK)
            break;
        if (f->calls < 8) {
            f->seq[f->calls] = call.seq;
            f->call_flags[f->calls] = call.flags;
        }
        f->calls++;
        if (c->drop_on_call)
            break; /* no close_notify: a broken connection */
        struct talos_sess_result r = {.seq = call.seq, .status = c->status, .version = c->version,
                                      .flags = c->flags, .out = (const uint8_t *)"echo", .out_len = 4};
        snprintf(r.reason, sizeof(r.reason), "%s", c->status ? "refused by the fake" : "");
        talos_sess_result_encode(&r, &w);
        if (ft_send(ssl, &w) != 0)
            break;
    }
out:
    SSL_free(ssl);
    close(fd);
    talos_wr_free(&w);
}

static void *ft_main(void *arg)
{
    struct fake_ta *f = arg;
    sigset_t pipe_set;

    /* The fake's own writes to a client that left must not kill the test;
     * only this thread: the client library must guard its own. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    for (int i = 0; i < f->n_conn; i++) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            break; /* the client gave up earlier */
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        f->accepted++;
        ft_serve(f, fd, &f->conn[i]);
    }
    return NULL;
}

/* Listen on loopback and serve n_conn scripted connections in a thread. */
static void ft_start(struct fake_ta *f, EVP_PKEY *key, X509 *cert)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);

    assert_non_null(f->ctx = SSL_CTX_new(TLS_server_method()));
    assert_int_equal(SSL_CTX_set_min_proto_version(f->ctx, TLS1_3_VERSION), 1);
    assert_int_equal(SSL_CTX_use_certificate(f->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(f->ctx, key), 1);
    assert_true((f->lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->th, NULL, ft_main, f), 0);
}

static void ft_stop(struct fake_ta *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->th, NULL);
    close(f->lfd);
    SSL_CTX_free(f->ctx);
}

#endif
