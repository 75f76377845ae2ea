/* Write tracking with soft-dirty bits: /proc/self/clear_refs "4" clears
 * them (and write-protects every pte of the process), the next write to a
 * page sets bit 55 of its /proc/self/pagemap entry.
 *
 * Not race-free, hence never chosen by AUTO: collect reads the bits, then
 * clears them, in two system calls; a write to a clean page between the
 * two is cleared unseen. The clear covers the whole process, so only one
 * soft-dirty tracker may exist at a time (TALOS_ERR_BUSY). Kernels built
 * without CONFIG_MEM_SOFT_DIRTY never set the bit; the probe then fails and
 * the method reports TALOS_ERR_NOT_IMPLEMENTED.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "os/selffd.h"
#include "os/wtrack_impl.h"

#define PM_SOFT_DIRTY ((uint64_t)1 << 55)
#define CHUNK 4096 /* pagemap entries read per pread */

static atomic_int busy;

static int clear_refs(void)
{
    int fd = talos_self_open(TALOS_SELF_CLEAR_REFS);
    ssize_t n = -1;

    if (fd < 0)
        return TALOS_ERR_NOT_IMPLEMENTED;
    do
        n = write(fd, "4", 1);
    while (n < 0 && errno == EINTR);
    (void)close(fd);
    return n == 1 ? TALOS_OK : TALOS_ERR_IO;
}

static void sd_stop(struct talos_wtrack *w)
{
    if (w->pagemap_fd >= 0) {
        (void)close(w->pagemap_fd);
        atomic_store(&busy, 0);
    }
    w->pagemap_fd = -1;
    free(w->pm_buf);
    w->pm_buf = NULL;
}

static int sd_start(struct talos_wtrack *w)
{
    int expect = 0, rc = TALOS_OK;

    if (!atomic_compare_exchange_strong(&busy, &expect, 1))
        return TALOS_ERR_BUSY;
    w->pm_buf = calloc(CHUNK, sizeof(uint64_t));
    w->pagemap_fd = talos_self_open(TALOS_SELF_PAGEMAP);
    if (w->pm_buf == NULL || w->pagemap_fd < 0) {
        rc = w->pm_buf == NULL ? TALOS_ERR_NOMEM : TALOS_ERR_NOT_IMPLEMENTED;
        goto fail;
    }
    if ((rc = clear_refs()) != TALOS_OK)
        goto fail;
    return TALOS_OK;
fail:
    if (w->pagemap_fd < 0)
        atomic_store(&busy, 0);
    sd_stop(w);
    return rc;
}

static int sd_collect(struct talos_wtrack *w, uint64_t *bitmap, size_t *ndirty)
{
    size_t first = w->base / w->page;

    for (size_t done = 0; done < w->npages;) {
        size_t n = w->npages - done < CHUNK ? w->npages - done : CHUNK;
        ssize_t r = pread(w->pagemap_fd, w->pm_buf, n * sizeof(uint64_t),
                          (off_t)((first + done) * sizeof(uint64_t)));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (size_t)r % sizeof(uint64_t) != 0)
            return TALOS_ERR_IO;
        n = (size_t)r / sizeof(uint64_t);
        for (size_t i = 0; i < n; i++)
            if (w->pm_buf[i] & PM_SOFT_DIRTY) {
                bitmap[(done + i) / 64] |= (uint64_t)1 << ((done + i) % 64);
                (*ndirty)++;
            }
        done += n;
    }
    return clear_refs();
}

const struct wtrack_ops talos_wtrack_softdirty_ops = {
    .method = TALOS_WTRACK_SOFTDIRTY,
    .name = "soft-dirty",
    .start = sd_start,
    .collect = sd_collect,
    .stop = sd_stop,
};
