/* Write-tracking methods compared (os/wtrack.h, docs/wtrack.md): for each
 * method that works here and each region size,
 *   start     arming a fully populated region (talos_wtrack_start)
 *   fault     cost of the first write to a page after arming, per page
 *             (every page written once, in order)
 *   collect   one talos_wtrack_collect with 0 %, 1 %, 10 %, 100 % of the
 *             pages written since the previous one (spread evenly)
 * Medians over the runs; plain writes to an untracked populated region are
 * the baseline of the fault column.
 *
 *   wtrack [--runs N] [--json] [--method uffd|mprotect|softdirty] [MiB...]
 *
 * Default sizes 16 64 256 MiB, 5 runs. --json prints one JSON object per
 * method and size on its own line (bench/run.sh collects them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench/lib/stats.h"

#include "os/wtrack.h"

#define MAX_RUNS 50
#define MAX_SIZES 8

static const int pcts[] = {0, 1, 10, 100};
#define NPCT 4

struct result {
    double start_us, fault_ns, collect_us[NPCT];
    double dirty_reported[NPCT];
};

/* Write one byte to every (100 / pct)-th page; returns pages written. */
static size_t dirty(volatile uint8_t *r, size_t npages, size_t page, int pct)
{
    size_t stride = pct ? (size_t)(100 / pct) : 0, n = 0;

    if (pct == 0)
        return 0;
    for (size_t i = 0; i < npages; i += stride, n++)
        r[i * page] += 1;
    return n;
}

static int run_one(enum talos_wtrack_method m, uint8_t *r, size_t npages, size_t page,
                   uint64_t *bm, struct result *out)
{
    struct talos_wtrack *w = NULL;
    size_t nd = 0;
    uint64_t t0 = bench_now_ns();
    int rc = talos_wtrack_start(r, npages * page, m, &w);

    if (rc != TALOS_OK)
        return rc;
    out->start_us = (double)(bench_now_ns() - t0) / 1e3;
    t0 = bench_now_ns();
    for (size_t i = 0; i < npages; i++)
        ((volatile uint8_t *)r)[i * page] += 1;
    out->fault_ns = (double)(bench_now_ns() - t0) / (double)npages;
    memset(bm, 0, (npages + 63) / 64 * 8);
    if ((rc = talos_wtrack_collect(w, bm, npages, &nd)) != TALOS_OK)
        goto out;
    for (int k = 0; k < NPCT; k++) {
        size_t n = dirty(r, npages, page, pcts[k]);

        t0 = bench_now_ns();
        rc = talos_wtrack_collect(w, bm, npages, &nd);
        out->collect_us[k] = (double)(bench_now_ns() - t0) / 1e3;
        if (rc != TALOS_OK)
            goto out;
        if (nd != n) {
            fprintf(stderr, "wtrack: %s reported %zu dirty pages, %zu written\n",
                    talos_wtrack_method_name(w), nd, n);
            rc = TALOS_ERR_PROTOCOL;
            goto out;
        }
        out->dirty_reported[k] = (double)nd;
    }
out:
    talos_wtrack_stop(w);
    return rc;
}

static double baseline_ns(uint8_t *r, size_t npages, size_t page)
{
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < npages; i++)
        ((volatile uint8_t *)r)[i * page] += 1;
    return (double)(bench_now_ns() - t0) / (double)npages;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *arg;
        enum talos_wtrack_method m;
    } methods[] = {{"uffd", TALOS_WTRACK_UFFD},
                   {"mprotect", TALOS_WTRACK_MPROTECT},
                   {"softdirty", TALOS_WTRACK_SOFTDIRTY}};
    size_t sizes[MAX_SIZES] = {16, 64, 256};
    int nsizes = 3, runs = 5, json = 0, explicit_sizes = 0;
    const char *only = NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--method") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (argv[i][0] != '-' && atoi(argv[i]) > 0) {
            if (!explicit_sizes)
                nsizes = 0, explicit_sizes = 1;
            if (nsizes < MAX_SIZES)
                sizes[nsizes++] = (size_t)atoi(argv[i]);
        } else {
            fprintf(stderr, "usage: wtrack [--runs N] [--json] [--method uffd|mprotect|softdirty] "
                            "[MiB...]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "wtrack: --runs between 1 and %d\n", MAX_RUNS);
        return 2;
    }
    if (!json) {
        printf("| method | region | start µs | first write ns/page | baseline ns/page | "
               "collect 0 %% µs | 1 %% | 10 %% | 100 %% |\n");
        printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    }
    for (size_t mi = 0; mi < sizeof(methods) / sizeof(methods[0]); mi++) {
        if (only != NULL && strcmp(only, methods[mi].arg) != 0)
            continue;
        if (!talos_wtrack_available(methods[mi].m)) {
            if (json)
                printf("{\"bench\":\"wtrack\",\"method\":\"%s\",\"available\":false}\n",
                       methods[mi].arg);
            else
                printf("| %s | — | not available on this kernel | | | | | | |\n", methods[mi].arg);
            continue;
        }
        for (int si = 0; si < nsizes; si++) {
            size_t len = sizes[si] << 20, npages = len / page;
            uint8_t *r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            uint64_t *bm = calloc((npages + 63) / 64, 8);
            double start[MAX_RUNS], fault[MAX_RUNS], base[MAX_RUNS], col[NPCT][MAX_RUNS];
            struct result res;
            const char *name = methods[mi].arg;

            if (r == MAP_FAILED || bm == NULL) {
                fprintf(stderr, "wtrack: cannot map %zu MiB\n", sizes[si]);
                return 1;
            }
            memset(r, 1, len); /* populated, as a live arena is */
            for (int k = 0; k < runs; k++) {
                int rc = run_one(methods[mi].m, r, npages, page, bm, &res);

                if (rc != TALOS_OK) {
                    fprintf(stderr, "wtrack: %s %zu MiB: %s\n", name, sizes[si],
                            talos_strerror(rc));
                    return 1;
                }
                base[k] = baseline_ns(r, npages, page);
                start[k] = res.start_us;
                fault[k] = res.fault_ns;
                for (int p = 0; p < NPCT; p++)
                    col[p][k] = res.collect_us[p];
            }
            if (json) {
                printf("{\"bench\":\"wtrack\",\"method\":\"%s\",\"available\":true,\"mib\":%zu,"
                       "\"runs\":%d,\"start_us\":%.1f,\"fault_ns\":%.0f,\"baseline_ns\":%.1f",
                       name, sizes[si], runs, bench_median_double(start, (size_t)runs), bench_median_double(fault, (size_t)runs),
                       bench_median_double(base, (size_t)runs));
                for (int p = 0; p < NPCT; p++)
                    printf(",\"collect_%d_us\":%.1f", pcts[p], bench_median_double(col[p], (size_t)runs));
                printf("}\n");
            } else {
                printf("| %s | %zu MiB | %.0f | %.0f | %.1f", name, sizes[si], bench_median_double(start, (size_t)runs),
                       bench_median_double(fault, (size_t)runs), bench_median_double(base, (size_t)runs));
                for (int p = 0; p < NPCT; p++)
                    printf(" | %.0f", bench_median_double(col[p], (size_t)runs));
                printf(" |\n");
            }
            fflush(stdout);
            munmap(r, len);
            free(bm);
        }
    }
    return 0;
}
