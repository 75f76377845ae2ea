/* Boundary frames between a host and its TA: core/msg.c (talos_msg_check,
 * the per-type table) and os/xport.c (talos_xport_recv, which reads the
 * 8-byte header, checks it, then copies the body once).
 *
 * Input: u8 receiver (bit 0: 0 = the TA receives host frames, 1 = the host
 * receives TA frames) ‖ a byte stream of frames, fed through a socketpair
 * to talos_xport_recv until it refuses or the stream ends. Checked: the
 * direct talos_msg_check of the first header agrees with the table; every
 * accepted frame has a known type the sender may send, flags 0, a body
 * within the table's bounds, and exactly the bytes of the stream. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/msg.h"
#include "os/xport.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

#define STREAM_MAX (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct talos_xport x;
    struct talos_wr body;
    uint8_t from = 0;
    const uint8_t *s = NULL;
    size_t n = 0, pos = 0;
    int sv[2] = {-1, -1};

    if (size < 1 || size - 1 > STREAM_MAX)
        return 0;
    from = (data[0] & 1) ? TALOS_MSG_FROM_TA : TALOS_MSG_FROM_HOST;
    s = data + 1;
    n = size - 1;

    if (n >= TALOS_MSG_HDR) {
        uint32_t len = fuzz_be32(s);
        uint16_t type = (uint16_t)(s[4] << 8 | s[5]);
        const struct talos_msg_desc *d = talos_msg_find(type);
        int rc = talos_msg_check(type, from, len);
        FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_PROTOCOL || rc == TALOS_ERR_TOO_LARGE ||
                   rc == TALOS_ERR_MALFORMED);
        FUZZ_CHECK((rc == TALOS_ERR_PROTOCOL) == (!d || d->from != from));
        if (rc == TALOS_OK)
            FUZZ_CHECK(d->type == type && d->min_len <= len && len <= d->max_len);
    }

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    /* The whole stream fits the socket buffer; then the sender goes away. */
    int sndbuf = (int)(2 * STREAM_MAX);
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (n && write(sv[1], s, n) != (ssize_t)n) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    close(sv[1]);
    talos_xport_init(&x, sv[0], from);
    talos_wr_init(&body, 0);
    for (int i = 0; i < 64; i++) {
        uint16_t type = 0;
        int rc = talos_xport_recv(&x, &type, &body);
        if (rc != TALOS_OK) {
            FUZZ_CHECK(rc < 0);
            break;
        }
        const struct talos_msg_desc *d = talos_msg_find(type);
        FUZZ_CHECK(pos + TALOS_MSG_HDR <= n);
        FUZZ_CHECK(d && d->from == from && s[pos + 6] == 0 && s[pos + 7] == 0);
        FUZZ_CHECK(body.len == fuzz_be32(s + pos) && body.len >= d->min_len &&
                   body.len <= d->max_len);
        pos += TALOS_MSG_HDR;
        FUZZ_CHECK(pos + body.len <= n);
        FUZZ_CHECK(body.len == 0 || memcmp(body.p, s + pos, body.len) == 0);
        pos += body.len;
    }
    talos_wr_free(&body);
    talos_xport_close(&x);
    return 0;
}
