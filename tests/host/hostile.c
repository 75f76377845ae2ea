/* A hostile host's answers to ocalls (SECURITY.md T25). Linked only into the
 * test binary build/tests/talosd-hostile, whose node/host/ta.c is compiled
 * with -DTALOS_HOSTILE_HOST; the talosd that `make install` ships has none
 * of this code. A TA that calls the ocall "hostile.MODE" gets the answer
 * MODE names instead of a well-formed one:
 *
 *   oversize       OK with 4096 bytes (more than any victim capacity asked)
 *   badlen         OK whose byte-string length runs past the frame's end
 *   trailing       OK whose byte-string length stops short of the frame's end
 *   status_pos     a positive status (no talos_err)
 *   status_low     a status below TALOS_ERR_MIN
 *   wrongtype      a well-formed answer in a HOST_RET frame instead of OCALL_RET
 *   hdr_too_large  a frame header announcing TALOS_MSG_MAX + 1 bytes (no body)
 *   pointer        OK with 8 bytes: the address of the TA's first arena
 *                  block (where the victim keeps its secret), little-endian
 *   flip           OK "original"; in switchless mode, once the TA has taken
 *                  the frame off the ring, the ring slot is rewritten with
 *                  an answer "REWRITE!" of the same length (a TA that read
 *                  the slot twice would see it)
 *   race           OK with 32 bytes 'R'; in switchless mode the answer's
 *                  length field in the ring slot is flipped between its real
 *                  value and 0xffffffff while the TA reads it, and for a
 *                  while after (the TA must copy once, then validate)
 *
 * Platform requests (HOST_REQ) are not named by the TA, so an ocall arms the
 * host for that TA's next one: "hostile.arm_seal_short", "..._long",
 * "..._status" make the next SEAL_KEY answer 16 bytes, 64 bytes, or a
 * positive status instead of the 32-byte key (the arming ocall itself
 * answers OK, empty).
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/msg.h"
#include "core/wire.h"
#include "node/host/host.h"
#include "ta/arena.h"

#define FLIP_WAIT_NS (5ull * 1000 * 1000 * 1000)
#define RACE_AFTER 20000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Bytes straight onto the boundary, frame or not. */
static int send_raw(struct talos_ta *ta, const void *p, size_t n)
{
    if (ta->x.switchless)
        return talos_ring_write(&ta->x.tx, p, n, &ta->x.waiter);
    return talos_fd_write_full(ta->x.fd, p, n);
}

/* A frame whose body is u32 status ‖ u32 len ‖ n bytes (len may lie). */
static int send_ret(struct talos_ta *ta, uint16_t type, uint32_t status, uint32_t len,
                    const void *p, size_t n)
{
    uint8_t body[16 + 4096];
    if (n > sizeof(body) - 8)
        return TALOS_ERR_TOO_LARGE;
    talos_be32_put(body, status);
    talos_be32_put(body + 4, len);
    if (n)
        memcpy(body + 8, p, n);
    return talos_xport_send(&ta->x, type, body, 8 + n);
}

/* The ring slot of the last `n` bytes sent (switchless): byte i of them. */
static volatile uint8_t *slot(struct talos_ta *ta, size_t n, size_t i)
{
    struct talos_ring *r = &ta->x.tx;
    return (volatile uint8_t *)&r->data[(r->pos - (uint32_t)n + (uint32_t)i) & r->mask];
}

static int consumed(struct talos_ta *ta)
{
    return atomic_load_explicit(&ta->x.tx.ctl->rd.idx, memory_order_acquire) == ta->x.tx.pos;
}

static int h_flip(struct talos_ta *ta)
{
    static const char orig[] = "original", again[] = "REWRITE!";
    size_t frame = TALOS_MSG_HDR + 8 + sizeof(orig) - 1;
    uint64_t t0 = 0;
    int rc = send_ret(ta, TALOS_MSG_OCALL_RET, 0, sizeof(orig) - 1, orig, sizeof(orig) - 1);

    if (rc != TALOS_OK || !ta->x.switchless)
        return rc;
    /* The TA has copied the frame out when its head reaches our tail. */
    for (t0 = now_ns(); !consumed(ta);)
        if (now_ns() - t0 > FLIP_WAIT_NS)
            return TALOS_OK;
    for (size_t i = 0; i < sizeof(again) - 1; i++)
        *slot(ta, frame, TALOS_MSG_HDR + 8 + i) = (uint8_t)again[i];
    return TALOS_OK;
}

