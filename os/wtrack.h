/* Write tracking: which pages of a memory range were written since the last
 * look (pre-copy live migration, issue #5; docs/wtrack.md).
 *
 * Three methods, one API. AUTO probes them for real, in order of speed, and
 * keeps the first that works on this kernel:
 *   UFFD       userfaultfd write-protect in asynchronous mode + PAGEMAP_SCAN
 *              (Linux >= 6.7): the kernel resolves write faults itself and a
 *              collect reads and re-protects in one atomic page-table walk.
 *   MPROTECT   pages read-only + a SIGSEGV handler that records the page and
 *              makes it writable again (works everywhere; a fault per page).
 *   SOFTDIRTY  /proc/self/clear_refs "4" + pagemap bit 55. Never chosen by
 *              AUTO: its collect (read pagemap, then clear) cannot be made
 *              atomic, so a write racing with a collect can be lost, and the
 *              clear is process-wide. Available explicitly for measurements.
 * Shared by the node and the TA runtime (D4). No locking inside a tracker:
 * one thread calls collect/stop; any number of threads may write.
 */
#ifndef TALOS_OS_WTRACK_H
#define TALOS_OS_WTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "talos/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct talos_wtrack;

enum talos_wtrack_method {
    TALOS_WTRACK_AUTO = 0,
    TALOS_WTRACK_UFFD,
    TALOS_WTRACK_SOFTDIRTY,
    TALOS_WTRACK_MPROTECT,
};

/* Track writes to [base, base+len) of this process (page aligned; the
 * range may be partly unpopulated and may be populated later). From
 * return on, every page is "clean". AUTO picks the fastest method that
 * works here (probed for real once per process, not from the kernel
 * version), falling back cleanly. The range must be one private anonymous
 * read-write mapping (or several adjacent ones) that stays mapped until
 * talos_wtrack_stop; mapping anything new over part of it ends tracking
 * there silently.
 * TALOS_OK and *out; TALOS_ERR_INVALID_ARG (NULL, unaligned, empty,
 * unknown method); TALOS_ERR_NOT_IMPLEMENTED when the method (or, for
 * AUTO, every method) does not work here; TALOS_ERR_BUSY when part of the
 * range is already tracked; TALOS_ERR_NOMEM; TALOS_ERR_IO when the kernel
 * refuses a step it passed in the probe. */
TALOS_MUST_CHECK int talos_wtrack_start(void *base, size_t len, enum talos_wtrack_method m,
                                        struct talos_wtrack **out);

/* Sets bit i of `bitmap` (bit i%64 of word i/64; npages bits, caller
 * zeroes it or not: the function ORs) for every page i written since
 * start or the previous collect, re-arms them, and returns the count in
 * *ndirty. npages must be at least len / page size (TALOS_ERR_INVALID_ARG
 * otherwise). Never loses a write that races with it: a write concurrent
 * with collect is reported by this collect or the next one (ordering in
 * docs/wtrack.md). A page whose memory was discarded (MADV_DONTNEED) counts
 * as written with the UFFD method; with MPROTECT and SOFTDIRTY it does not.
 * On TALOS_ERR_IO (the kernel refused mid-way) the bitmap holds what was
 * found so far and the tracker reports every page dirty on the next
 * collect. One caller at a time per tracker. */
TALOS_MUST_CHECK int talos_wtrack_collect(struct talos_wtrack *w, uint64_t *bitmap,
                                          size_t npages, size_t *ndirty);

/* "uffd-wp-async", "soft-dirty" or "mprotect"; "none" for NULL. */
const char *talos_wtrack_method_name(const struct talos_wtrack *w);

/* The method a tracker uses (never AUTO). */
enum talos_wtrack_method talos_wtrack_method(const struct talos_wtrack *w);

/* 1 when method m (not AUTO) works in this process, else 0 (probes once). */
int talos_wtrack_available(enum talos_wtrack_method m);

/* End tracking: the range is writable again without faults. NULL ok. Must
 * not run concurrently with collect on the same tracker. */
void talos_wtrack_stop(struct talos_wtrack *w);

#ifdef __cplusplus
}
#endif
#endif
