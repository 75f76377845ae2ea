#include "ta/chan.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/mig.h"
#include "core/tlsio.h"
#include "core/wire.h"
#include "talos/err.h"

/* The certificate only carries the ephemeral key into TLS; it is not
 * trusted for anything. Evidence binds the key (ta/migrate.c). */
static int accept_any(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1;
}


static X509 *self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *n = NULL;

    if (!x || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, key) ||
        !(n = X509_get_subject_name(x)) ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"talos ephemeral TA key", -1, -1, 0) ||
        !X509_set_issuer_name(x, n) || !X509_sign(x, key, NULL)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int raw_pub(EVP_PKEY *k, uint8_t out[TALOS_ED25519_PUB_BYTES])
{
    size_t len = 32;
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(k, out, &len) != 1 || len != TALOS_ED25519_PUB_BYTES)
        return TALOS_ERR_PROTOCOL;
    return TALOS_OK;
}

/* One SSL_CTX per role, made once and shared by every channel of this TA:
 * no key or certificate lives in it (those are per channel, on the SSL).
 * The peer's certificate is not checked at all (see accept_any): TLS still
 * makes the peer prove that it holds the key, and evidence binds the key. */
static int no_chain_check(X509_STORE_CTX *x, void *arg)
{
    (void)x, (void)arg;
    return 1;
}

static SSL_CTX *role_ctx(int is_client)
{
    SSL_CTX *c = SSL_CTX_new(is_client ? TLS_client_method() : TLS_server_method());
    if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION)) {
        SSL_CTX_free(c);
        return NULL;
    }
    /* No session tickets or resumption: every channel is fresh. A TCP EOF
     * without close_notify reads as a plain end of stream: our records are
     * framed, so a cut inside one is still caught (PEER_CLOSED), and no
     * decode_error alert then hides the cause from the peer. */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    SSL_CTX_set_cert_verify_callback(c, no_chain_check, NULL);
    return c;
}

/* The contexts of both roles, made once for the TA's life (no key or
 * certificate lives in them: those are per channel, on the SSL). */
static struct {
    pthread_mutex_t lock;
    SSL_CTX *ctx[2]; /* [0] server (target), [1] client (source) */
} pre = {.lock = PTHREAD_MUTEX_INITIALIZER};

int talos_chan_key_new(struct talos_chan_key *k)
{
    memset(k, 0, sizeof(*k));
    if (!(k->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) || !(k->cert = self_signed(k->key)) ||
        raw_pub(k->key, k->pub) != TALOS_OK) {
        talos_chan_key_free(k);
        ERR_clear_error();
        return TALOS_ERR_CRYPTO;
    }
    return TALOS_OK;
}

void talos_chan_key_free(struct talos_chan_key *k)
{
    X509_free(k->cert);
    EVP_PKEY_free(k->key); /* OpenSSL clears a private key as it frees it */
    memset(k, 0, sizeof(*k));
}

void talos_chan_prepare(void)
{
    pthread_mutex_lock(&pre.lock);
    for (int i = 0; i < 2; i++)
        if (!pre.ctx[i])
            pre.ctx[i] = role_ctx(i);
    pthread_mutex_unlock(&pre.lock);
}

/* A reference to the role's context (made now if it is not yet). */
static SSL_CTX *take_ctx(int is_client)
{
    SSL_CTX *ctx = NULL;

    pthread_mutex_lock(&pre.lock);
    if (!pre.ctx[is_client])
        pre.ctx[is_client] = role_ctx(is_client);
    if ((ctx = pre.ctx[is_client]))
        SSL_CTX_up_ref(ctx);
    pthread_mutex_unlock(&pre.lock);
    return ctx;
}

/* OpenSSL 3 fetches and caches algorithm implementations on first use: in
 * a fresh TA process the first handshake paid milliseconds for it. Done
 * once at start, off the critical path (a background thread). */
void talos_chan_warmup(void)
{
    talos_chan_prepare();
    pthread_mutex_lock(&pre.lock);
    for (int i = 0; i < 2; i++)
        if (pre.ctx[i]) {
            SSL *ssl = SSL_new(pre.ctx[i]); /* fetches the TLS 1.3 suites' ciphers and digests */
            SSL_free(ssl);
        }
    pthread_mutex_unlock(&pre.lock);
    uint8_t k[32] = {0}, iv[12] = {0}, buf[64] = {0}, tag[16];
    int outl = 0;
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    if (cc && EVP_EncryptInit_ex(cc, EVP_aes_256_gcm(), NULL, k, iv) == 1) {
        (void)EVP_EncryptUpdate(cc, buf, &outl, buf, sizeof(buf));
        (void)EVP_EncryptFinal_ex(cc, buf, &outl);
        (void)EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_GET_TAG, 16, tag);
    }
    EVP_CIPHER_CTX_free(cc);
    ERR_clear_error();
}

