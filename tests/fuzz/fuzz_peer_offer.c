/* The node-to-node preamble (node/talosd/peerproto.c): peer_recv_offer (what
 * a target node reads from an authenticated peer) and peer_recv_answer
 * (what a source node reads back), each reading the fuzzed bytes from a
 * socketpair whose other end then closes (a plain link: the decoders are
 * the same over TLS). And peer_data_ticket, what a target node reads from
 * ANY connection that says it is a data connection.
 *
 * Input: the bytes a peer sends. Checked: an accepted OFFER has a size in
 * (0, PEER_IMAGE_MAX] and a mode 0 or 1, and peer_send_offer writes back
 * exactly the frame read; an accepted ANSWER has a talos_err status, a
 * NUL-terminated message and a ticket of 0 or 32 bytes, and peer_send_answer writes back exactly the
 * frame read. The same bytes also go to peer_recv_request (OFFER or the
 * RESEND of a handover after a lost channel) and peer_recv_verdict (its
 * answer): token lengths bounded, messages NUL-terminated. A refusal is a
 * talos_err. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/talosd/peerproto.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

#define STREAM_MAX (16u << 10)

/* A socketpair holding the input, its write side closed; -1 on failure. */
static int feed(const uint8_t *data, size_t size)
{
    int sv[2] = {-1, -1};

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    if (size && write(sv[1], data, size) != (ssize_t)size) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    return sv[0];
}

/* What peer_send_* wrote for the decoded message, into out; its length. */
static size_t resend(int which, const struct peer_offer *o, const struct peer_answer *a,
                     uint8_t *out, size_t cap)
{
    int sv[2] = {-1, -1};
    size_t n = 0;
    ssize_t k;

    struct peer_link l;

    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    peer_link_plain(&l, sv[1]);
    if (which == 0)
        FUZZ_CHECK(peer_send_offer(&l, o) == TALOS_OK);
    else
        FUZZ_CHECK(peer_send_answer(&l, a->status, a->need_image, a->message,
                                    a->ticket_len ? a->ticket : NULL) == TALOS_OK);
    close(sv[1]);
    while (n < cap && (k = read(sv[0], out + n, cap - n)) > 0)
        n += (size_t)k;
    close(sv[0]);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t again[PEER_MSG_MAX + 8];
    struct peer_offer o;
    struct peer_answer a;
    struct peer_link l;
    uint8_t ticket[PEER_TICKET_BYTES];
    int fd, rc;

    if (size > STREAM_MAX)
        return 0;
    if (size >= PEER_DATA_HELLO_BYTES && peer_data_ticket(data, ticket) == TALOS_OK)
        FUZZ_CHECK(memcmp(data, PEER_MAGIC_DATA, sizeof(PEER_MAGIC_DATA)) == 0 &&
                   memcmp(ticket, data + sizeof(PEER_MAGIC_DATA), PEER_TICKET_BYTES) == 0);

    if ((fd = feed(data, size)) < 0)
        return 0;
    memset(&o, 0xa5, sizeof(o));
    peer_link_plain(&l, fd);
    rc = peer_recv_offer(&l, &o);
    close(fd);
    FUZZ_CHECK(rc <= 0 && rc >= TALOS_ERR_MIN);
    if (rc == TALOS_OK) {
        size_t frame = 4 + (size_t)fuzz_be32(data);
        FUZZ_CHECK(o.image_size > 0 && o.image_size <= PEER_IMAGE_MAX && o.mode <= 1);
        FUZZ_CHECK(frame <= size && resend(0, &o, NULL, again, sizeof(again)) == frame);
        FUZZ_CHECK(memcmp(again, data, frame) == 0);
    }

    if ((fd = feed(data, size)) < 0)
        return 0;
    memset(&a, 0xa5, sizeof(a));
    peer_link_plain(&l, fd);
    rc = peer_recv_answer(&l, &a);
    close(fd);
    FUZZ_CHECK(rc <= 0 && rc >= TALOS_ERR_MIN);
    if (rc == TALOS_OK) {
        size_t frame = 4 + (size_t)fuzz_be32(data);
        FUZZ_CHECK(a.status <= 0 && a.status >= TALOS_ERR_MIN && a.need_image == data[8]);
        FUZZ_CHECK(memchr(a.message, '\0', sizeof(a.message)) != NULL);
        FUZZ_CHECK(a.ticket_len == 0 || a.ticket_len == PEER_TICKET_BYTES);
        FUZZ_CHECK(frame <= size && resend(1, NULL, &a, again, sizeof(again)) == frame);
        FUZZ_CHECK(memcmp(again, data, frame) == 0);
    }

    /* The first message of any connection (OFFER or RESEND) and the
     * VERDICT a source's node reads back (handoff.h): bounded, no crash. */
    struct peer_resend q;
    struct peer_verdict v;
    int kind = 0;
    if ((fd = feed(data, size)) < 0)
        return 0;
    memset(&q, 0xa5, sizeof(q));
    peer_link_plain(&l, fd);
    rc = peer_recv_request(&l, &kind, &o, &q);
    close(fd);
    FUZZ_CHECK(rc <= 0 && rc >= TALOS_ERR_MIN);
    if (rc == TALOS_OK && kind == PEER_REQ_RESEND)
        FUZZ_CHECK(q.token_len <= sizeof(q.token));
    if ((fd = feed(data, size)) < 0)
        return 0;
    memset(&v, 0xa5, sizeof(v));
    peer_link_plain(&l, fd);
    rc = peer_recv_verdict(&l, &v);
    close(fd);
    FUZZ_CHECK(rc <= 0 && rc >= TALOS_ERR_MIN);
    if (rc == TALOS_OK) {
        FUZZ_CHECK(v.status <= 0 && v.status >= TALOS_ERR_MIN && v.token_len <= sizeof(v.token));
        FUZZ_CHECK(memchr(v.message, '\0', sizeof(v.message)) != NULL);
    }
    return 0;
}
