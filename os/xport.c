#include "os/xport.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/msg.h"
#include "talos/err.h"

/* How long a switchless side sleeps before it re-checks that its peer lives. */
#define XPORT_LIVENESS_MS 100
/* Poll iterations before sleeping: ~1 ms at ~25 ns per pause on the
 * development machine (bench/RESULTS.md). A shorter window (100 µs) was
 * measured 200x slower: a futex wake-up of an idle vCPU takes longer than
 * the window, so once one side sleeps both keep missing each other. The
 * price is up to 1 ms of one core spinning per side after each message —
 * the switchless trade-off (FlexSC): CPU for latency. */
#define XPORT_SPIN 40000

int talos_fd_read_full(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == ECONNRESET ? TALOS_ERR_PEER_CLOSED : TALOS_ERR_IO;
        if (r == 0)
            return TALOS_ERR_PEER_CLOSED;
        b += r;
        n -= (size_t)r;
    }
    return TALOS_OK;
}

int talos_fd_write_full(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t r = send(fd, b, n, MSG_NOSIGNAL);
        if (r < 0 && errno == ENOTSOCK)
            r = write(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return (errno == EPIPE || errno == ECONNRESET) ? TALOS_ERR_PEER_CLOSED : TALOS_ERR_IO;
        b += r;
        n -= (size_t)r;
    }
    return TALOS_OK;
}

/* The peer is gone when its end of the socket reports hang-up or EOF. In
 * switchless mode nothing else is ever sent on the socket. */
static int peer_alive(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char c = 0;

    if (fd < 0)
        return 0;
    if (poll(&pfd, 1, 0) <= 0)
        return 1;
    if (pfd.revents & (POLLHUP | POLLERR))
        return 0;
    return !(pfd.revents & POLLIN) || recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
}

static int futex_wait(void *ctx, _Atomic uint32_t *addr, uint32_t expected)
{
    struct talos_xport *x = ctx;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = XPORT_LIVENESS_MS * 1000000L};

    /* Shared (not PRIVATE) futex: the word lives in memory two processes map. */
    if (syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0) < 0 &&
        errno == ETIMEDOUT && !peer_alive(x->fd))
        return TALOS_ERR_PEER_CLOSED;
    return TALOS_OK;
}

static void futex_wake(void *ctx, _Atomic uint32_t *addr)
{
    (void)ctx;
    syscall(SYS_futex, addr, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void talos_xport_init(struct talos_xport *x, int fd, uint8_t peer)
{
    memset(x, 0, sizeof(*x));
    x->fd = fd;
    x->pending_fd = -1;
    x->peer = peer;
    x->waiter.wait = futex_wait;
    x->waiter.wake = futex_wake;
    x->waiter.ctx = x;
    x->waiter.spin = XPORT_SPIN;
}

int talos_xport_switchless(struct talos_xport *x, int shm_fd, int is_host, uint32_t cap)
{
    size_t len = is_host ? talos_ring_shm_size(cap) : 0;
    void *shm = MAP_FAILED;
    struct stat st;
    int rc = TALOS_OK;

    /* The TA side learns the size from the region the host made; the
     * capacity inside it is validated against that size by attach. */
    if (!is_host) {
        if (fstat(shm_fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > (1ull << 30))
            return TALOS_ERR_MALFORMED;
        len = (size_t)st.st_size;
    }
    if (len == 0)
        return TALOS_ERR_INVALID_ARG;
    if (is_host && ftruncate(shm_fd, (off_t)len) != 0)
        return TALOS_ERR_IO;
    shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
    if (shm == MAP_FAILED)
        return TALOS_ERR_NOMEM;
    if (is_host && (rc = talos_ring_pair_init(shm, len, cap)) != TALOS_OK)
        goto out;
    if ((rc = talos_ring_attach(&x->tx, &x->rx, shm, len, is_host)) != TALOS_OK)
        goto out;
    x->shm = shm;
    x->shm_len = len;
    x->rings_mapped = 1;
    shm = MAP_FAILED;
out:
    if (shm != MAP_FAILED)
        munmap(shm, len);
    return rc;
}

int talos_xport_send(struct talos_xport *x, uint16_t type, const void *body, size_t len)
{
    uint8_t hdr[TALOS_MSG_HDR] = {0};
    int rc = TALOS_OK;

    if (len > UINT32_MAX)
        return TALOS_ERR_TOO_LARGE;
    talos_be32_put(hdr, (uint32_t)len);
    hdr[4] = (uint8_t)(type >> 8);
    hdr[5] = (uint8_t)type;
    if (x->switchless) {
        rc = talos_ring_write(&x->tx, hdr, sizeof(hdr), &x->waiter);
        if (rc == TALOS_OK && len)
            rc = talos_ring_write(&x->tx, body, len, &x->waiter);
        return rc;
    }
    if (x->fd < 0)
        return TALOS_ERR_PEER_CLOSED;
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)(uintptr_t)body, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    ssize_t r = sendmsg(x->fd, &mh, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR)
        r = sendmsg(x->fd, &mh, MSG_NOSIGNAL);
    if (r < 0)
        return (errno == EPIPE || errno == ECONNRESET) ? TALOS_ERR_PEER_CLOSED : TALOS_ERR_IO;
    /* A short sendmsg on a stream socket: finish the rest byte-exactly. */
    size_t sent = (size_t)r;
    if (sent < sizeof(hdr)) {
        rc = talos_fd_write_full(x->fd, hdr + sent, sizeof(hdr) - sent);
        sent = sizeof(hdr);
        if (rc != TALOS_OK)
            return rc;
    }
    sent -= sizeof(hdr);
    return sent < len ? talos_fd_write_full(x->fd, (const uint8_t *)body + sent, len - sent)
                      : TALOS_OK;
}

/* Keep the first descriptor a message carries; close any other (a hostile
 * peer may send many). */
static void keep_fds(struct talos_xport *x, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd = -1;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (x->pending_fd < 0)
                x->pending_fd = fd;
            else
                close(fd);
        }
    }
}