static int h_race(struct talos_ta *ta)
{
    uint8_t val[32];
    size_t frame = TALOS_MSG_HDR + 8 + sizeof(val);
    uint64_t t0 = 0;
    int rc = TALOS_OK;

    memset(val, 'R', sizeof(val));
    if ((rc = send_ret(ta, TALOS_MSG_OCALL_RET, 0, sizeof(val), val, sizeof(val))) != TALOS_OK ||
        !ta->x.switchless)
        return rc;
    /* The length field is bytes 4..7 of the body: 00 00 00 20 <-> ff ff ff ff. */
    t0 = now_ns();
    for (unsigned i = 0, after = 0; after < RACE_AFTER && now_ns() - t0 < FLIP_WAIT_NS; i++) {
        uint8_t b = (i & 1) ? 0xff : 0;
        for (size_t k = 0; k < 3; k++)
            *slot(ta, frame, TALOS_MSG_HDR + 4 + k) = b;
        *slot(ta, frame, TALOS_MSG_HDR + 7) = (i & 1) ? 0xff : (uint8_t)sizeof(val);
        if (consumed(ta))
            after++;
    }
    return TALOS_OK;
}

/* The TA whose next SEAL_KEY request is answered the hostile way, and how. */
static const struct talos_ta *armed_ta;
static char armed[16];

int talos_hostile_host_req(struct talos_ta *ta, uint16_t type, int *rc)
{
    static const uint8_t junk[64] = {1, 2, 3};

    if (ta != armed_ta || type != TALOS_HOST_REQ_SEAL_KEY)
        return 0;
    armed_ta = NULL;
    if (strcmp(armed, "short") == 0)
        *rc = send_ret(ta, TALOS_MSG_HOST_RET, 0, 16, junk, 16);
    else if (strcmp(armed, "long") == 0)
        *rc = send_ret(ta, TALOS_MSG_HOST_RET, 0, sizeof(junk), junk, sizeof(junk));
    else
        *rc = send_ret(ta, TALOS_MSG_HOST_RET, 7, 32, junk, 32);
    return 1;
}

int talos_hostile_ocall(struct talos_ta *ta, const char *mode)
{
    static uint8_t big[4096];
    uint8_t hdr[TALOS_MSG_HDR] = {0}, addr[8];
    uint64_t a = TALOS_ARENA_BASE + TALOS_ARENA_FIRST_CHUNK + 16;

    if (strcmp(mode, "oversize") == 0) {
        memset(big, 'X', sizeof(big));
        return send_ret(ta, TALOS_MSG_OCALL_RET, 0, sizeof(big), big, sizeof(big));
    }
    if (strcmp(mode, "badlen") == 0)
        return send_ret(ta, TALOS_MSG_OCALL_RET, 0, 0xfffffff0u, "abcd", 4);
    if (strcmp(mode, "trailing") == 0)
        return send_ret(ta, TALOS_MSG_OCALL_RET, 0, 2, "abcdefgh", 8);
    if (strcmp(mode, "status_pos") == 0)
        return send_ret(ta, TALOS_MSG_OCALL_RET, 5, 1, "x", 1);
    if (strcmp(mode, "status_low") == 0)
        return send_ret(ta, TALOS_MSG_OCALL_RET, (uint32_t)-1000, 0, NULL, 0);
    if (strcmp(mode, "wrongtype") == 0)
        return send_ret(ta, TALOS_MSG_HOST_RET, 0, 1, "x", 1);
    if (strcmp(mode, "hdr_too_large") == 0) {
        talos_be32_put(hdr, TALOS_MSG_MAX + 1);
        hdr[5] = TALOS_MSG_OCALL_RET;
        return send_raw(ta, hdr, sizeof(hdr));
    }
    if (strcmp(mode, "pointer") == 0) {
        for (int i = 0; i < 8; i++)
            addr[i] = (uint8_t)(a >> (8 * i));
        return send_ret(ta, TALOS_MSG_OCALL_RET, 0, sizeof(addr), addr, sizeof(addr));
    }
    if (strcmp(mode, "flip") == 0)
        return h_flip(ta);
    if (strcmp(mode, "race") == 0)
        return h_race(ta);
    if (strncmp(mode, "arm_seal_", 9) == 0 && strlen(mode + 9) < sizeof(armed)) {
        armed_ta = ta;
        strcpy(armed, mode + 9);
        return send_ret(ta, TALOS_MSG_OCALL_RET, 0, 0, NULL, 0);
    }
    return send_ret(ta, TALOS_MSG_OCALL_RET, (uint32_t)TALOS_ERR_NOT_IMPLEMENTED, 0, NULL, 0);
}
