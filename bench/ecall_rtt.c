/* Ecall round trip: a plain function call vs. a TALOS ecall in passive mode
 * (one message per call on a socket) vs. switchless mode (polled shared
 * rings). Uses the host API directly, as an embedding host would.
 *
 *   ecall_rtt PROBE_TA [ITERATIONS] [--json]
 *
 * Prints medians and 99th percentiles in nanoseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/lib/stats.h"

#include "talos/talos.h"

struct stats {
    double median, p99;
};

static struct stats summarize(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_cmp_u64);
    return (struct stats){(double)v[n / 2], (double)v[n * 99 / 100]};
}

__attribute__((noinline)) static int plain_noop(int x)
{
    __asm__ volatile("" ::: "memory");
    return x;
}

/* A plain call is shorter than the clock: time batches of 1000. */
static struct stats bench_plain(size_t iters)
{
    size_t batches = iters / 100 ? iters / 100 : 1;
    uint64_t *v = calloc(batches, sizeof(*v));
    int (*volatile fn)(int) = plain_noop;
    for (size_t b = 0; b < batches; b++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < 1000; i++)
            fn(i);
        v[b] = (bench_now_ns() - t0) / 1000;
    }
    struct stats s = summarize(v, batches);
    free(v);
    return s;
}

static int echo_ocall(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                      size_t resp_cap, size_t *resp_len)
{
    (void)ctx;
    if (req_len > resp_cap)
        return TALOS_ERR_TOO_LARGE;
    memcpy(resp, req, req_len);
    *resp_len = req_len;
    return TALOS_OK;
}

static const struct talos_ocall bench_ocalls[] = {{"echo", echo_ocall, NULL}};

static int bench_ecall(struct talos_host *h, const char *image, enum talos_call_mode mode,
                       size_t iters, const char *ecall, int argc, const struct talos_buf *argv,
                       struct stats *out)
{
    struct talos_ta_options opt = {.mode = mode, .ocalls = bench_ocalls, .n_ocalls = 1};
    struct talos_ta *ta = NULL;
    struct talos_result res;
    uint64_t *v = calloc(iters, sizeof(*v));
    int rc = talos_ta_create(h, image, &opt, &ta);

    if (rc != TALOS_OK || !v)
        goto out;
    for (size_t i = 0; i < iters / 10 + 100; i++) { /* warm up */
        if ((rc = talos_ta_call(ta, ecall, argc, argv, &res)) != TALOS_OK)
            goto out;
        talos_result_clear(&res);
    }
    for (size_t i = 0; i < iters; i++) {
        uint64_t t0 = bench_now_ns();
        rc = talos_ta_call(ta, ecall, argc, argv, &res);
        v[i] = bench_now_ns() - t0;
        if (rc != TALOS_OK || res.status != TALOS_OK) {
            rc = rc ? rc : res.status;
            goto out;
        }
        talos_result_clear(&res);
    }
    *out = summarize(v, iters);
out:
    talos_ta_destroy(ta);
    free(v);
    return rc;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/talos-bench.XXXXXX";
    struct talos_host_config hc = {0};
    struct talos_host *h = NULL;
    size_t iters = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    int json = argc > 3 && strcmp(argv[3], "--json") == 0;
    char payload[1024];
    struct talos_buf arg = {payload, sizeof(payload)};
    struct stats plain, pas, swl, pas1k, swl1k, pas_oc, swl_oc;
    struct talos_buf oc[2] = {{"echo", 4}, {"x", 1}};
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: ecall_rtt PROBE_TA [ITERATIONS] [--json]\n");
        return 2;
    }
    memset(payload, 'p', sizeof(payload));
    if (bench_host_open("ecall_rtt", dir, &hc, &h) != 0)
        return 1;
    plain = bench_plain(iters);
    if ((rc = bench_ecall(h, argv[1], TALOS_CALL_PASSIVE, iters, "noop", 0, NULL, &pas)) ||
        (rc = bench_ecall(h, argv[1], TALOS_CALL_SWITCHLESS, iters, "noop", 0, NULL, &swl)) ||
        (rc = bench_ecall(h, argv[1], TALOS_CALL_PASSIVE, iters, "echo", 1, &arg, &pas1k)) ||
        (rc = bench_ecall(h, argv[1], TALOS_CALL_SWITCHLESS, iters, "echo", 1, &arg, &swl1k)) ||
        (rc = bench_ecall(h, argv[1], TALOS_CALL_PASSIVE, iters / 4, "ocall", 2, oc, &pas_oc)) ||
        (rc = bench_ecall(h, argv[1], TALOS_CALL_SWITCHLESS, iters / 4, "ocall", 2, oc, &swl_oc))) {
        fprintf(stderr, "ecall_rtt: %s\n", talos_strerror(rc));
        talos_host_close(h);
        return 1;
    }
    talos_host_close(h);
    if (json) {
        printf("{\"iterations\": %zu, \"plain_ns\": %.1f, \"passive\": {\"median\": %.0f, \"p99\": %.0f},"
               " \"switchless\": {\"median\": %.0f, \"p99\": %.0f},"
               " \"passive_1k\": {\"median\": %.0f, \"p99\": %.0f},"
               " \"switchless_1k\": {\"median\": %.0f, \"p99\": %.0f},"
               " \"passive_ocall\": {\"median\": %.0f, \"p99\": %.0f},"
               " \"switchless_ocall\": {\"median\": %.0f, \"p99\": %.0f}}\n",
               iters, plain.median, pas.median, pas.p99, swl.median, swl.p99, pas1k.median,
               pas1k.p99, swl1k.median, swl1k.p99, pas_oc.median, pas_oc.p99, swl_oc.median,
               swl_oc.p99);
    } else {
        printf("| call | median | p99 |\n|---|---:|---:|\n");
        printf("| plain function call (no TALOS) | %.1f ns | — |\n", plain.median);
        printf("| ecall `noop`, passive | %.1f µs | %.1f µs |\n", pas.median / 1e3, pas.p99 / 1e3);
        printf("| ecall `noop`, switchless | %.1f µs | %.1f µs |\n", swl.median / 1e3, swl.p99 / 1e3);
        printf("| ecall `echo` 1 KiB, passive | %.1f µs | %.1f µs |\n", pas1k.median / 1e3, pas1k.p99 / 1e3);
        printf("| ecall `echo` 1 KiB, switchless | %.1f µs | %.1f µs |\n", swl1k.median / 1e3, swl1k.p99 / 1e3);
        printf("| ecall + 1 ocall, passive | %.1f µs | %.1f µs |\n", pas_oc.median / 1e3, pas_oc.p99 / 1e3);
        printf("| ecall + 1 ocall, switchless | %.1f µs | %.1f µs |\n", swl_oc.median / 1e3, swl_oc.p99 / 1e3);
    }
    /* Best effort: the platform files live in the temp state dir. */
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "ecall_rtt: could not remove %s\n", dir);
    return 0;
}
