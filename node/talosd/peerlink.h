/* Node-to-node links (docs/node-security.md): every request a node makes
 * of another travels on TLS 1.3 with mutual authentication, each node
 * holding a certificate from an operator CA the other is configured with.
 * Nothing but the TLS handshake is read from a peer that has not proved it
 * holds such a certificate.
 *
 * The TAs' own migration channel is not carried inside this TLS (the state
 * stream is encrypted once, by the TAs): the target node admits a second,
 * plain TCP connection that presents a one-time ticket the target node gave
 * its authenticated peer on the link (peer.c, "data connection").
 *
 * A link also works over a plain descriptor (ssl NULL): the fuzz harness
 * of the preamble decoders uses that, nothing else does. */
#ifndef TALOS_TALOSD_PEERLINK_H
#define TALOS_TALOSD_PEERLINK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

struct peer_link {
    int fd;
    SSL *ssl;          /* NULL: plain descriptor (tests only) */
    char peer[160];    /* the authenticated peer: "CN (sha256 of its certificate, 16 hex)" */
};

/* The node's TLS identity and trust anchors (PEM files). */
struct peer_tls_config {
    const char *cert_path; /* this node's certificate (chain) */
    const char *key_path;  /* its private key */
    const char *ca_path;   /* the CA(s) that certify peer nodes */
};

/* Load the identity and anchors once, at start. On failure why names the
 * file and what is wrong with it. */
int peer_tls_init(const struct peer_tls_config *cfg, char *why, size_t cap);
void peer_tls_fini(void);
/* "CN (fingerprint)" of this node's own certificate. */
const char *peer_tls_self(void);

/* Server side of an accepted TCP connection: the TLS handshake, bounded by
 * the socket timeouts the caller set. TALOS_ERR_PEER_AUTH when the peer
 * presented no certificate of a configured CA (why says what it did). On
 * failure the link is closed. */
int peer_link_accept(int fd, struct peer_link *l, char *why, size_t cap);
/* Connect to HOST:PORT and authenticate it (and ourselves). */
int peer_link_connect(const char *hostport, struct peer_link *l, char *why, size_t cap);
/* A link over a plain descriptor (no TLS): fuzzing only. */
void peer_link_plain(struct peer_link *l, int fd);

int peer_link_read(struct peer_link *l, void *p, size_t n);
int peer_link_write(struct peer_link *l, const void *p, size_t n);
/* close_notify (best effort), then close the descriptor. Safe twice. */
void peer_link_close(struct peer_link *l);

/* Listen on HOST:PORT. */
int peer_listen(const char *hostport, int *fd);
/* TCP to HOST:PORT with bounded timeouts; *fd connected. */
int peer_tcp_connect(const char *hostport, int *fd);

#endif
