/* Node-to-node TLS 1.3 with mutual authentication (peerlink.h). */
#include "node/talosd/peerlink.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "node/talosd/peerproto.h"
#include "os/xport.h"
#include "talos/err.h"

static SSL_CTX *ctx_server, *ctx_client;
static char self_name[160];

/* "CN (first 8 bytes of the certificate's SHA-256, hex)": what the logs
 * call a peer node. */
static void describe(X509 *x, char *out, size_t cap)
{
    char cn[96] = "?", fp[17];
    uint8_t md[TALOS_SHA256_BYTES];
    unsigned int mdlen = sizeof(md);

    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1)
        memset(md, 0, sizeof(md));
    talos_hex(md, 8, fp);
    /* A CN is the peer's own bytes: printable, for the log and `talos node`. */
    for (char *c = cn; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    snprintf(out, cap, "%s (%s)", cn, fp);
}

static SSL_CTX *make_ctx(int server, const struct peer_tls_config *cfg, char *why, size_t cap)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    const char *what = "TLS context";

    if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION))
        goto bad;
    what = cfg->cert_path;
    if (SSL_CTX_use_certificate_chain_file(c, cfg->cert_path) != 1)
        goto bad;
    what = cfg->key_path;
    if (SSL_CTX_use_PrivateKey_file(c, cfg->key_path, SSL_FILETYPE_PEM) != 1)
        goto bad;
    what = "the node key and certificate do not match";
    if (SSL_CTX_check_private_key(c) != 1)
        goto bad;
    what = cfg->ca_path;
    if (SSL_CTX_load_verify_file(c, cfg->ca_path) != 1)
        goto bad;
    /* Both sides present and check a certificate: a peer that has none
     * from a configured CA ends in the handshake. */
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_verify_depth(c, 4);
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    return c;
bad:
    snprintf(why, cap, "%s: %s", what,
             ERR_peek_last_error() ? ERR_reason_error_string(ERR_peek_last_error()) : "unusable");
    ERR_clear_error();
    SSL_CTX_free(c);
    return NULL;
}

int peer_tls_init(const struct peer_tls_config *cfg, char *why, size_t cap)
{
    X509 *own = NULL;

    if (!cfg || !cfg->cert_path || !cfg->key_path || !cfg->ca_path) {
        snprintf(why, cap, "node certificate, key and peer CA are all needed");
        return TALOS_ERR_INVALID_ARG;
    }
    if (!(ctx_server = make_ctx(1, cfg, why, cap)) || !(ctx_client = make_ctx(0, cfg, why, cap))) {
        peer_tls_fini();
        return TALOS_ERR_PEER_AUTH;
    }
    if ((own = SSL_CTX_get0_certificate(ctx_server)))
        describe(own, self_name, sizeof(self_name));
    return TALOS_OK;
}

void peer_tls_fini(void)
{
    SSL_CTX_free(ctx_server);
    SSL_CTX_free(ctx_client);
    ctx_server = ctx_client = NULL;
}

const char *peer_tls_self(void) { return self_name; }

void peer_link_plain(struct peer_link *l, int fd)
{
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    snprintf(l->peer, sizeof(l->peer), "unauthenticated");
}

/* The failed handshake in one line: the verification result when the
 * peer's certificate was the problem, else OpenSSL's reason. */
static int handshake_failed(struct peer_link *l, int r, char *why, size_t cap)
{
    long v = SSL_get_verify_result(l->ssl);
    int e = SSL_get_error(l->ssl, r);
    int rc = TALOS_ERR_PEER_AUTH;

    if (v != X509_V_OK)
        snprintf(why, cap, "peer certificate refused: %s", X509_verify_cert_error_string(v));
    else if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        snprintf(why, cap, "TLS handshake timed out");
        rc = TALOS_ERR_TIMEOUT;
    } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
        snprintf(why, cap, "peer closed during the TLS handshake");
        rc = TALOS_ERR_PEER_CLOSED;
    } else if (ERR_peek_last_error())
        snprintf(why, cap, "TLS handshake: %s", ERR_reason_error_string(ERR_peek_last_error()));
    else
        snprintf(why, cap, "TLS handshake failed");
    ERR_clear_error();
    peer_link_close(l);
    return rc;
}

static int finish_handshake(struct peer_link *l, char *why, size_t cap)
{
    X509 *x = SSL_get0_peer_certificate(l->ssl);

    /* SSL_VERIFY_FAIL_IF_NO_PEER_CERT ends a certificate-less handshake
     * already; this only guards against a configuration that lost it. */
    if (!x || SSL_get_verify_result(l->ssl) != X509_V_OK) {
        snprintf(why, cap, "peer presented no certificate of a configured CA");
        peer_link_close(l);
        return TALOS_ERR_PEER_AUTH;
    }
    describe(x, l->peer, sizeof(l->peer));
    return TALOS_OK;
}

static int start(struct peer_link *l, int fd, SSL_CTX *ctx, char *why, size_t cap)
{
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    if (!ctx || !(l->ssl = SSL_new(ctx)) || SSL_set_fd(l->ssl, fd) != 1) {
        snprintf(why, cap, "TLS: out of memory or not initialised");
        ERR_clear_error();
        peer_link_close(l);
        return TALOS_ERR_CRYPTO;
    }
    return TALOS_OK;
}

