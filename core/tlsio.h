/* What an SSL call on a blocking socket that failed means, for the two
 * ends that run TLS over sockets: the TA's migration channel (ta/chan.c)
 * and the client library (client/conn.c). One reading of OpenSSL's errors
 * for both, so that a timeout is never taken for tampering. */
#ifndef TALOS_CORE_TLSIO_H
#define TALOS_CORE_TLSIO_H

struct ssl_st;

/* The call failed only because a system call was interrupted: Linux makes
 * recv/send on a socket with SO_RCVTIMEO/SO_SNDTIMEO fail with EINTR when
 * the process is stopped and continued (SIGSTOP/SIGCONT), even without a
 * handler. Retry it (a real timeout sets EAGAIN instead). */
int talos_tls_interrupted(struct ssl_st *ssl, int r);

/* The talos_err of a failed SSL call r: PEER_CLOSED (the peer vanished:
 * EOF, a reset, OpenSSL 3's unexpected EOF inside a record), TIMEOUT (the
 * socket's timeout expired: a silent peer or a partition, not tampering),
 * or MAC (bytes that fail their tag, an alert). Clears OpenSSL's error
 * queue. */
int talos_tls_error(struct ssl_st *ssl, int r);

#endif
