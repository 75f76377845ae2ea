/* The measurement rule over abstract segments, and the TA's view of itself.
 * See measure.h for the rule and docs/measurement.md for why it is so. */
#include "tee/sim/common/measure.h"

#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "talos/err.h"

#define MEASURE_TAG "talos-measure-v1"
#define MEASURE_TAG_LEN 16

static const uint8_t zero_page[4096];

/* Where the measured byte stream goes: SHA-256, BLAKE3, or both. With both,
 * each piece of a segment's content is copied once into `copy` and both
 * hashes read the copy, so that they cover the same bytes even if the
 * memory under them changes meanwhile (enclave.c relies on it). */
struct sink {
    struct talos_sha256_ctx *sha;
    blake3_hasher *b3;
    uint8_t *copy; /* COPY_BYTES, when both (or in an ASan build) */
};

#define COPY_BYTES (64u * 1024u)

/* ASan puts redzones between globals, inside the measured read-only
 * segment: an instrumented read across the whole segment (memcpy's
 * interceptor, BLAKE3's memcpy of a partial block) stops a sanitizer
 * build, where OpenSSL's uninstrumented SHA-256 never did. The measurement
 * reads the segment as bytes, not as C objects: in those builds the copy
 * is an uninstrumented loop (volatile stores: it cannot become a memcpy
 * call) and BLAKE3 always hashes from the copy. */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifndef ASAN_BUILD
#define ASAN_BUILD 0
#endif

#if ASAN_BUILD
__attribute__((no_sanitize_address)) static void copy_bytes(uint8_t *dst, const uint8_t *src,
                                                            size_t n)
{
    volatile uint8_t *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = src[i];
}
#else
static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n) { memcpy(dst, src, n); }
#endif

static void sink_add(struct sink *s, const uint8_t *p, size_t n)
{
    while (n) {
        size_t k = s->copy && n > COPY_BYTES ? COPY_BYTES : n;
        const uint8_t *q = p;
        if (s->copy) {
            copy_bytes(s->copy, p, k);
            q = s->copy;
        }
        if (s->sha)
            talos_sha256_add(s->sha, q, k);
        if (s->b3)
            blake3_hasher_update(s->b3, q, k);
        p += k;
        n -= k;
    }
}

int talos_sim_digest_segments(const struct talos_sim_segment *segs, size_t n,
                              uint8_t sha[TALOS_MEASUREMENT_BYTES], uint8_t b3[TALOS_SIM_CODE_DIGEST_BYTES])
{
    struct sink s = {0};
    blake3_hasher h;
    size_t measured = 0;
    int rc = TALOS_OK;

    if (sha)
        memset(sha, 0, TALOS_MEASUREMENT_BYTES);
    if (b3)
        memset(b3, 0, TALOS_SIM_CODE_DIGEST_BYTES);
    if ((!segs && n) || (!sha && !b3))
        return TALOS_ERR_INVALID_ARG;
    if (n > TALOS_SIM_MAX_SEGMENTS)
        return TALOS_ERR_IMAGE;
    /* Validate everything first so a refused image costs no hashing. */
    for (size_t i = 0; i < n; i++) {
        if (segs[i].flags & PF_W)
            continue;
        if (segs[i].filesz > segs[i].memsz || segs[i].memsz > TALOS_SIM_SEGMENT_MAX ||
            (segs[i].filesz && !segs[i].content))
            return TALOS_ERR_IMAGE;
        measured++;
    }
    if (measured == 0)
        return TALOS_ERR_IMAGE;

    if (sha && (rc = talos_sha256_begin(&s.sha)) != TALOS_OK)
        return rc;
    if (b3) {
        blake3_hasher_init(&h);
        s.b3 = &h;
    }
    if (b3 && (sha || ASAN_BUILD) && !(s.copy = malloc(COPY_BYTES))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    sink_add(&s, (const uint8_t *)MEASURE_TAG, MEASURE_TAG_LEN);
    for (size_t i = 0; i < n; i++) {
        uint8_t hdr[20] = {0};
        uint64_t zeros = 0;

        if (segs[i].flags & PF_W)
            continue;
        talos_be32_put(hdr, (uint32_t)(segs[i].vaddr >> 32));
        talos_be32_put(hdr + 4, (uint32_t)segs[i].vaddr);
        talos_be32_put(hdr + 8, (uint32_t)(segs[i].memsz >> 32));
        talos_be32_put(hdr + 12, (uint32_t)segs[i].memsz);
        talos_be32_put(hdr + 16, segs[i].flags);
        sink_add(&s, hdr, sizeof(hdr));
        if (segs[i].filesz)
            sink_add(&s, segs[i].content, (size_t)segs[i].filesz);
        /* The zero tail is hashed, not read: in memory it may be unmapped
         * or hold bytes of the next file page. */
        zeros = segs[i].memsz - segs[i].filesz;
        while (zeros) {
            size_t chunk = zeros < sizeof(zero_page) ? (size_t)zeros : sizeof(zero_page);
            sink_add(&s, zero_page, chunk);
            zeros -= chunk;
        }
    }
    if (b3)
        blake3_hasher_finalize(&h, b3, TALOS_SIM_CODE_DIGEST_BYTES);
    if (sha) {
        rc = talos_sha256_end(s.sha, sha);
        s.sha = NULL;
    }
out:
    talos_sha256_free(s.sha); /* NULL once ended */
    free(s.copy);
    if (rc != TALOS_OK) {
        if (sha)
            memset(sha, 0, TALOS_MEASUREMENT_BYTES);
        if (b3)
            memset(b3, 0, TALOS_SIM_CODE_DIGEST_BYTES);
    }
    return rc;
}

int talos_sim_measure_segments(const struct talos_sim_segment *segs, size_t n,
                               uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    return talos_sim_digest_segments(segs, n, out, NULL);
}

struct self_scan {
    struct talos_sim_segment segs[TALOS_SIM_MAX_SEGMENTS];
    size_t n;
    int seen;
    int rc;
};

static int self_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct self_scan *s = data;

    /* The first entry is the main executable; libraries are not measured. */
    if (s->seen)
        return 1;
    s->seen = 1;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (s->n >= TALOS_SIM_MAX_SEGMENTS) {
            s->rc = TALOS_ERR_IMAGE;
            return 1;
        }
        s->segs[s->n].vaddr = ph->p_vaddr;
        s->segs[s->n].memsz = ph->p_memsz;
        s->segs[s->n].filesz = ph->p_filesz;
        s->segs[s->n].flags = ph->p_flags;
        s->segs[s->n].content = (const uint8_t *)(uintptr_t)(info->dlpi_addr + ph->p_vaddr);
        s->n++;
    }
    return 1;
}

int talos_sim_digest_self(uint8_t sha[TALOS_MEASUREMENT_BYTES],
                          uint8_t b3[TALOS_SIM_CODE_DIGEST_BYTES])
{
    struct self_scan *s = NULL;
    int rc = TALOS_ERR_BACKEND;

    if (sha)
        memset(sha, 0, TALOS_MEASUREMENT_BYTES);
    if (b3)
        memset(b3, 0, TALOS_SIM_CODE_DIGEST_BYTES);
    s = calloc(1, sizeof(*s));
    if (!s)
        return TALOS_ERR_NOMEM;
    dl_iterate_phdr(self_cb, s);
    if (!s->seen)
        goto out;
    rc = s->rc != TALOS_OK ? s->rc : talos_sim_digest_segments(s->segs, s->n, sha, b3);
out:
    free(s);
    return rc;
}

int talos_sim_measure_self(uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    return talos_sim_digest_self(out, NULL);
}