int peer_link_accept(int fd, struct peer_link *l, char *why, size_t cap)
{
    int r = 0, rc = start(l, fd, ctx_server, why, cap);

    if (rc != TALOS_OK)
        return rc;
    while ((r = SSL_accept(l->ssl)) != 1)
        if (!(SSL_get_error(l->ssl, r) == SSL_ERROR_SYSCALL && errno == EINTR))
            return handshake_failed(l, r, why, cap);
    return finish_handshake(l, why, cap);
}

int peer_link_connect(const char *hostport, struct peer_link *l, char *why, size_t cap)
{
    int fd = -1, r = 0, rc = peer_tcp_connect(hostport, &fd);

    memset(l, 0, sizeof(*l));
    l->fd = -1;
    if (rc != TALOS_OK) {
        snprintf(why, cap, "%s", rc == TALOS_ERR_INVALID_ARG ? "not a HOST:PORT" : talos_strerror(rc));
        return rc;
    }
    if ((rc = start(l, fd, ctx_client, why, cap)) != TALOS_OK)
        return rc;
    while ((r = SSL_connect(l->ssl)) != 1)
        if (!(SSL_get_error(l->ssl, r) == SSL_ERROR_SYSCALL && errno == EINTR))
            return handshake_failed(l, r, why, cap);
    return finish_handshake(l, why, cap);
}

/* Whether the last OpenSSL error is a TLS alert the peer sent because it
 * refused our authentication (TLS 1.3: a server checks the client's
 * certificate after the client finished its handshake, so the client
 * learns it on its first read). */
static int peer_refused_us(void)
{
    static const int alerts[] = {40, 42, 43, 44, 45, 46, 48, 49, 51, 116};
    unsigned long err = ERR_peek_last_error();
    int reason = ERR_GET_REASON(err);

    if (ERR_GET_LIB(err) != ERR_LIB_SSL || reason <= SSL_AD_REASON_OFFSET)
        return 0;
    for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++)
        if (reason - SSL_AD_REASON_OFFSET == alerts[i])
            return 1;
    return 0;
}

/* An SSL_read/SSL_write result that is not progress, as a talos error;
 * 0 means "retry" (an interrupted system call). */
static int io_error(struct peer_link *l, int r)
{
    int e = SSL_get_error(l->ssl, r);
    int eno = errno;
    int refused = e == SSL_ERROR_SSL && peer_refused_us();

    ERR_clear_error();
    if (refused)
        return TALOS_ERR_PEER_AUTH;
    if (e == SSL_ERROR_ZERO_RETURN)
        return TALOS_ERR_PEER_CLOSED;
    if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
        eno == EINTR)
        return 0;
    if (e == SSL_ERROR_SYSCALL && r == 0)
        return TALOS_ERR_PEER_CLOSED;
    if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
        (eno == EAGAIN || eno == EWOULDBLOCK))
        return TALOS_ERR_TIMEOUT;
    return e == SSL_ERROR_SSL ? TALOS_ERR_CRYPTO : TALOS_ERR_IO;
}

/* Exactly n bytes out of `out` (writing) or into `in` (reading, out NULL)
 * through the TLS connection. */
static int ssl_full(struct peer_link *l, const uint8_t *out, uint8_t *in, size_t n)
{
    for (size_t done = 0; done < n;) {
        size_t moved = 0;
        int r = out ? SSL_write_ex(l->ssl, out + done, n - done, &moved)
                    : SSL_read_ex(l->ssl, in + done, n - done, &moved);
        int rc = TALOS_OK;
        if (r == 1) {
            done += moved;
            continue;
        }
        if ((rc = io_error(l, r)) != 0)
            return rc;
    }
    return TALOS_OK;
}

int peer_link_read(struct peer_link *l, void *p, size_t n)
{
    return l->ssl ? ssl_full(l, NULL, p, n) : talos_fd_read_full(l->fd, p, n);
}

int peer_link_write(struct peer_link *l, const void *p, size_t n)
{
    return l->ssl ? ssl_full(l, p, NULL, n) : talos_fd_write_full(l->fd, p, n);
}

void peer_link_close(struct peer_link *l)
{
    if (l->ssl) {
        (void)SSL_shutdown(l->ssl);
        SSL_free(l->ssl);
        l->ssl = NULL;
        ERR_clear_error();
    }
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

static int resolve(const char *hostport, int passive, struct addrinfo **ai)
{
    char host[128];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};

    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host) || !colon[1])
        return TALOS_ERR_INVALID_ARG;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    return getaddrinfo(host, colon + 1, &hints, ai) == 0 ? TALOS_OK : TALOS_ERR_INVALID_ARG;
}

int peer_listen(const char *hostport, int *out)
{
    struct addrinfo *ai = NULL;
    int fd = -1, one = 1, rc = resolve(hostport, 1, &ai);

    if (rc != TALOS_OK)
        return rc;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return e == EADDRINUSE ? TALOS_ERR_EXISTS : TALOS_ERR_IO;
    }
    freeaddrinfo(ai);
    *out = fd;
    return TALOS_OK;
}

int peer_tcp_connect(const char *hostport, int *out)
{
    struct addrinfo *ai = NULL;
    int fd = -1, one = 1, rc = resolve(hostport, 0, &ai);

    if (rc != TALOS_OK)
        return rc;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        peer_set_timeouts(fd, PEER_TIMEOUT_S);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = errno == ECONNREFUSED ? TALOS_ERR_PEER_CLOSED : TALOS_ERR_IO;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out = fd;
    return TALOS_OK;
}
