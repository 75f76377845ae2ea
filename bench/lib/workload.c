#include "bench/lib/workload.h"

#include <stdio.h>
#include <string.h>

#include "talos/talos.h"

#define KV_KEYS 1000
#define ACCOUNTS 100
#define RNG_SEED 0x9e3779b97f4a7c15ULL

static uint64_t rng = RNG_SEED;

void bench_workload_reset(void) { rng = RNG_SEED; }

static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static int call(struct talos_ta *ta, const char *ecall, int argc, const struct talos_buf *argv)
{
    struct talos_result res;
    int rc = talos_ta_call(ta, ecall, argc, argv, &res);

    if (rc == TALOS_OK && res.status != TALOS_OK) {
        fprintf(stderr, "bench: %s: %s (%s)\n", ecall, talos_strerror(res.status), res.reason);
        rc = res.status;
    }
    talos_result_clear(&res);
    return rc;
}

/* One operation of the TA's workload. */
static int op_kvstore(struct talos_ta *ta)
{
    char key[16], val[100];
    uint64_t x = next();
    struct talos_buf a[2] = {{key, 0}, {val, sizeof(val)}};

    a[0].len = (size_t)snprintf(key, sizeof(key), "k%u", (unsigned)(x % KV_KEYS));
    if (x >> 63) {
        memset(val, 'a' + (int)(x >> 40) % 26, sizeof(val));
        return call(ta, "put", 2, a);
    }
    return call(ta, "get", 1, a);
}

static int op_ledger(struct talos_ta *ta)
{
    char from[16], to[16];
    uint64_t x = next();
    unsigned f = (unsigned)(x % ACCOUNTS), t = (unsigned)((x >> 20) % (ACCOUNTS - 1));
    struct talos_buf a[3] = {{from, 0}, {to, 0}, {"1", 1}};

    if (t >= f)
        t++;
    a[0].len = (size_t)snprintf(from, sizeof(from), "a%03u", f);
    a[1].len = (size_t)snprintf(to, sizeof(to), "a%03u", t);
    return call(ta, "transfer", 3, a);
}

static int op_probe(struct talos_ta *ta) { return call(ta, "noop", 0, NULL); }

/* One call (`fill`, keys k0..k999): a setup of 1 000 calls would cost
 * seconds per TA when switchless falls into its sleep regime. */
static int setup_kvstore(struct talos_ta *ta)
{
    char n[16];
    struct talos_buf a[2] = {{n, 0}, {"100", 3}};

    a[0].len = (size_t)snprintf(n, sizeof(n), "%u", KV_KEYS);
    return call(ta, "fill", 2, a);
}

static int setup_ledger(struct talos_ta *ta)
{
    char name[16];
    struct talos_buf a[2] = {{name, 0}, {"1000000000", 10}};
    int rc = TALOS_OK;

    for (unsigned i = 0; i < ACCOUNTS && rc == TALOS_OK; i++) {
        a[0].len = (size_t)snprintf(name, sizeof(name), "a%03u", i);
        rc = call(ta, "open", 2, a);
    }
    return rc;
}

const struct bench_app bench_apps[] = {
    {"kvstore", setup_kvstore, op_kvstore},
    {"ledger", setup_ledger, op_ledger},
    {"probe", NULL, op_probe},
};
const size_t bench_napps = sizeof(bench_apps) / sizeof(bench_apps[0]);

const struct bench_app *bench_app_find(const char *name)
{
    for (size_t i = 0; i < bench_napps; i++)
        if (strcmp(bench_apps[i].name, name) == 0)
            return &bench_apps[i];
    return NULL;
}
