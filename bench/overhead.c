/* Runtime overhead of migration support (issue #5 part 3, the analogue of
 * UniTEE Fig. 10): operations per second of kvstore (50 % put, 50 % get of
 * 1 000 keys, 100-byte values) and ledger (transfers of 1 between random
 * pairs of 100 accounts), driven through the host API, for three builds of
 * the same TA:
 *   nomig    the runtime without migration support (-DTALOS_NO_MIGRATION,
 *            build/bench/ta/<ta>-nomig.ta)
 *   normal   the product image (build/examples/<ta>.ta): migration compiled
 *            in and idle
 *   wtrack   migration compiled in and write tracking armed over the first
 *            TRACK MiB of the arena, collected every 10 ms as pre-copy rounds
 *            would (build/bench/ta/<ta>-wtrack.ta, switched on by
 *            TALOS_BENCH_WTRACK in its environment; ta/bench_wtrack.c)
 * in passive and switchless mode. One TA at a time (a switchless TA spins
 * on a core): each run starts the three builds in turn, rotating the order,
 * fills it, warms it up for MS/3 ms and counts operations for MS ms; RUNS
 * runs, medians per build. overhead = 1 - normal / nomig; the write-tracking
 * column is 1 - wtrack / normal.
 *
 *   overhead [--runs N] [--ms MS] [--track MIB] [--json] [--verbose]
 *            [--only TA[:MODE]] BUILD_DIR
 *
 * Defaults: 7 runs, 300 ms windows, 64 MiB tracked. --json prints one object
 * per (TA, mode) on its own line (bench/run.sh collects them). sim backend:
 * no hardware isolation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/lib/stats.h"
#include "bench/lib/workload.h"

#include "talos/talos.h"

#define MAX_RUNS 51
#define NVAR 3

static const char *const variants[NVAR] = {"nomig", "normal", "wtrack"};

/* kvstore and ledger (bench/lib/workload.c); not the probe TA. */
#define NAPPS 2

/* Operations per second over a window of ms milliseconds. */
static int window(const struct bench_app *a, struct talos_ta *ta, int ms, double *ops_s)
{
    uint64_t t0 = bench_now_ns(), end = t0 + (uint64_t)ms * 1000000u, t = t0, n = 0;
    int rc = TALOS_OK;

    while (t < end) {
        for (int i = 0; i < 32; i++, n++)
            if ((rc = a->op(ta)) != TALOS_OK)
                return rc;
        t = bench_now_ns();
    }
    *ops_s = (double)n * 1e9 / (double)(t - t0);
    return TALOS_OK;
}

static int create(struct talos_host *h, const char *build, const struct bench_app *a, int v,
                  enum talos_call_mode mode, int track_mib, struct talos_ta **out)
{
    char path[512], mib[16];
    struct talos_ta_options opt = {.mode = mode};
    int rc = TALOS_OK;

