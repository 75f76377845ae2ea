/* Bench images only (-DTALOS_BENCH_WTRACK, see the Makefile; never in a
 * product image): write tracking armed over the state arena while the TA
 * serves, as during a pre-copy, to measure what it costs the TA
 * (bench/overhead.c). Switched on by the environment, read once at start:
 *   TALOS_BENCH_WTRACK=MiB      track [arena base, base + MiB)
 *   TALOS_BENCH_WTRACK_MS=N     collect every N ms (default 10), as pre-copy
 *                               rounds would; nothing is sent
 * A TA that cannot arm the tracker exits: a bench must not silently measure
 * an untracked run. In a normal build this file is empty. */
#ifdef TALOS_BENCH_WTRACK
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "os/wtrack.h"
#include "ta/arena.h"
#include "ta/rt.h"

void talos_rt_bench_wtrack(void);

static struct {
    struct talos_wtrack *w;
    uint64_t *bitmap;
    size_t npages;
    long interval_ms;
} bw;

static void *collector(void *arg)
{
    struct timespec ts;
    size_t nd = 0;

    (void)arg;
    ts.tv_sec = bw.interval_ms / 1000;
    ts.tv_nsec = (bw.interval_ms % 1000) * 1000000L;
    for (;;) {
        (void)nanosleep(&ts, NULL);
        if (talos_wtrack_collect(bw.w, bw.bitmap, bw.npages, &nd) != TALOS_OK) {
            TLOG_ERR("bench write tracking: collect failed");
            _exit(3);
        }
    }
    return NULL;
}

void talos_rt_bench_wtrack(void)
{
    const char *mib = getenv("TALOS_BENCH_WTRACK"), *ms = getenv("TALOS_BENCH_WTRACK_MS");
    size_t len = 0, page = (size_t)sysconf(_SC_PAGESIZE);
    pthread_t t;
    int rc = TALOS_OK;

    if (mib == NULL || atol(mib) <= 0)
        return;
    len = (size_t)atol(mib) << 20;
    bw.interval_ms = ms != NULL && atol(ms) > 0 ? atol(ms) : 10;
    bw.npages = len / page;
    bw.bitmap = calloc((bw.npages + 63) / 64, sizeof(uint64_t));
    if (bw.bitmap == NULL ||
        (rc = talos_wtrack_start((void *)talos_arena_base(), len, TALOS_WTRACK_AUTO, &bw.w)) !=
            TALOS_OK ||
        talos_rt_thread_create(&t, collector, NULL) != 0) {
        TLOG_ERR("bench write tracking over %s MiB could not start: %s", mib, talos_strerror(rc));
        _exit(3);
    }
    (void)pthread_detach(t);
    TLOG_WARN("bench: write tracking (%s) over %s MiB of the arena, collect every %ld ms",
              talos_wtrack_method_name(bw.w), mib, bw.interval_ms);
}
#endif