static int sock_read_full(struct talos_xport *x, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(4 * sizeof(int))];
        } ctl;
        struct iovec iov = {b, n};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        ssize_t r = recvmsg(x->fd, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == ECONNRESET ? TALOS_ERR_PEER_CLOSED : TALOS_ERR_IO;
        keep_fds(x, &mh);
        if (r == 0)
            return TALOS_ERR_PEER_CLOSED;
        b += r;
        n -= (size_t)r;
    }
    return TALOS_OK;
}

static int send_with_fd(int sock, const void *p, size_t n, int fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {(void *)(uintptr_t)p, n};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    ssize_t r = -1;

    memset(ctl.buf, 0, sizeof(ctl.buf));
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    do
        r = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EPIPE || errno == ECONNRESET ? TALOS_ERR_PEER_CLOSED : TALOS_ERR_IO;
    /* The descriptor rode on the first byte; finish the rest plainly. */
    return (size_t)r < n ? talos_fd_write_full(sock, (const uint8_t *)p + r, n - (size_t)r)
                         : TALOS_OK;
}

int talos_xport_send_fd(struct talos_xport *x, uint16_t type, int fd, const void *body,
                        size_t len)
{
    uint8_t hdr[TALOS_MSG_HDR] = {0};
    int rc = TALOS_OK;

    if (x->fd < 0)
        return TALOS_ERR_PEER_CLOSED;
    if (len > UINT32_MAX)
        return TALOS_ERR_TOO_LARGE;
    if (x->switchless) {
        if ((rc = send_with_fd(x->fd, "F", 1, fd)) != TALOS_OK)
            return rc;
        return talos_xport_send(x, type, body, len);
    }
    talos_be32_put(hdr, (uint32_t)len);
    hdr[4] = (uint8_t)(type >> 8);
    hdr[5] = (uint8_t)type;
    /* The descriptor rides on the header; the body follows plainly. */
    if ((rc = send_with_fd(x->fd, hdr, sizeof(hdr), fd)) != TALOS_OK || !len)
        return rc;
    return talos_fd_write_full(x->fd, body, len);
}

int talos_xport_take_fd(struct talos_xport *x, int *fd)
{
    uint8_t marker = 0;
    int rc = TALOS_OK;

    *fd = -1;
    if (x->pending_fd < 0 && x->switchless) {
        struct pollfd pfd = {.fd = x->fd, .events = POLLIN};
        if (poll(&pfd, 1, 5000) <= 0)
            return TALOS_ERR_PROTOCOL;
        if ((rc = sock_read_full(x, &marker, 1)) != TALOS_OK)
            return rc;
    }
    if (x->pending_fd < 0)
        return TALOS_ERR_PROTOCOL;
    *fd = x->pending_fd;
    x->pending_fd = -1;
    return TALOS_OK;
}

static int xport_read(struct talos_xport *x, void *p, size_t n)
{
    if (x->switchless)
        return talos_ring_read(&x->rx, p, n, &x->waiter);
    if (x->fd < 0)
        return TALOS_ERR_PEER_CLOSED;
    if (x->recv_timeout_ms > 0) {
        struct pollfd pfd = {.fd = x->fd, .events = POLLIN};
        int r = poll(&pfd, 1, x->recv_timeout_ms);
        if (r == 0)
            return TALOS_ERR_TIMEOUT;
    }
    return sock_read_full(x, p, n);
}

int talos_xport_recv(struct talos_xport *x, uint16_t *type, struct talos_wr *body)
{
    uint8_t hdr[TALOS_MSG_HDR] = {0};
    uint32_t len = 0;
    uint8_t *dst = NULL;
    int rc = xport_read(x, hdr, sizeof(hdr));

    if (rc != TALOS_OK)
        return rc;
    len = talos_be32_get(hdr);
    *type = (uint16_t)(hdr[4] << 8 | hdr[5]);
    if (hdr[6] || hdr[7])
        return TALOS_ERR_MALFORMED;
    if ((rc = talos_msg_check(*type, x->peer, len)) != TALOS_OK)
        return rc;
    talos_wr_reset(body);
    if (len == 0)
        return TALOS_OK;
    dst = talos_wr_space(body, len);
    if (!dst)
        return body->err;
    return xport_read(x, dst, len);
}

void talos_xport_close(struct talos_xport *x)
{
    if (x->rings_mapped) {
        talos_ring_close(&x->tx, &x->waiter);
        munmap(x->shm, x->shm_len);
        x->switchless = 0;
        x->rings_mapped = 0;
        x->shm = NULL;
    }
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    if (x->pending_fd >= 0)
        close(x->pending_fd);
    x->pending_fd = -1;
}
