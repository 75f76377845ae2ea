/* One connection of a client session (docs/sessions.md §1, §3): TCP to a
 * node, the plaintext preamble, then TLS 1.3 with the TA and its records.
 * client/session.c decides what to do with what happens here. */
#ifndef TALOS_CLIENT_CONN_H
#define TALOS_CLIENT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "talos/abi.h"

struct ssl_st;
struct ssl_ctx_st;
struct x509_st;

struct talos_conn {
    int fd;
    struct ssl_st *ssl;
};

/* A TLS 1.3 client context that accepts any certificate (trust comes from
 * the evidence, client/verify.c). NULL on failure. */
struct ssl_ctx_st *talos_conn_ctx_new(void);

/* Connect to HOST:PORT (a name, an IPv4 address or [IPv6]) within
 * timeout_ms, with TCP_NODELAY and timeout_ms on every later read and
 * write. TALOS_OK with c->fd, or INVALID_ARG (not HOST:PORT), IO, TIMEOUT
 * with a reason in why. */
/* A scope in which SIGPIPE cannot kill the caller's process (conn.c);
 * nested scopes cost nothing. */
struct talos_nopipe {
    _Alignas(16) unsigned char opaque[160];
};
void talos_conn_nopipe_begin(struct talos_nopipe *np);
void talos_conn_nopipe_end(struct talos_nopipe *np);

/* Whether hp is a HOST:PORT a node or TA may send the client to (never a
 * unix: path: only the user names those). */
int talos_conn_hostport_ok(const char *hp);
int talos_conn_tcp(struct talos_conn *c, const char *hostport, unsigned timeout_ms, char *why,
                   size_t cap);

/* Send the preamble for lineage and read the node's answer: TALOS_OK with
 * *status (the node's talos_err) and its message, or the transport's error
 * (IO, TIMEOUT, PEER_CLOSED, MALFORMED). */
int talos_conn_preamble(struct talos_conn *c, const uint8_t lineage[TALOS_LINEAGE_BYTES],
                        int32_t *status, char *msg, size_t cap);

/* TLS 1.3 handshake over c->fd. TALOS_OK with the peer's certificate in
 * *peer (a reference the caller frees), or CRYPTO/PEER_CLOSED/TIMEOUT. */
int talos_conn_tls(struct talos_conn *c, struct ssl_ctx_st *ctx, struct x509_st **peer);

/* Write n bytes inside TLS: TALOS_OK, or PEER_CLOSED/TIMEOUT/MAC. */
int talos_conn_send(struct talos_conn *c, const void *p, size_t n);

/* Read one record from the TA (header checked with talos_sess_hdr_decode
 * FROM_TA): TALOS_OK with *type and *body (malloc'd, *len bytes; the
 * caller wipes and frees it), or the transport's error, or the header's
 * PROTOCOL/TOO_LARGE/MALFORMED. */
int talos_conn_recv(struct talos_conn *c, uint8_t *type, uint8_t **body, uint32_t *len);

/* Close: TLS close_notify when a session is up, then the socket. */
void talos_conn_close(struct talos_conn *c);

#endif
