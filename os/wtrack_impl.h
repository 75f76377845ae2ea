/* Internals shared by the write-tracking methods (os/wtrack*.c). */
#ifndef TALOS_OS_WTRACK_IMPL_H
#define TALOS_OS_WTRACK_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "os/wtrack.h"

struct talos_wtrack;

/* One method: a row of the table in wtrack.c. */
struct wtrack_ops {
    enum talos_wtrack_method method;
    const char *name;
    /* Arm w (base, len, npages, page set); TALOS_ERR_* as talos_wtrack_start. */
    int (*start)(struct talos_wtrack *w);
    /* OR dirty pages into bitmap, re-arm them, add their count to *ndirty. */
    int (*collect)(struct talos_wtrack *w, uint64_t *bitmap, size_t *ndirty);
    void (*stop)(struct talos_wtrack *w);
};


struct talos_wtrack {
    const struct wtrack_ops *ops;
    uintptr_t base;
    size_t len;
    size_t npages;
    size_t page;
    int poisoned; /* a collect failed mid-way: report everything next time */
    /* uffd */
    int uffd;
    int pagemap_fd;
    void *vec;      /* struct page_region[vec_len] for PAGEMAP_SCAN */
    size_t vec_len;
    /* mprotect: bit i set by the fault handler when page i was written */
    _Atomic uint64_t *dirty;
    size_t nwords;
    atomic_int overflow; /* the kernel refused a per-page mprotect */
    int slot;
    /* soft-dirty */
    uint64_t *pm_buf; /* pagemap entries of one chunk */
};

extern const struct wtrack_ops talos_wtrack_uffd_ops;
extern const struct wtrack_ops talos_wtrack_mprotect_ops;
extern const struct wtrack_ops talos_wtrack_softdirty_ops;

/* uffd (wtrack_uffd.c): 1 when the kernel's PAGE_IS_WRITTEN scan also
 * reports discarded pages, -1 when it does not (a second scan finds them),
 * 0 before the probe. Tests set -2: first scan on the kernel's slow path
 * (return mask wider than PAGE_IS_WRITTEN), then the second scan. */
extern atomic_int talos_wtrack_uffd_discard_seen;

/* Set bits [first, first + n) of bitmap. */
void talos_wtrack_set_bits(uint64_t *bitmap, size_t first, size_t n);

#endif
