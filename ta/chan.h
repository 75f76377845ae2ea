/* The TLS 1.3 channel between two TAs (trusted code). The socket belongs to
 * the untrusted host; the keys are made here and never leave. TLS gives
 * confidentiality and integrity; *who* the peer is comes from evidence
 * bound to the peer's TLS key and the channel's exporter (ta/migrate.c). */
#ifndef TALOS_TA_CHAN_H
#define TALOS_TA_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"

#define TALOS_CHAN_TIMEOUT_S 30

struct ssl_st;
struct ssl_ctx_st;

struct talos_chan {
    struct ssl_ctx_st *ctx;
    struct ssl_st *ssl;
    int fd;
    uint8_t own_pub[TALOS_ED25519_PUB_BYTES];  /* our ephemeral Ed25519 TLS key */
    uint8_t peer_pub[TALOS_ED25519_PUB_BYTES]; /* the peer's, from its certificate */
};

/* One channel's TLS identity: an ephemeral Ed25519 key and the
 * self-signed certificate that carries it into TLS (nothing trusts the
 * certificate: evidence binds the key). Made ahead of time, with its
 * evidence (ta/mig_ident.c); it serves exactly one channel. */
struct talos_chan_key {
    struct evp_pkey_st *key;
    struct x509_st *cert;
    uint8_t pub[TALOS_ED25519_PUB_BYTES];
};
/* TALOS_OK or TALOS_ERR_CRYPTO (nothing held). */
int talos_chan_key_new(struct talos_chan_key *k);
void talos_chan_key_free(struct talos_chan_key *k); /* accepts a zeroed key */

/* Warm OpenSSL's algorithm caches and make both roles' contexts (call
 * once, from any thread). */
void talos_chan_warmup(void);
/* Make both roles' contexts if they are not yet (any thread). */
void talos_chan_prepare(void);

/* Handshake on a connected socket (client = the source) with the key k;
 * takes ownership of fd and of k (freed, success or not: a key serves one
 * channel). TALOS_ERR_CRYPTO when the handshake fails (tampering, wrong
 * peer), TALOS_ERR_PEER_CLOSED; on failure everything, fd included, is
 * released. */
int talos_chan_open(struct talos_chan *c, int fd, int is_client, struct talos_chan_key *k);
/* RFC 8446 exporter over (label, context). */
int talos_chan_export(struct talos_chan *c, const char *label, const uint8_t *context,
                      size_t ctx_len, uint8_t *out, size_t n);
/* One record written as one TLS record (up to 16 KiB), whatever its
 * length: a record whose size varies then never changes how many TLS
 * records a migration has (the attack tests number them). */
int talos_chan_send_one(struct talos_chan *c, uint8_t type, const void *body, size_t len);
/* One record: header (type, length) then body; `payload` (may be NULL) is
 * sent after `body` without a copy, both counted in the length. */
int talos_chan_send(struct talos_chan *c, uint8_t type, const void *body, size_t len,
                    const void *payload, size_t payload_len);
/* Read a record header and check it against core/mig.h's table. */
int talos_chan_recv_hdr(struct talos_chan *c, uint8_t from, uint8_t *type, uint32_t *len);
/* Read exactly n bytes of the current record into dst. */
int talos_chan_read(struct talos_chan *c, void *dst, size_t n);
/* Close (best-effort TLS close_notify), free, wipe. fd is closed too. */
void talos_chan_close(struct talos_chan *c);

#endif