    if (v == 1)
        snprintf(path, sizeof(path), "%s/examples/%s.ta", build, a->name);
    else
        snprintf(path, sizeof(path), "%s/bench/ta/%s-%s.ta", build, a->name, variants[v]);
    /* The TA inherits this process's environment at launch (sim). */
    snprintf(mib, sizeof(mib), "%d", track_mib);
    if (v == 2)
        setenv("TALOS_BENCH_WTRACK", mib, 1);
    rc = talos_ta_create(h, path, &opt, out);
    unsetenv("TALOS_BENCH_WTRACK");
    if (rc != TALOS_OK) {
        fprintf(stderr, "overhead: %s: %s\n", path, talos_strerror(rc));
        return rc;
    }
    return a->setup(*out);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/talos-bench-overhead.XXXXXX";
    struct talos_host_config hc = {0};
    struct talos_host *h = NULL;
    const char *build = NULL;
    int runs = 7, ms = 300, track = 64, json = 0, verbose = 0, rc = TALOS_OK;
    const char *only = NULL; /* "TA" or "TA:MODE" */

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
            ms = atoi(argv[++i]);
        else if (strcmp(argv[i], "--track") == 0 && i + 1 < argc)
            track = atoi(argv[++i]);
        else if (argv[i][0] != '-' && build == NULL)
            build = argv[i];
        else
            build = NULL, i = argc;
    }
    if (build == NULL || runs < 1 || runs > MAX_RUNS || ms < 10 || track < 1) {
        fprintf(stderr, "usage: overhead [--runs N] [--ms MS] [--track MIB] [--json] [--verbose] "
                        "[--only TA[:MODE]] BUILD_DIR\n");
        return 2;
    }
    if (bench_host_open("overhead", dir, &hc, &h) != 0)
        return 1;
    if (!json) {
        printf("| TA | mode | nomig ops/s | normal ops/s | wtrack ops/s | migration compiled in, idle | "
               "write tracking active |\n|---|---|---:|---:|---:|---:|---:|\n");
    }
    for (size_t ai = 0; ai < NAPPS && rc == TALOS_OK; ai++) {
        for (int mode = 0; mode < 2 && rc == TALOS_OK; mode++) {
            const struct bench_app *a = &bench_apps[ai];
            double ops[NVAR][MAX_RUNS], med[NVAR], best[NVAR], warm = 0;
            const char *mname = mode ? "switchless" : "passive";
            char id[64];

            snprintf(id, sizeof(id), "%s:%s", a->name, mname);
            if (only != NULL && strcmp(only, a->name) != 0 && strcmp(only, id) != 0)
                continue;

            for (int r = 0; r < runs && rc == TALOS_OK; r++)
                for (int k = 0; k < NVAR && rc == TALOS_OK; k++) {
                    int v = (r + k) % NVAR;
                    struct talos_ta *ta = NULL;

                    rc = create(h, build, a, v, mode ? TALOS_CALL_SWITCHLESS : TALOS_CALL_PASSIVE,
                                track, &ta);
                    if (rc == TALOS_OK)
                        rc = window(a, ta, ms / 3, &warm); /* warm-up, not counted */
                    if (rc == TALOS_OK)
                        rc = window(a, ta, ms, &ops[v][r]);
                    if (rc == TALOS_OK && verbose)
                        fprintf(stderr, "overhead: %s %s %s run %d: %.0f ops/s\n", a->name, mname,
                                variants[v], r, ops[v][r]);
                    talos_ta_destroy(ta);
                }
            if (rc != TALOS_OK) {
                fprintf(stderr, "overhead: %s %s: %s\n", a->name, mname, talos_strerror(rc));
                break;
            }
            for (int v = 0; v < NVAR; v++) {
                med[v] = bench_median_double(ops[v], (size_t)runs); /* sorts */
                best[v] = ops[v][runs - 1];
            }
            if (json)
                printf("{\"bench\":\"overhead\",\"ta\":\"%s\",\"mode\":\"%s\",\"runs\":%d,\"ms\":%d,"
                       "\"track_mib\":%d,\"nomig_ops\":%.0f,\"normal_ops\":%.0f,\"wtrack_ops\":%.0f,"
                       "\"overhead_pct\":%.2f,\"wtrack_pct\":%.2f,\"nomig_best\":%.0f,"
                       "\"normal_best\":%.0f,\"wtrack_best\":%.0f}\n",
                       a->name, mname, runs, ms, track, med[0], med[1], med[2],
                       100 * (1 - med[1] / med[0]), 100 * (1 - med[2] / med[1]), best[0], best[1],
                       best[2]);
            else
                printf("| %s | %s | %.0f | %.0f | %.0f | %+.2f %% | %+.2f %% |\n", a->name, mname,
                       med[0], med[1], med[2], 100 * (1 - med[1] / med[0]),
                       100 * (1 - med[2] / med[1]));
            fflush(stdout);
        }
    }
    talos_host_close(h);
    char cmd[80];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "overhead: could not remove %s\n", dir);
    return rc == TALOS_OK ? 0 : 1;
}