int talos_chan_open(struct talos_chan *c, int fd, int is_client, struct talos_chan_key *k)
{
    int rc = TALOS_ERR_CRYPTO;

    memset(c, 0, sizeof(*c));
    c->fd = fd;
    /* A peer or host that stalls must not hold this TA forever: a stalled
     * channel fails, and the lifecycle decides (resume, or stay in doubt). */
    struct timeval tv = {.tv_sec = TALOS_CHAN_TIMEOUT_S};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (!k->key || !(c->ctx = take_ctx(is_client)))
        goto out;
    memcpy(c->own_pub, k->pub, sizeof(c->own_pub));
    if (!(c->ssl = SSL_new(c->ctx)) || !SSL_use_certificate(c->ssl, k->cert) ||
        !SSL_use_PrivateKey(c->ssl, k->key) || !SSL_set_fd(c->ssl, fd))
        goto out;
    int hs = 0;
    do
        hs = is_client ? SSL_connect(c->ssl) : SSL_accept(c->ssl);
    while (hs != 1 && talos_tls_interrupted(c->ssl, hs));
    if (hs != 1) {
        int e = SSL_get_error(c->ssl, hs);
        rc = e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ? TALOS_ERR_PEER_CLOSED
                                                                  : TALOS_ERR_CRYPTO;
        goto out;
    }
    rc = raw_pub(X509_get0_pubkey(SSL_get0_peer_certificate(c->ssl)), c->peer_pub);
out:
    ERR_clear_error();
    talos_chan_key_free(k); /* the SSL holds its own references: the key serves this channel only */
    if (rc != TALOS_OK) /* the caller owns nothing of a channel that failed */
        talos_chan_close(c);
    return rc;
}

int talos_chan_export(struct talos_chan *c, const char *label, const uint8_t *context,
                      size_t ctx_len, uint8_t *out, size_t n)
{
    return SSL_export_keying_material(c->ssl, out, n, label, strlen(label), context, ctx_len, 1) == 1
               ? TALOS_OK
               : TALOS_ERR_CRYPTO;
}


/* Exactly n bytes out of `out` (writing) or into `in` (reading, out NULL),
 * in chunks SSL_write/SSL_read take (an int length), retrying after a
 * signal. */
static int ssl_full(struct talos_chan *c, const uint8_t *out, uint8_t *in, size_t n)
{
    for (size_t done = 0; done < n;) {
        int chunk = n - done > (1u << 30) ? 1 << 30 : (int)(n - done);
        int r = out ? SSL_write(c->ssl, out + done, chunk) : SSL_read(c->ssl, in + done, chunk);
        if (r <= 0 && talos_tls_interrupted(c->ssl, r))
            continue;
        if (r <= 0)
            return talos_tls_error(c->ssl, r);
        done += (size_t)r;
    }
    return TALOS_OK;
}

static int write_all(struct talos_chan *c, const void *p, size_t n)
{
    return ssl_full(c, p, NULL, n);
}

int talos_chan_send(struct talos_chan *c, uint8_t type, const void *body, size_t len,
                    const void *payload, size_t payload_len)
{
    uint8_t hdr[TALOS_MIG_HDR];
    uint8_t small[TALOS_MIG_HDR + 256];
    int rc = TALOS_OK;

    if (len + payload_len > UINT32_MAX)
        return TALOS_ERR_TOO_LARGE;
    talos_mig_hdr_encode(type, (uint32_t)(len + payload_len), hdr);
    /* Small records go out in one TLS record. */
    if (len <= 256) {
        memcpy(small, hdr, sizeof(hdr));
        if (len)
            memcpy(small + sizeof(hdr), body, len);
        rc = write_all(c, small, sizeof(hdr) + len);
    } else if ((rc = write_all(c, hdr, sizeof(hdr))) == TALOS_OK) {
        rc = write_all(c, body, len);
    }
    if (rc == TALOS_OK && payload_len)
        rc = write_all(c, payload, payload_len);
    return rc;
}

int talos_chan_send_one(struct talos_chan *c, uint8_t type, const void *body, size_t len)
{
    uint8_t *buf = NULL;
    int rc = TALOS_OK;

    if (len > UINT32_MAX - TALOS_MIG_HDR)
        return TALOS_ERR_TOO_LARGE;
    if (!(buf = malloc(TALOS_MIG_HDR + len)))
        return TALOS_ERR_NOMEM;
    talos_mig_hdr_encode(type, (uint32_t)len, buf);
    if (len)
        memcpy(buf + TALOS_MIG_HDR, body, len);
    rc = write_all(c, buf, TALOS_MIG_HDR + len);
    talos_wipe(buf, TALOS_MIG_HDR + len);
    free(buf);
    return rc;
}

int talos_chan_read(struct talos_chan *c, void *dst, size_t n)
{
    return ssl_full(c, NULL, dst, n);
}

int talos_chan_recv_hdr(struct talos_chan *c, uint8_t from, uint8_t *type, uint32_t *len)
{
    uint8_t hdr[TALOS_MIG_HDR];
    int rc = talos_chan_read(c, hdr, sizeof(hdr));
    if (rc != TALOS_OK)
        return rc;
    return talos_mig_hdr_decode(hdr, from, type, len);
}

/* Close gracefully: send close_notify and our FIN, then read what the peer
 * still sends for a moment. Closing a socket with unread input makes the
 * kernel send RST, and an RST makes the peer's kernel drop data it has not
 * read yet — a RECEIPT in flight, a refusal's reason. */
void talos_chan_close(struct talos_chan *c)
{
    char sink[4096];

    if (c->ssl) {
        (void)SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
    if (c->fd >= 0) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = 500 * 1000};
        (void)shutdown(c->fd, SHUT_WR);
        (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        for (int i = 0; i < 256 && read(c->fd, sink, sizeof(sink)) > 0; i++)
            ;
        close(c->fd);
    }
    talos_wipe(c, sizeof(*c));
    c->fd = -1;
}
