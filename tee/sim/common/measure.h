/* The sim measurement rule, shared by the host (an image file) and the TA
 * (its own memory) so that both compute the same value (docs/measurement.md).
 *
 * measurement = SHA-256("talos-measure-v1" ‖ for each PT_LOAD segment
 * without PF_W, in program-header order:
 *     u64 BE p_vaddr ‖ u64 BE p_memsz ‖ u32 BE p_flags ‖
 *     the p_filesz content bytes ‖ (p_memsz − p_filesz) zero bytes)
 */
#ifndef TALOS_TEE_SIM_MEASURE_H
#define TALOS_TEE_SIM_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "talos/talos.h"

/* A segment larger than this in memory is refused (TALOS_ERR_IMAGE): a hostile
 * header must not make the measurer hash terabytes of zeros. */
#define TALOS_SIM_SEGMENT_MAX (1ULL << 30)
/* More PT_LOAD headers than this: not a TA image (TALOS_ERR_IMAGE). */
#define TALOS_SIM_MAX_SEGMENTS 64

/* One PT_LOAD program header and where its file bytes are. */
struct talos_sim_segment {
    uint64_t vaddr;         /* p_vaddr as linked (no load bias) */
    uint64_t memsz;         /* p_memsz */
    uint64_t filesz;        /* p_filesz; content holds this many bytes */
    uint32_t flags;         /* p_flags (PF_R/PF_W/PF_X) */
    const uint8_t *content; /* the segment's file bytes, in a file or in memory */
};

/* Measure a list of PT_LOAD segments (writable ones are skipped here, so
 * callers pass every PT_LOAD). TALOS_ERR_IMAGE when n > TALOS_SIM_MAX_SEGMENTS,
 * filesz > memsz, a segment exceeds TALOS_SIM_SEGMENT_MAX, or no segment is
 * measured at all;
 * TALOS_ERR_CRYPTO when hashing fails. out is zeroed on failure. */
int talos_sim_measure_segments(const struct talos_sim_segment *segs, size_t n,
                               uint8_t out[TALOS_MEASUREMENT_BYTES]);

/* Enclave side: measure the running main executable from its program
 * headers (dl_iterate_phdr, first entry; content at load bias + p_vaddr). */
int talos_sim_measure_self(uint8_t out[TALOS_MEASUREMENT_BYTES]);

/* The code digest: BLAKE3 (unkeyed, 32 bytes) over the same byte stream as
 * the measurement. Not a measurement: nothing outside the TA sees it; the
 * enclave keeps one from launch to check later that its code is unchanged
 * at BLAKE3's speed (tee/sim/enclave/enclave.c, D42). */
#define TALOS_SIM_CODE_DIGEST_BYTES 32

/* talos_sim_measure_segments and talos_sim_measure_self computing the
 * measurement (sha), the code digest (b3), or both (either may be NULL,
 * not both: TALOS_ERR_INVALID_ARG). With both, every byte is read once
 * into a private buffer and both digests are taken from that copy, so they
 * cover the same bytes even if memory changes during the pass. Same
 * errors; TALOS_ERR_NOMEM; on failure the outputs are zeroed. */
int talos_sim_digest_segments(const struct talos_sim_segment *segs, size_t n,
                              uint8_t sha[TALOS_MEASUREMENT_BYTES],
                              uint8_t b3[TALOS_SIM_CODE_DIGEST_BYTES]);
int talos_sim_digest_self(uint8_t sha[TALOS_MEASUREMENT_BYTES],
                          uint8_t b3[TALOS_SIM_CODE_DIGEST_BYTES]);

/* Host side (measure_file.c): measure an ELF image file. TALOS_ERR_IMAGE when
 * it is not a 64-bit ET_EXEC/ET_DYN ELF file whose program headers and
 * segments lie inside the file; TALOS_ERR_IO when it cannot be read. */
int talos_sim_measure_file(const char *path, uint8_t out[TALOS_MEASUREMENT_BYTES]);

#endif
