/* One connection of a client session (client/conn.h). Everything read here
 * before the TLS handshake comes from the node and is hostile; everything
 * after it comes from the TA only once client/verify.c accepted its
 * certificate, and is still bounded by the record codec. */
#include "client/conn.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/sess.h"
#include "core/tlsio.h"
#include "core/wire.h"
#include "talos/err.h"

/* The certificate is not trusted for anything: client/verify.c trusts the
 * evidence in it, which binds its key; TLS proves possession of that key. */
static int accept_any(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1;
}

static int no_chain_check(X509_STORE_CTX *x, void *arg)
{
    (void)x, (void)arg;
    return 1;
}

SSL_CTX *talos_conn_ctx_new(void)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION)) {
        SSL_CTX_free(c);
        ERR_clear_error();
        return NULL;
    }
    /* As ta/chan.c: records are framed, so a TCP EOF inside one is still
     * caught; no resumption, every connection is verified afresh. */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
    /* One read() per TLS record instead of two (header, then body): the
     * records are small and each call waits for one. */
    SSL_CTX_set_read_ahead(c, 1);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, accept_any);
    SSL_CTX_set_cert_verify_callback(c, no_chain_check, NULL);
    return c;
}

/* HOST:PORT or [V6]:PORT into host and port. */
static int split(const char *hp, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon = strrchr(hp, ':');
    const char *h = hp;
    size_t hl = 0;

    if (!colon || colon == hp || colon[1] == '\0' || strlen(colon + 1) >= pcap)
        return TALOS_ERR_INVALID_ARG;
    hl = (size_t)(colon - hp);
    if (hp[0] == '[') {
        if (hl < 3 || hp[hl - 1] != ']')
            return TALOS_ERR_INVALID_ARG;
        h = hp + 1;
        hl -= 2;
    }
    if (hl >= hcap)
        return TALOS_ERR_INVALID_ARG;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    for (const char *d = port; *d; d++)
        if (*d < '0' || *d > '9')
            return TALOS_ERR_INVALID_ARG;
    return TALOS_OK;
}

/* connect() within timeout_ms, then the socket made blocking again. */
static int connect_within(int fd, const struct addrinfo *a, unsigned timeout_ms)
{
    int fl = fcntl(fd, F_GETFL), err = 0;
    socklen_t el = sizeof(err);
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return TALOS_ERR_IO;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            return TALOS_ERR_IO;
        int r = 0;
        do
            r = poll(&pfd, 1, (int)timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r == 0)
            return TALOS_ERR_TIMEOUT;
        if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
            errno = err ? err : errno;
            return TALOS_ERR_IO;
        }
    }
    return fcntl(fd, F_SETFL, fl) == 0 ? TALOS_OK : TALOS_ERR_IO;
}

int talos_conn_hostport_ok(const char *hp)
{
    char host[256], port[8];
    return strncmp(hp, "unix:", 5) != 0 && split(hp, host, sizeof(host), port, sizeof(port)) == TALOS_OK;
}

/* unix:PATH, a node's control socket on this machine: the same relay
 * (talosd hands a connection whose first byte is a client's to it), without
 * TCP. connect() on a local socket does not block for long. */
static int conn_unix(struct talos_conn *c, const char *path, unsigned timeout_ms, char *why,
                     size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(why, cap, "socket path too long: %.128s", path);
        return TALOS_ERR_INVALID_ARG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(why, cap, "cannot connect to %.200s: %s", path, strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return TALOS_ERR_IO;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return TALOS_OK;
}

int talos_conn_tcp(struct talos_conn *c, const char *hostport, unsigned timeout_ms, char *why,
                   size_t cap)
{
    char host[256], port[8];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = TALOS_ERR_INVALID_ARG, one = 1;

    c->fd = -1;
    c->ssl = NULL;
    if (strncmp(hostport, "unix:", 5) == 0)
        return conn_unix(c, hostport + 5, timeout_ms, why, cap);
    if (split(hostport, host, sizeof(host), port, sizeof(port)) != TALOS_OK) {
        snprintf(why, cap, "not HOST:PORT: %.128s", hostport);
        return rc;
    }
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
        snprintf(why, cap, "cannot resolve %.200s", host);
        return TALOS_ERR_IO;
    }
    rc = TALOS_ERR_IO;
    for (const struct addrinfo *a = res; a && rc != TALOS_OK; a = a->ai_next) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        rc = c->fd < 0 ? TALOS_ERR_IO : connect_within(c->fd, a, timeout_ms);
    }
    freeaddrinfo(res);
    if (rc != TALOS_OK) {
        snprintf(why, cap, "cannot connect to %.200s: %s", hostport,
                 rc == TALOS_ERR_TIMEOUT ? "timed out" : strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return rc;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    /* Records are small and each waits for its answer: no Nagle delay. */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return TALOS_OK;
}

/* Exactly n plain bytes each way, before TLS. */
static int plain_io(int fd, uint8_t *p, size_t n, int writing)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = writing ? send(fd, p + done, n - done, MSG_NOSIGNAL)
                            : recv(fd, p + done, n - done, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? TALOS_ERR_TIMEOUT
                   : errno == ECONNRESET || errno == EPIPE ? TALOS_ERR_PEER_CLOSED
                                                           : TALOS_ERR_IO;
        if (r == 0)
            return TALOS_ERR_PEER_CLOSED;
        done += (size_t)r;
    }
    return TALOS_OK;
}

