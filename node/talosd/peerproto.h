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
 * here: the source TA checks the target's measurement itself. */
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

struct peer_answer {
    int32_t status;
    uint8_t need_image;
    char message[256];
};

int peer_send_offer(int fd, const struct peer_offer *o);
int peer_recv_offer(int fd, struct peer_offer *o);
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
