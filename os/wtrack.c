/* Write tracking: argument checks, the method table, the probes. */
#include "os/wtrack.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/wtrack_impl.h"

/* AUTO tries these in order: fastest first (bench/wtrack.c measures it).
 * Soft-dirty is absent: its collect can lose a concurrent write. */
static const struct wtrack_ops *const auto_order[] = {
    &talos_wtrack_uffd_ops,
    &talos_wtrack_mprotect_ops,
};

static const struct wtrack_ops *ops_of(enum talos_wtrack_method m)
{
    switch (m) {
    case TALOS_WTRACK_UFFD:
        return &talos_wtrack_uffd_ops;
    case TALOS_WTRACK_SOFTDIRTY:
        return &talos_wtrack_softdirty_ops;
    case TALOS_WTRACK_MPROTECT:
        return &talos_wtrack_mprotect_ops;
    case TALOS_WTRACK_AUTO:
    default:
        return NULL;
    }
}

void talos_wtrack_set_bits(uint64_t *bitmap, size_t first, size_t n)
{
    size_t i = first, end = first + n;

    while (i < end && i % 64 != 0)
        bitmap[i / 64] |= (uint64_t)1 << (i % 64), i++;
    while (end - i >= 64)
        bitmap[i / 64] = ~(uint64_t)0, i += 64;
    while (i < end)
        bitmap[i / 64] |= (uint64_t)1 << (i % 64), i++;
}

static int arm(const struct wtrack_ops *ops, void *base, size_t len, struct talos_wtrack **out)
{
    struct talos_wtrack *w = calloc(1, sizeof(*w));
    int rc = TALOS_OK;

    if (w == NULL)
        return TALOS_ERR_NOMEM;
    w->ops = ops;
    w->base = (uintptr_t)base;
    w->len = len;
    w->page = (size_t)sysconf(_SC_PAGESIZE);
    w->npages = len / w->page;
    w->uffd = -1;
    w->pagemap_fd = -1;
    w->slot = -1;
    rc = ops->start(w);
    if (rc != TALOS_OK) {
        free(w);
        return rc;
    }
    *out = w;
    return TALOS_OK;
}

/* The probe: does the method see exactly the writes made, on populated and
 * unpopulated pages, and re-arm? Run once per method per process on a
 * private scratch mapping; the answer is cached. */
#define PROBE_PAGES 4
static atomic_int probed[4]; /* by method: 0 unknown, 1 works, -1 does not */

static int probe_run(const struct wtrack_ops *ops)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct talos_wtrack *w = NULL;
    uint64_t bm = 0;
    size_t nd = 0;
    volatile uint8_t *p = NULL;
    int ok = 0;

    p = mmap(NULL, PROBE_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    p[0] = 1; /* populated before start; pages 1-3 are not */
    if (arm(ops, (void *)p, PROBE_PAGES * page, &w) != TALOS_OK)
        goto out;
    if (ops->collect(w, &bm, &nd) != TALOS_OK || bm != 0 || nd != 0)
        goto out;
    p[page] = 2;
    p[3 * page] = 3;
    (void)p[2 * page]; /* a read is not a write */
    if (ops->collect(w, &bm, &nd) != TALOS_OK || bm != 0xa || nd != 2)
        goto out;
    bm = 0, nd = 0;
    p[0] = 4;
    if (ops->collect(w, &bm, &nd) != TALOS_OK || bm != 0x1 || nd != 1)
        goto out;
    bm = 0, nd = 0;
    ok = ops->collect(w, &bm, &nd) == TALOS_OK && bm == 0 && nd == 0;
out:
    if (w != NULL) {
        ops->stop(w);
        free(w);
    }
    (void)munmap((void *)p, PROBE_PAGES * page);
    return ok;
}

int talos_wtrack_available(enum talos_wtrack_method m)
{
    const struct wtrack_ops *ops = ops_of(m);
    int s = 0;

    if (ops == NULL)
        return 0;
    s = atomic_load(&probed[m]);
    if (s == 0) {
        /* Two threads may both probe; they agree. */
        s = probe_run(ops) ? 1 : -1;
        atomic_store(&probed[m], s);
    }
    return s == 1;
}

int talos_wtrack_start(void *base, size_t len, enum talos_wtrack_method m,
                       struct talos_wtrack **out)
{
    long page = sysconf(_SC_PAGESIZE);
    int rc = TALOS_ERR_NOT_IMPLEMENTED;

    if (out == NULL)
        return TALOS_ERR_INVALID_ARG;
    *out = NULL;
    if (page <= 0 || base == NULL || len == 0 || (uintptr_t)base % (size_t)page != 0 ||
        len % (size_t)page != 0 || (uintptr_t)base > UINTPTR_MAX - len)
        return TALOS_ERR_INVALID_ARG;
    if (m == TALOS_WTRACK_AUTO) {
        for (size_t i = 0; i < sizeof(auto_order) / sizeof(auto_order[0]); i++) {
            if (!talos_wtrack_available(auto_order[i]->method))
                continue;
            rc = arm(auto_order[i], base, len, out);
            /* BUSY and INVALID_ARG are about the range, not the method. */
            if (rc == TALOS_OK || rc == TALOS_ERR_BUSY || rc == TALOS_ERR_INVALID_ARG)
                return rc;
        }
        return rc;
    }
    if (ops_of(m) == NULL)
        return TALOS_ERR_INVALID_ARG;
    if (!talos_wtrack_available(m))
        return TALOS_ERR_NOT_IMPLEMENTED;
    return arm(ops_of(m), base, len, out);
}

int talos_wtrack_collect(struct talos_wtrack *w, uint64_t *bitmap, size_t npages, size_t *ndirty)
{
    size_t nd = 0;
    int rc = TALOS_OK;

    if (w == NULL || bitmap == NULL || ndirty == NULL || npages < w->npages)
        return TALOS_ERR_INVALID_ARG;
    *ndirty = 0;
    rc = w->ops->collect(w, bitmap, &nd);
    if (w->poisoned && rc == TALOS_OK) {
        /* An earlier collect failed after re-arming pages it could not
         * report: every page may hold an unreported write. */
        talos_wtrack_set_bits(bitmap, 0, w->npages);
        nd = w->npages;
        w->poisoned = 0;
    }
    if (rc != TALOS_OK)
        w->poisoned = 1;
    *ndirty = nd;
    return rc;
}

const char *talos_wtrack_method_name(const struct talos_wtrack *w)
{
    return w == NULL ? "none" : w->ops->name;
}

enum talos_wtrack_method talos_wtrack_method(const struct talos_wtrack *w)
{
    return w == NULL ? TALOS_WTRACK_AUTO : w->ops->method;
}

void talos_wtrack_stop(struct talos_wtrack *w)
{
    if (w == NULL)
        return;
    w->ops->stop(w);
    free(w);
}
