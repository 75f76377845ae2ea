/* The node-to-node preamble of a migration (untrusted, plaintext). It only
 * gets a virgin target started with the right image; everything after it on
 * the same TCP stream is the two TAs' TLS channel, which nodes never read.
 *
 *   A -> B  OFFER  magic "TALOSP1\0" ‖ lineage[16] ‖ image sha256[32] ‖ u64 image size ‖ u8 mode
 *   B -> A  ANSWER i32 status ‖ u8 need_image ‖ str message
 *   A -> B  (need_image) the image bytes
 *   B -> A  ANSWER (image stored or refused)
 *   B -> A  ANSWER (target started: the TLS channel begins) or a refusal
 *
 * Messages are u32 length-prefixed (<= 4 KiB). A node believes nothing
 * here: the source TA checks the target's measurement itself.
 *
 * The other request a node may open a connection with: a HANDOFF resent by
 * the source's node after the migration channel broke (docs/migration.md,
 * "Resend"). One request, one answer, then close:
 *
 *   A -> B  RESEND  magic "TALOSH1\0" ‖ lineage[16] ‖ session[16] ‖ bytes token
 *   B -> A  VERDICT i32 status ‖ u8 kind(0, RECEIPT 9, ABORT 10) ‖ bytes token ‖ str message
 *
 * Tokens are MAC'd inside the TAs: a node can carry, drop or delay one,
 * never forge one, so neither side believes the other node's status: the
 * TAs check the tokens. */
#ifndef TALOS_TALOSD_PEERPROTO_H
#define TALOS_TALOSD_PEERPROTO_H

#include <stddef.h>
#include <stdint.h>

#define PEER_MAGIC "TALOSP1"
#define PEER_MSG_MAX 4096
#define PEER_IMAGE_MAX (512u << 20)
#define PEER_TIMEOUT_S 30

struct peer_offer {
    uint8_t lineage[16];
    uint8_t image_sha[32];
    uint64_t image_size;
    uint8_t mode;
};

#define PEER_MAGIC_RESEND "TALOSH1"
#define PEER_TOKEN_MAX 160 /* TALOS_TOKEN_MAX */

enum peer_req_kind { PEER_REQ_OFFER = 1, PEER_REQ_RESEND = 2 };

struct peer_resend {
    uint8_t lineage[16];
    uint8_t session[16];
    uint8_t token[PEER_TOKEN_MAX];
    size_t token_len;
};

struct peer_verdict {
    int32_t status;
    uint8_t kind;
    uint8_t token[PEER_TOKEN_MAX];
    size_t token_len;
    char message[256];
};

struct peer_answer {
    int32_t status;
    uint8_t need_image;
    char message[256];
};

int peer_send_offer(int fd, const struct peer_offer *o);
int peer_recv_offer(int fd, struct peer_offer *o);
/* The first message of a connection: an OFFER (*kind PEER_REQ_OFFER, o
 * filled) or a RESEND (PEER_REQ_RESEND, q filled). */
int peer_recv_request(int fd, int *kind, struct peer_offer *o, struct peer_resend *q);
int peer_send_resend(int fd, const struct peer_resend *q);
int peer_send_verdict(int fd, const struct peer_verdict *v);
int peer_recv_verdict(int fd, struct peer_verdict *v);
int peer_send_answer(int fd, int32_t status, uint8_t need_image, const char *message);
int peer_recv_answer(int fd, struct peer_answer *a);
/* Close after a refusal without destroying it: half-close, then read what
 * the peer still sends (an image we refused, say) until it closes or stays
 * quiet for a moment. Closing with unread input sends RST, and an RST makes
 * the peer's kernel drop our answer before the peer reads it. */
void peer_close(int fd);

/* Bounded socket timeouts for the preamble. */
void peer_set_timeouts(int fd, int seconds);

#endif
