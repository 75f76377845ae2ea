/* What cannot migrate is refused, not silently lost (D46). A migration
 * moves the state arena and the persist section; a descriptor the TA's
 * code opened, a thread it started, or memory it mapped itself would stay
 * behind, and the TA would wake on the target without them. The source's
 * migration asks here first, before the channel and before any freeze, and
 * is refused with TALOS_ERR_UNMOVABLE naming the first one found.
 *
 * How the TA's own are told from the runtime's:
 *  - descriptors: those open (by number and by the file's identity) when
 *    the runtime first handed control to TA code are the runtime's, and so
 *    are the migration's own; anything else below FD_PROBE_MAX is the TA's.
 *    A confined TA may not open /proc/self/fd (docs/confinement.md), so the
 *    probe is fcntl(F_GETFD) and fstat over a bounded range.
 *  - threads: /proc/self/status (opened before the confinement, os/selffd.h)
 *    counts them; the runtime counts its own (talos_rt_thread_create).
 *  - mappings: the backend's memory_map; writable mappings that are not the
 *    image, the arena, the main stack and brk heap, the switchless rings, a
 *    mapping present when TA code first ran, or one of glibc's own (a
 *    malloc block mapped by itself, a thread arena's heap, a thread stack
 *    behind its guard page). Trusted code. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "os/selffd.h"
#include "ta/arena.h"
#include "ta/rt.h"
#include "tee/tee.h"

#define FD_PROBE_MAX 1024 /* the default soft RLIMIT_NOFILE, select's FD_SETSIZE */
#define MAP_MAX 512
#define GLIBC_HEAP_MAX (64ull << 20) /* HEAP_MAX_SIZE of a thread arena on LP64 */
#define MMAPPED_BIT 0x2ull           /* glibc's IS_MMAPPED chunk flag */
#define THREAD_SETTLE_TRIES 50       /* a runtime thread that just ended may still be counted */
/* ASan builds (SAN=1): the sanitizer's allocator maps memory of its own as
 * the TA runs, indistinguishable from the TA's: the mapping check is off
 * there (descriptors and threads are still checked). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_MAPS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_MAPS 1
#endif
#endif
#ifndef SANITIZER_MAPS
#define SANITIZER_MAPS 0
#endif

int talos_rt_ta_code_ran;

static struct {
    uint8_t open[FD_PROBE_MAX];
    dev_t dev[FD_PROBE_MAX];
    ino_t ino[FD_PROBE_MAX];
    struct talos_region maps[MAP_MAX];
    size_t n_maps;
    uintptr_t main_stack; /* an address on the main thread's stack */
} base;

static atomic_int rt_threads; /* runtime threads alive (started, not yet ended) */

struct trampoline {
    void *(*fn)(void *);
    void *arg;
};

static void *thread_main(void *p)
{
    struct trampoline t = *(struct trampoline *)p;
    void *ret = NULL;

    free(p);
    ret = t.fn(t.arg);
    atomic_fetch_sub(&rt_threads, 1);
    return ret;
}

int talos_rt_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    struct trampoline *p = malloc(sizeof(*p));
    int rc = 0;

    if (!p)
        return ENOMEM;
    p->fn = fn;
    p->arg = arg;
    /* Counted before it exists: the check never sees one it cannot name. */
    atomic_fetch_add(&rt_threads, 1);
    if ((rc = pthread_create(t, NULL, thread_main, p)) != 0) {
        atomic_fetch_sub(&rt_threads, 1);
        free(p);
    }
    return rc;
}

void talos_rt_ta_code_first(void)
{
    struct stat st;
    int here = 0;

    if (talos_rt_ta_code_ran)
        return;
    talos_rt_ta_code_ran = 1;
    for (int fd = 0; fd < FD_PROBE_MAX; fd++) {
        if (fcntl(fd, F_GETFD) < 0 || fstat(fd, &st) != 0)
            continue;
        base.open[fd] = 1;
        base.dev[fd] = st.st_dev;
        base.ino[fd] = st.st_ino;
    }
    base.main_stack = (uintptr_t)&here;
    base.n_maps = MAP_MAX;
    if (!talos_tee_enclave.memory_map ||
        talos_tee_enclave.memory_map(base.maps, &base.n_maps) != TALOS_OK)
        base.n_maps = 0;
}

static int is_own(int fd, const int *own, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (own[i] == fd)
            return 1;
    return 0;
}

static const char *fd_kind(mode_t m)
{
    return S_ISREG(m)    ? "a file"
           : S_ISSOCK(m) ? "a socket"
           : S_ISFIFO(m) ? "a pipe"
           : S_ISCHR(m)  ? "a character device"
           : S_ISDIR(m)  ? "a directory"
                         : "a kernel object";
}

static int check_fds(const int *own, size_t n_own, char *why, size_t cap)
{
    struct stat st;

    for (int fd = 0; fd < FD_PROBE_MAX; fd++) {
        if (fcntl(fd, F_GETFD) < 0 || is_own(fd, own, n_own))
            continue;
        if (fstat(fd, &st) != 0)
            memset(&st, 0, sizeof(st));
        if (base.open[fd] && base.dev[fd] == st.st_dev && base.ino[fd] == st.st_ino)
            continue;
        snprintf(why, cap,
                 "the TA holds open file descriptor %d (%s its code opened): "
                 "it cannot move",
                 fd, fd_kind(st.st_mode));
        return TALOS_ERR_UNMOVABLE;
    }
    return TALOS_OK;
}

/* Threads of the process now, from the status file opened before the
 * confinement; -1 when it cannot be read. */