int talos_conn_preamble(struct talos_conn *c, const uint8_t lineage[TALOS_LINEAGE_BYTES],
                        int32_t *status, char *msg, size_t cap)
{
    uint8_t pre[TALOS_SESS_PREAMBLE_BYTES], n4[4], body[TALOS_SESS_ANSWER_MAX];
    int rc = TALOS_OK;

    talos_sess_preamble_encode(lineage, pre);
    if ((rc = plain_io(c->fd, pre, sizeof(pre), 1)) != TALOS_OK ||
        (rc = plain_io(c->fd, n4, sizeof(n4), 0)) != TALOS_OK)
        return rc;
    uint32_t n = talos_be32_get(n4);
    if (n > TALOS_SESS_ANSWER_MAX)
        return TALOS_ERR_MALFORMED;
    if ((rc = plain_io(c->fd, body, n, 0)) != TALOS_OK)
        return rc;
    return talos_sess_answer_decode(body, n, status, msg, cap);
}

/* OpenSSL writes to the socket with write(): a peer that closed makes the
 * kernel raise SIGPIPE, which kills a process that did not ignore it. A
 * library must not decide that for its caller: SIGPIPE is blocked in this
 * thread around every SSL call, and one it raised is consumed before the
 * mask is restored (EPIPE then reads as PEER_CLOSED). */
struct nopipe {
    sigset_t old;
    int was_pending;
};
_Static_assert(sizeof(struct nopipe) <= sizeof(struct talos_nopipe), "talos_nopipe holds a nopipe");

/* Nested scopes cost nothing: only the outermost one asks the kernel (a
 * session call opens one around all of its SSL calls: four system calls
 * per call instead of four per SSL call). */
static __thread int np_depth;

static void nopipe_begin(struct nopipe *np)
{
    sigset_t pipe_set, pending;
    if (np_depth++ > 0)
        return;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    np->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &np->old);
}

static void nopipe_end(struct nopipe *np)
{
    sigset_t pipe_set, pending;
    const struct timespec zero = {0, 0};
    if (--np_depth > 0)
        return;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    if (!np->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        int saved = errno;
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
        errno = saved;
    }
    pthread_sigmask(SIG_SETMASK, &np->old, NULL);
}

void talos_conn_nopipe_begin(struct talos_nopipe *np) { nopipe_begin((struct nopipe *)np); }
void talos_conn_nopipe_end(struct talos_nopipe *np) { nopipe_end((struct nopipe *)np); }



int talos_conn_tls(struct talos_conn *c, SSL_CTX *ctx, X509 **peer)
{
    int hs = 0;

    *peer = NULL;
    if (!(c->ssl = SSL_new(ctx)) || !SSL_set_fd(c->ssl, c->fd)) {
        ERR_clear_error();
        return TALOS_ERR_CRYPTO;
    }
    struct nopipe np;
    nopipe_begin(&np);
    do
        hs = SSL_connect(c->ssl);
    while (hs != 1 && talos_tls_interrupted(c->ssl, hs));
    nopipe_end(&np);
    if (hs != 1) {
        int rc = talos_tls_error(c->ssl, hs);
        return rc == TALOS_ERR_MAC ? TALOS_ERR_CRYPTO : rc;
    }
    *peer = SSL_get1_peer_certificate(c->ssl);
    ERR_clear_error();
    return *peer ? TALOS_OK : TALOS_ERR_CRYPTO;
}

static int ssl_full(struct talos_conn *c, const uint8_t *out, uint8_t *in, size_t n)
{
    struct nopipe np;
    int rc = TALOS_OK;

    nopipe_begin(&np);
    for (size_t done = 0; done < n && rc == TALOS_OK;) {
        int chunk = n - done > (1u << 30) ? 1 << 30 : (int)(n - done);
        int r = out ? SSL_write(c->ssl, out + done, chunk) : SSL_read(c->ssl, in + done, chunk);
        if (r <= 0 && talos_tls_interrupted(c->ssl, r))
            continue;
        if (r <= 0)
            rc = talos_tls_error(c->ssl, r);
        else
            done += (size_t)r;
    }
    nopipe_end(&np);
    return rc;
}

int talos_conn_send(struct talos_conn *c, const void *p, size_t n)
{
    return c->ssl ? ssl_full(c, p, NULL, n) : TALOS_ERR_PEER_CLOSED;
}

int talos_conn_recv(struct talos_conn *c, uint8_t *type, uint8_t **body, uint32_t *len)
{
    uint8_t hdr[TALOS_SESS_HDR];
    uint8_t *b = NULL;
    int rc = TALOS_OK;

    *body = NULL;
    *len = 0;
    if (!c->ssl)
        return TALOS_ERR_PEER_CLOSED;
    if ((rc = ssl_full(c, NULL, hdr, sizeof(hdr))) != TALOS_OK ||
        (rc = talos_sess_hdr_decode(hdr, TALOS_SESS_FROM_TA, type, len)) != TALOS_OK)
        return rc;
    if (!(b = malloc(*len ? *len : 1)))
        return TALOS_ERR_NOMEM;
    if ((rc = ssl_full(c, NULL, b, *len)) != TALOS_OK) {
        talos_wipe(b, *len);
        free(b);
        *len = 0;
        return rc;
    }
    *body = b;
    return TALOS_OK;
}

void talos_conn_close(struct talos_conn *c)
{
    if (c->ssl) {
        struct nopipe np;
        nopipe_begin(&np);
        (void)SSL_shutdown(c->ssl);
        nopipe_end(&np);
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}
