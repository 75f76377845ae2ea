/* The node-to-node requests (docs/node-security.md). Each travels on an
 * authenticated link (peerlink.h: TLS 1.3, both nodes certified by a
 * configured CA); a node still believes nothing a peer says about a TA:
 * the source TA checks the target's measurement itself.
 *
 * A migration's preamble gets a virgin target started with the right image:
 *
 *   A -> B  OFFER  magic "TALOSP2\0" ‖ lineage[16] ‖ image sha256[32] ‖ u64 image size ‖ u8 mode
 *                  ‖ bytes signature (0 or 64: the image's, talos sign)
 *   B -> A  ANSWER i32 status ‖ u8 need_image ‖ str message ‖ bytes ticket
 *   A -> B  (need_image) the image bytes
 *   B -> A  ANSWER (image stored or refused)
 *   B -> A  ANSWER (target started; ticket: 32 bytes) or a refusal
 *   A -> B  a second TCP connection to the same port: DATA magic "TALOSD2\0" ‖ ticket[32];
 *           from its next byte on it is the two TAs' TLS channel, which nodes never read
 *
 * The ticket is random, one-time, and was only ever sent on the
 * authenticated link: the data connection is admitted as that peer's. The
 * state stream is then encrypted once, by the TAs, not again by the nodes.
 *
 * Messages on the link are u32 length-prefixed (<= 4 KiB).
 *
 * The other request a node may open a link with: a HANDOFF resent by
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

#include "core/sign.h"
#include "node/talosd/peerlink.h"
#include "talos/abi.h"

#define PEER_MAGIC "TALOSP2"
#define PEER_MAGIC_DATA "TALOSD2"
#define PEER_TICKET_BYTES 32
#define PEER_DATA_HELLO_BYTES (sizeof(PEER_MAGIC_DATA) + PEER_TICKET_BYTES)
#define PEER_MSG_MAX 4096
#define PEER_IMAGE_MAX (512u << 20)
#define PEER_TIMEOUT_S 30

struct peer_offer {
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint8_t image_sha[TALOS_SHA256_BYTES];
    uint64_t image_size;
    uint8_t mode;
    uint8_t sig[TALOS_IMAGE_SIG_BYTES]; /* the image's signature, if sig_len is 64 */
    size_t sig_len;  /* 0 or 64 */
};

#define PEER_MAGIC_RESEND "TALOSH1"
#define PEER_TOKEN_MAX 160 /* TALOS_TOKEN_MAX */

enum peer_req_kind { PEER_REQ_OFFER = 1, PEER_REQ_RESEND = 2 };

struct peer_resend {
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint8_t session[TALOS_SESSION_BYTES];
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
    uint8_t ticket[PEER_TICKET_BYTES]; /* the data connection's admission (target ready) */
    size_t ticket_len;                 /* 0 or PEER_TICKET_BYTES */
};

int peer_send_offer(struct peer_link *l, const struct peer_offer *o);
int peer_recv_offer(struct peer_link *l, struct peer_offer *o);
/* The first message of a link: an OFFER (*kind PEER_REQ_OFFER, o
 * filled) or a RESEND (PEER_REQ_RESEND, q filled). */
int peer_recv_request(struct peer_link *l, int *kind, struct peer_offer *o, struct peer_resend *q);
int peer_send_resend(struct peer_link *l, const struct peer_resend *q);
int peer_send_verdict(struct peer_link *l, const struct peer_verdict *v);
int peer_recv_verdict(struct peer_link *l, struct peer_verdict *v);
/* ticket NULL: none (every answer but "target ready"). */
int peer_send_answer(struct peer_link *l, int32_t status, uint8_t need_image, const char *message,
                     const uint8_t ticket[PEER_TICKET_BYTES]);
int peer_recv_answer(struct peer_link *l, struct peer_answer *a);
/* The first bytes of a data connection (exactly PEER_DATA_HELLO_BYTES). */
void peer_data_hello(uint8_t out[PEER_DATA_HELLO_BYTES], const uint8_t ticket[PEER_TICKET_BYTES]);
/* Its ticket, if buf is a DATA hello; TALOS_ERR_PROTOCOL otherwise. */
int peer_data_ticket(const uint8_t buf[PEER_DATA_HELLO_BYTES], uint8_t ticket[PEER_TICKET_BYTES]);
/* Close after a refusal without destroying it: read what the peer still
 * sends (an image we refused, say) until it closes or stays quiet for a
 * moment, then close. Closing with unread input sends RST, and an RST makes
 * the peer's kernel drop our answer before the peer reads it. */
void peer_close(struct peer_link *l);

/* Bounded socket timeouts for the preamble. */
void peer_set_timeouts(int fd, int seconds);

#endif
