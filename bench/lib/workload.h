/* The TA workloads of bench/overhead.c and bench/icount.c, shared so that
 * both measure the same calls: kvstore (50 % put, 50 % get of 1 000 keys,
 * 100-byte values, after one `fill`), ledger (transfers of 1 between random
 * pairs of 100 accounts, after opening them) and the probe TA's `noop`. */
#ifndef TALOS_BENCH_WORKLOAD_H
#define TALOS_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

struct talos_ta;

struct bench_app {
    const char *name;
    int (*setup)(struct talos_ta *); /* NULL: nothing to set up */
    int (*op)(struct talos_ta *);    /* one call of the workload */
};

/* kvstore, ledger, probe; bench_app_find: by name, or NULL. */
extern const struct bench_app bench_apps[];
extern const size_t bench_napps;
const struct bench_app *bench_app_find(const char *name);

/* The workloads draw keys and accounts from one xorshift generator: reset
 * it to make a run's calls the same as another's. */
void bench_workload_reset(void);

#endif