static int threads_now(void)
{
    char buf[4096];
    int fd = talos_self_open(TALOS_SELF_STATUS), n = -1;
    ssize_t got = -1;

    if (fd < 0)
        return -1;
    got = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    const char *p = strstr(buf, "\nThreads:");
    if (!p || sscanf(p + 9, "%d", &n) != 1)
        return -1;
    return n;
}

static int check_threads(char *why, size_t cap)
{
    uint8_t m[TALOS_MEASUREMENT_BYTES];
    int extra = 0;

    /* The backend's launch measurement runs on a thread of its own for a
     * moment after start (tee/sim): wait for its result, then for it. */
    if (talos_tee_enclave.launch_measurement)
        (void)talos_tee_enclave.launch_measurement(m);
    for (int i = 0; i < THREAD_SETTLE_TRIES; i++) {
        int n = threads_now();
        if (n < 0) {
            TLOG_WARN("cannot count this TA's threads (no /proc/self/status): not checked");
            return TALOS_OK;
        }
        /* The main thread, and the runtime's (this migration's among them). */
        if ((extra = n - 1 - atomic_load(&rt_threads)) <= 0)
            return TALOS_OK;
        /* A runtime thread that returned is counted by the kernel until it
         * is gone: a TA's thread is still there after these 50 ms. */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    snprintf(why, cap, "the TA runs %d thread%s its code started: it cannot move", extra,
             extra == 1 ? "" : "s");
    return TALOS_ERR_UNMOVABLE;
}

static int readable(const struct talos_region *r)
{
    return (r->prot & TALOS_PROT_R) != 0;
}

/* A run of glibc malloc blocks each mapped by itself (the kernel may merge
 * neighbours into one mapping): prev_size 0 and size | IS_MMAPPED. */
static int glibc_blocks(const struct talos_region *r)
{
    uint64_t at = r->start;

    if (!readable(r))
        return 0;
    while (at < r->end) {
        const uint64_t *h = (const uint64_t *)(uintptr_t)at;
        uint64_t size = h[1] & ~7ull;
        if (h[0] != 0 || (h[1] & 7ull) != MMAPPED_BIT || size < 4096 || size % 4096 ||
            size > r->end - at)
            return 0;
        at += size;
    }
    return at == r->end;
}

static const struct talos_region *find(const struct talos_region *v, size_t n, uint64_t addr)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].start <= addr && addr < v[i].end)
            return &v[i];
    return NULL;
}

/* A glibc thread arena's heap: 64 MiB aligned, its first word (heap_info's
 * ar_ptr) pointing into such a heap. */
static int glibc_heap(const struct talos_region *r, const struct talos_region *v, size_t n)
{
    if (!readable(r) || r->start % GLIBC_HEAP_MAX)
        return 0;
    uint64_t ar = *(const uint64_t *)(uintptr_t)r->start;
    const struct talos_region *h = find(v, n, ar);
    return h && h->start % GLIBC_HEAP_MAX == 0;
}

/* A thread stack: right above its one guard page (PROT_NONE). */
static int thread_stack(const struct talos_region *r, const struct talos_region *v, size_t n)
{
    const struct talos_region *g = r->start ? find(v, n, r->start - 1) : NULL;
    return g && g->end == r->start && g->prot == 0 && g->end - g->start == 4096;
}

static int in_base(const struct talos_region *r)
{
    for (size_t i = 0; i < base.n_maps; i++)
        if (base.maps[i].start == r->start && base.maps[i].end == r->end)
            return 1;
    return 0;
}

static int check_maps(char *why, size_t cap)
{
    static struct talos_region v[MAP_MAX];
    size_t n = MAP_MAX;
    uintptr_t brk_end = (uintptr_t)sbrk(0);
    uintptr_t shm = (uintptr_t)talos_rt.x.shm;
    int rc = TALOS_OK;

    if (!talos_tee_enclave.memory_map || SANITIZER_MAPS)
        return TALOS_OK; /* nothing to read, or nothing to tell apart */
    if ((rc = talos_tee_enclave.memory_map(v, &n)) != TALOS_OK) {
        snprintf(why, cap, "cannot read this TA's own mappings: %s", talos_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const struct talos_region *r = &v[i];
        if (r->kind != TALOS_REGION_OTHER || !(r->prot & TALOS_PROT_W))
            continue;
        if (in_base(r) || (base.main_stack >= r->start && base.main_stack < r->end) ||
            (brk_end > r->start && brk_end <= r->end) || (shm && shm >= r->start && shm < r->end) ||
            glibc_blocks(r) || glibc_heap(r, v, n) || thread_stack(r, v, n))
            continue;
        snprintf(why, cap,
                 "the TA holds memory it mapped itself at 0x%llx-0x%llx (%llu KiB, "
                 "outside the state arena): it cannot move",
                 (unsigned long long)r->start, (unsigned long long)r->end,
                 (unsigned long long)((r->end - r->start) >> 10));
        return TALOS_ERR_UNMOVABLE;
    }
    return TALOS_OK;
}

int talos_rt_unmovable_check(const int *own_fds, size_t n_own, char *why, size_t cap)
{
    int rc = TALOS_OK;

    /* No TA code ever ran: nothing of its own can exist. */
    if (!talos_rt_ta_code_ran)
        return TALOS_OK;
    if ((rc = check_fds(own_fds, n_own, why, cap)) != TALOS_OK ||
        (rc = check_threads(why, cap)) != TALOS_OK || (rc = check_maps(why, cap)) != TALOS_OK)
        TLOG_WARN("migration refused: %s", why);
    return rc;
}
