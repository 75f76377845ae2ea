/* Switchless transport: two single-producer/single-consumer byte rings in one
 * shared-memory region (a memfd mapped by the host and by the TA process).
 * Ring 0 carries host -> TA bytes, ring 1 TA -> host. Each ring is a byte
 * stream like a pipe: a frame larger than the ring passes in pieces.
 *
 * Trust: each side treats the region as written by a hostile peer. The
 * capacity and this side's own index live in private memory (struct
 * talos_ring); every index read from the region is validated before use, so
 * no value the peer writes makes this side touch memory outside the region.
 *
 * Blocking is injected (struct talos_ring_waiter) so core/ stays OS-agnostic:
 * spin, then wait on a 32-bit word in the region; the peer wakes that word
 * only when this side has said it is sleeping. See docs/switchless.md.
 *
 * Region layout (the ABI between a host build and a TA build, version 1):
 *   [0, 4096)             struct talos_ring_hdr (magic, version, cap, 2 ctl)
 *   [4096, 4096+cap)      ring 0 data
 *   [4096+cap, 4096+2cap) ring 1 data
 */
#ifndef TALOS_CORE_RING_H
#define TALOS_CORE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TALOS_RING_MAGIC 0x474e5254u /* "TRNG" little-endian */
#define TALOS_RING_VERSION 1u
#define TALOS_RING_MIN_CAP (4u << 10)
#define TALOS_RING_MAX_CAP (64u << 20)
#define TALOS_RING_HDR_BYTES 4096u
#define TALOS_RING_LINE 64

/* One cache line per side: on the fast path each side writes only its own
 * line (no false sharing); `ev` is bumped by the other side, but only when
 * `sleeping` says this side went to sleep. `idx` is a free-running byte
 * count, wrapping at 2^32. */
struct talos_ring_side {
    _Alignas(TALOS_RING_LINE) _Atomic uint32_t idx; /* reader: head; writer: tail */
    _Atomic uint32_t sleeping;                     /* 1 while this side may be in wait() */
    _Atomic uint32_t ev;                           /* futex word this side sleeps on */
};

struct talos_ring_ctl {
    struct talos_ring_side rd; /* written by the consumer */
    struct talos_ring_side wr; /* written by the producer */
    _Alignas(TALOS_RING_LINE) _Atomic uint32_t closed; /* nonzero: no more bytes */
};

struct talos_ring_hdr {
    _Alignas(TALOS_RING_LINE) _Atomic uint32_t magic;
    _Atomic uint32_t version;
    _Atomic uint32_t cap;
    struct talos_ring_ctl ring[2];
};

/* Local, private view of one ring. Filled by talos_ring_attach(); the fields
 * are copies taken once at attach time and never re-read from the region. */
struct talos_ring {
    struct talos_ring_ctl *ctl;
    uint8_t *data;
    uint32_t cap, mask;
    uint32_t pos; /* own index (tail when tx, head when rx), authoritative */
    int is_tx;
};

/* How to block. wait(ctx, addr, expected) sleeps while *addr == expected
 * (checked atomically with going to sleep, as a futex does) and may return
 * early or spuriously: TALOS_OK (or any value >= 0) means "re-check", a
 * negative talos_err (e.g. TALOS_ERR_TIMEOUT, TALOS_ERR_PEER_CLOSED) aborts
 * the ring operation with that code. wake(ctx, addr) wakes sleepers on addr.
 * addr is a side's `ev` word in the shared region (not an index, so close
 * can wake a sleeper too): both must work across processes (no
 * FUTEX_PRIVATE_FLAG). spin is the number of polls before sleeping (0:
 * sleep at once). The same waiter may serve both rings of one thread. */
struct talos_ring_waiter {
    int (*wait)(void *ctx, _Atomic uint32_t *addr, uint32_t expected);
    void (*wake)(void *ctx, _Atomic uint32_t *addr);
    void *ctx;
    uint32_t spin;
};

/* Bytes of shared memory for the pair of rings with capacity cap each;
 * 0 when cap is not a power of two in [TALOS_RING_MIN_CAP, TALOS_RING_MAX_CAP]. */
size_t talos_ring_shm_size(uint32_t cap);

/* Host side: format the region (both rings empty, open). shm must be 64-byte
 * aligned, shm_len >= talos_ring_shm_size(cap), and no process may use the
 * region yet. TALOS_ERR_INVALID_ARG otherwise. */
int talos_ring_pair_init(void *shm, size_t shm_len, uint32_t cap)
    __attribute__((warn_unused_result));

/* Either side: validate the region and fill the local views. Host: tx = ring
 * 0, rx = ring 1; TA: the reverse. TALOS_ERR_MALFORMED when the magic or
 * version is wrong, cap is not a valid power of two, or shm_len is smaller
 * than talos_ring_shm_size(cap) (a larger region is accepted; the tail is
 * unused). TALOS_ERR_INVALID_ARG on NULL or a misaligned shm. */
int talos_ring_attach(struct talos_ring *tx, struct talos_ring *rx, void *shm, size_t shm_len,
                      int is_host) __attribute__((warn_unused_result));

/* Append all n bytes of p to tx ring r, blocking while the ring is full.
 * Returns TALOS_OK; TALOS_ERR_PEER_CLOSED when the ring is closed;
 * TALOS_ERR_PROTOCOL when the peer corrupted the indices; a negative code
 * from w->wait. On failure a prefix of p may already be in the ring: the
 * stream is then out of frame and the caller must close the ring. */
int talos_ring_write(struct talos_ring *r, const void *p, size_t n,
                     const struct talos_ring_waiter *w) __attribute__((warn_unused_result));

/* Read exactly n bytes from rx ring r into p, blocking while the ring is
 * empty. Bytes are copied out of the shared region once; the caller decodes
 * only p. Returns TALOS_OK; TALOS_ERR_PEER_CLOSED when the ring is closed
 * and drained before n bytes arrived; TALOS_ERR_PROTOCOL on corrupted
 * indices; a negative code from w->wait. On failure p holds an unspecified
 * prefix and the stream is out of frame, as for talos_ring_write(). */
int talos_ring_read(struct talos_ring *r, void *p, size_t n, const struct talos_ring_waiter *w)
    __attribute__((warn_unused_result));

/* Mark ring r closed (either end may) and wake any sleeper on it. Bytes
 * already in the ring can still be read; writes then fail with
 * TALOS_ERR_PEER_CLOSED. With w NULL the flag is set but nobody is woken (a
 * sleeper notices when its wait times out). Idempotent. */
void talos_ring_close(struct talos_ring *r, const struct talos_ring_waiter *w);

#endif
