/* Framed message transport across the enclave boundary, for both sides.
 *
 * Passive mode: frames on a Unix stream socket. Switchless mode: the same
 * frames on two shared-memory byte rings (core/ring.h), polled, with a
 * futex only when a side has been idle; the socket stays open as the
 * liveness signal (EOF when the peer dies).
 *
 * Every received frame is copied once into the caller's private buffer and
 * its header checked against core/msg.h's table before anyone decodes it.
 */
#ifndef TALOS_OS_XPORT_H
#define TALOS_OS_XPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ring.h"
#include "core/wire.h"

struct talos_xport {
    int fd;            /* the socket; -1 when closed */
    int switchless;    /* 1: frames travel on the rings (set by the caller) */
    int rings_mapped;  /* rings attached by talos_xport_switchless */
    uint8_t peer;      /* TALOS_MSG_FROM_* of the other side */
    struct talos_ring tx, rx;
    struct talos_ring_waiter waiter;
    void *shm;
    size_t shm_len;
    int recv_timeout_ms; /* 0 = none; otherwise TALOS_ERR_TIMEOUT after it */
    int pending_fd;      /* a descriptor that arrived with a frame, or -1 */
};

/* Wrap a connected socket. `peer` is who sends what we receive. */
void talos_xport_init(struct talos_xport *x, int fd, uint8_t peer);

/* Map the shared memory in shm_fd and attach the rings (is_host: format it
 * first with ring capacity `cap`). Frames keep using the socket until the
 * caller sets x->switchless = 1, so a handshake can finish on the socket. */
int talos_xport_switchless(struct talos_xport *x, int shm_fd, int is_host, uint32_t cap);

/* Send one frame: header + body (body may be NULL for an empty frame). */
int talos_xport_send(struct talos_xport *x, uint16_t type, const void *body, size_t len);

/* Receive one frame into *body (reset first, grown as needed); *type set.
 * The header is checked with talos_msg_check before the body is read. */
int talos_xport_recv(struct talos_xport *x, uint16_t *type, struct talos_wr *body);

/* Send a frame of `type` (body may be empty) with a descriptor attached
 * (SCM_RIGHTS on the socket; in switchless mode the descriptor goes on the
 * socket and the frame on the rings). The caller keeps its copy of fd. */
int talos_xport_send_fd(struct talos_xport *x, uint16_t type, int fd, const void *body,
                        size_t len);

/* Take the descriptor that came with the last frame (waiting for it on the
 * socket in switchless mode). TALOS_ERR_PROTOCOL when none came. */
int talos_xport_take_fd(struct talos_xport *x, int *fd);

/* Close rings and socket. */
void talos_xport_close(struct talos_xport *x);

/* Read/write exactly n bytes on a blocking fd (EINTR-safe); EOF before n
 * bytes -> TALOS_ERR_PEER_CLOSED. */
int talos_fd_read_full(int fd, void *p, size_t n);
int talos_fd_write_full(int fd, const void *p, size_t n);

#endif
