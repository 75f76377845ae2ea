/* Write tracking with userfaultfd write-protection in asynchronous mode and
 * the PAGEMAP_SCAN ioctl (Linux >= 6.7).
 *
 * Start: register the range with a userfaultfd for WP, with WP_ASYNC (the
 * kernel resolves a write fault itself by dropping the page's uffd-wp bit;
 * nobody reads the descriptor) and WP_UNPOPULATED (write-protecting an
 * unpopulated page installs a marker, so its first touch is seen too), then
 * write-protect the whole range.
 *
 * Collect, and why it never loses a write: PAGEMAP_SCAN walks the page
 * tables under each page-table lock; with PM_SCAN_WP_MATCHING it reports a
 * page whose uffd-wp bit is clear ("written") and sets the bit again in the
 * same locked step, flushing the TLB before the lock is dropped. A racing
 * write either happens before that step (the page is reported now, and the
 * caller reads its content after collect returns) or after it (it faults on
 * the re-protected page, clears the bit again, and the next collect reports
 * it). There is no window in between.
 *
 * A page whose memory was discarded (MADV_DONTNEED, also done by the arena
 * when it trims) loses its pte and, on anonymous memory, its marker: its
 * content changed (to zeros) without a write fault. This machine's kernel
 * (6.18) reports such an empty pte as written (it is not write-protected)
 * and marks it again, on the fast path for a scan of exactly
 * PAGE_IS_WRITTEN and on the slow path alike. That it does is probed once;
 * where it does not, a second scan reports the pages that are neither
 * present nor swapped (a marker counts as swapped) and marks them, with the
 * same ordering argument. The second scan costs about as much as the first
 * (bench/wtrack.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os/selffd.h"
#include "os/uffd_abi.h"
#include "os/wtrack_impl.h"

/* Regions returned per ioctl; adjacent written pages merge into one region,
 * so this bounds the number of system calls, not the pages per call. */
#define VEC_LEN 512

static int uffd_open(void)
{
    /* USER_MODE_ONLY lets an unprivileged process use it when
     * vm.unprivileged_userfaultfd is 0; async WP never needs to handle a
     * kernel-mode fault in user space (the kernel resolves it). */
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

    if (fd < 0 && errno == EINVAL) /* kernels before 5.11 */
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    return fd;
}

/* One PAGEMAP_SCAN pass over the range: report the pages whose categories
 * match (masks as in the kernel: (cat ^ inverted) & mask == mask), write-
 * protect them, OR them into bitmap. `ret` is the return mask; only
 * ret == mask == PAGE_IS_WRITTEN takes the kernel's fast path. */
static int scan(struct talos_wtrack *w, uint64_t inverted, uint64_t mask, uint64_t ret,
                uint64_t *bitmap, size_t *ndirty)
{
    struct page_region *vec = w->vec;
    struct pm_scan_arg a = {0};
    uint64_t cur = w->base, end = w->base + w->len;

    while (cur < end) {
        long n = 0;

        a.size = sizeof(a);
        a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
        a.start = cur;
        a.end = end;
        a.walk_end = 0;
        a.vec = (uint64_t)(uintptr_t)vec;
        a.vec_len = w->vec_len;
        a.max_pages = 0;
        a.category_inverted = inverted;
        a.category_mask = mask;
        a.category_anyof_mask = 0;
        a.return_mask = ret;
        n = ioctl(w->pagemap_fd, PAGEMAP_SCAN, &a);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TALOS_ERR_IO;
        }
        for (long i = 0; i < n; i++) {
            uint64_t s = vec[i].start, e = vec[i].end;

            if (s < w->base || e > end || s >= e)
                return TALOS_ERR_IO; /* the kernel broke its contract */
            talos_wtrack_set_bits(bitmap, (s - w->base) / w->page, (e - s) / w->page);
            *ndirty += (e - s) / w->page;
        }
        if (a.walk_end <= cur || a.walk_end > end)
            return TALOS_ERR_IO;
        cur = a.walk_end;
    }
    return TALOS_OK;
}

atomic_int talos_wtrack_uffd_discard_seen;

