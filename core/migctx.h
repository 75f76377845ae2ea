/* Thread contexts of a migration (docs/cfg.md, "Execution-flow checks"):
 * the THREADS record the source sends after MANIFEST, one context per
 * thread, each checked by the target against its CFG before PREPARED.
 *
 * Body (core/wire.h, big-endian):
 *   u32 n_threads (1 .. TALOS_MIG_MAX_THREADS)
 *   per thread: u64 resume ‖ u32 n_ret (0 .. TALOS_MIG_MAX_FRAMES) ‖ n_ret × u64 ret
 * resume is the migration point the thread stopped at; ret[] are the return
 * addresses of its stack frames, innermost first, up to the runtime entry.
 * Trusted code; no OS dependency. One decoder, fuzzed (fuzz_mig_records). */
#ifndef TALOS_CORE_MIGCTX_H
#define TALOS_CORE_MIGCTX_H

#include <stddef.h>
#include <stdint.h>

#define TALOS_MIG_MAX_THREADS 16
#define TALOS_MIG_MAX_FRAMES 64
#define TALOS_MIG_THREADS_MIN (4 + 12)
#define TALOS_MIG_THREADS_MAX (4 + TALOS_MIG_MAX_THREADS * (12 + 8 * TALOS_MIG_MAX_FRAMES))

struct talos_mig_thread {
    uint64_t resume;
    uint32_t n_ret;
    uint64_t ret[TALOS_MIG_MAX_FRAMES];
};

struct talos_mig_threads {
    uint32_t n;
    struct talos_mig_thread t[TALOS_MIG_MAX_THREADS];
};

struct talos_wr;

/* Append the body to w (w->err set on failure; TALOS_ERR_INVALID_ARG for
 * counts out of range, nothing appended then). */
int talos_mig_threads_encode(const struct talos_mig_threads *in, struct talos_wr *w);

/* Decode exactly len bytes: TALOS_OK, or TALOS_ERR_MALFORMED (counts out of
 * range, short or trailing bytes; *out zeroed). */
int talos_mig_threads_decode(const uint8_t *p, size_t len, struct talos_mig_threads *out);

#endif