static int uffd_collect(struct talos_wtrack *w, uint64_t *bitmap, size_t *ndirty)
{
    const uint64_t ps = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
    int seen = atomic_load(&talos_wtrack_uffd_discard_seen);
    /* -2 (tests): the slow path, as on a kernel without the fast one. */
    int rc = scan(w, 0, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN | (seen == -2 ? PAGE_IS_PRESENT : 0),
                  bitmap, ndirty);

    if (rc != TALOS_OK || seen == 1)
        return rc;
    /* Discarded pages: neither present nor swapped (a marker counts as
     * swapped). Never-touched pages carry a marker since start. */
    return scan(w, ps, ps, ps, bitmap, ndirty);
}

static void uffd_stop(struct talos_wtrack *w)
{
    struct uffdio_range r = {.start = w->base, .len = w->len};

    /* Unregistering drops the uffd-wp bits and markers of the range;
     * closing the descriptor would too. */
    if (w->uffd >= 0) {
        (void)ioctl(w->uffd, UFFDIO_UNREGISTER, &r);
        (void)close(w->uffd);
    }
    if (w->pagemap_fd >= 0)
        (void)close(w->pagemap_fd);
    free(w->vec);
    w->uffd = w->pagemap_fd = -1;
    w->vec = NULL;
}

static int uffd_arm(struct talos_wtrack *w)
{
    struct uffdio_api api = {.api = UFFD_API,
                             .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED};
    struct uffdio_register reg = {.range = {.start = w->base, .len = w->len},
                                  .mode = UFFDIO_REGISTER_MODE_WP};
    struct uffdio_writeprotect wp = {.range = {.start = w->base, .len = w->len},
                                     .mode = UFFDIO_WRITEPROTECT_MODE_WP};
    int rc = TALOS_ERR_NOT_IMPLEMENTED;

    w->vec_len = VEC_LEN;
    w->vec = calloc(w->vec_len, sizeof(struct page_region));
    if (w->vec == NULL)
        return TALOS_ERR_NOMEM;
    w->uffd = uffd_open();
    if (w->uffd < 0)
        goto fail;
    if (ioctl(w->uffd, UFFDIO_API, &api) != 0 ||
        (api.features & (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)) !=
            (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED))
        goto fail;
    w->pagemap_fd = talos_self_open(TALOS_SELF_PAGEMAP);
    if (w->pagemap_fd < 0)
        goto fail;
    if (ioctl(w->uffd, UFFDIO_REGISTER, &reg) != 0) {
        /* EBUSY: another userfaultfd has part of the range; EINVAL: not
         * anonymous/shmem memory or not mapped. */
        rc = errno == EBUSY ? TALOS_ERR_BUSY : errno == EINVAL ? TALOS_ERR_INVALID_ARG
                                                               : TALOS_ERR_IO;
        goto fail;
    }
    if (!(reg.ioctls & ((uint64_t)1 << _UFFDIO_WRITEPROTECT)))
        goto fail;
    if (ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
        rc = errno == ENOMEM ? TALOS_ERR_NOMEM : TALOS_ERR_IO;
        goto fail;
    }
    return TALOS_OK;
fail:
    uffd_stop(w);
    return rc;
}

static void probe_discard(size_t page)
{
    struct talos_wtrack s = {.page = page, .npages = 2, .len = 2 * page, .uffd = -1,
                             .pagemap_fd = -1};
    uint8_t *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t bm = 0;
    size_t nd = 0;
    int seen = -1;

    if (p == MAP_FAILED)
        goto out;
    p[0] = p[page] = 1;
    s.base = (uintptr_t)p;
    if (uffd_arm(&s) != TALOS_OK)
        goto out;
    if (madvise(p, page, MADV_DONTNEED) == 0 &&
        scan(&s, 0, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, &bm, &nd) == TALOS_OK && bm == 1 &&
        nd == 1) {
        /* ... and marked again: the next scan is clean. */
        bm = 0, nd = 0;
        if (scan(&s, 0, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, &bm, &nd) == TALOS_OK && bm == 0)
            seen = 1;
    }
    uffd_stop(&s);
out:
    if (p != MAP_FAILED)
        (void)munmap(p, 2 * page);
    atomic_store(&talos_wtrack_uffd_discard_seen, seen);
}

static int uffd_start(struct talos_wtrack *w)
{
    if (atomic_load(&talos_wtrack_uffd_discard_seen) == 0)
        probe_discard(w->page);
    return uffd_arm(w);
}

const struct wtrack_ops talos_wtrack_uffd_ops = {
    .method = TALOS_WTRACK_UFFD,
    .name = "uffd-wp-async",
    .start = uffd_start,
    .collect = uffd_collect,
    .stop = uffd_stop,
};
