/* The host half of bench/icount.sh (instructions per ecall, callgrind): it
 * runs under `valgrind --tool=callgrind --trace-children=yes
 * --instr-atstart=no --dump-before=on_info --separate-threads=yes`, which
 * follows the sim launcher's exec into the TA process, so that the TA is
 * counted too. Not meant to be run by hand.
 *
 *   icount --ta NAME --image PATH [--calls N] [--warm W] [--rounds R]
 *
 * NAME is a workload of bench/lib/workload.c (kvstore, ledger, probe);
 * PATH a bench-only icount image (build/bench/ta/NAME-icount.ta or
 * NAME-nomig-icount.ta: valgrind cannot run under the product images'
 * seccomp filter, tee/sim/enclave/confine.c). R TAs are started from it in
 * turn, passive mode; each is set up, warmed up with W calls, then makes
 * the same N calls in the same order, framed by INFO frames:
 *
 *     INFO, N calls, INFO, INFO
 *
 * The TA writes a part of its counts as each INFO frame reaches on_info
 * (ta/frames.c): its part 2 holds the N calls plus one INFO frame's round
 * through the serve loop, its part 3 that round alone, so (part 2 - part 3)
 * / N is what one call costs the TA, start-up, fill and warm-up left out.
 * This process counts its own instructions around the N calls only
 * (callgrind client requests: part r of its output for round r). For each
 * TA it prints "run R ta_pid PID calls N" on stdout, after "host_pid PID".
 *
 * Defaults: 2000 calls, 200 warm-up calls, 3 rounds (bench/icount.sh asks for 7). Passive mode only: a
 * switchless side spins while it waits, and its count would measure the
 * wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "bench/lib/stats.h"
#include "bench/lib/workload.h"

#include "talos/talos.h"

static int run(struct talos_host *h, const struct bench_app *a, const char *image, int r,
               long calls, long warm)
{
    struct talos_ta_options opt = {.mode = TALOS_CALL_PASSIVE};
    struct talos_ta_info info;
    struct talos_ta *ta = NULL;
    char name[32];
    int rc = TALOS_OK;

    bench_workload_reset();
    if ((rc = talos_ta_create(h, image, &opt, &ta)) != TALOS_OK) {
        fprintf(stderr, "icount: %s: %s\n", image, talos_strerror(rc));
        return rc;
    }
    if (a->setup && (rc = a->setup(ta)) != TALOS_OK)
        goto out;
    for (long i = 0; i < warm && rc == TALOS_OK; i++)
        rc = a->op(ta);
    if (rc != TALOS_OK || (rc = talos_ta_info(ta, &info)) != TALOS_OK)
        goto out;
    snprintf(name, sizeof(name), "icount-host-%d", r);
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
    for (long i = 0; i < calls && rc == TALOS_OK; i++)
        rc = a->op(ta);
    CALLGRIND_DUMP_STATS_AT(name);
    CALLGRIND_STOP_INSTRUMENTATION;
    /* The TA's parts 2 and 3 end at these two frames. */
    if (rc == TALOS_OK && (rc = talos_ta_info(ta, &info)) == TALOS_OK)
        rc = talos_ta_info(ta, &info);
    if (rc == TALOS_OK)
        printf("run %d ta_pid %d calls %ld\n", r, info.pid, calls);
out:
    if (rc != TALOS_OK)
        fprintf(stderr, "icount: %s run %d: %s\n", a->name, r, talos_strerror(rc));
    talos_ta_destroy(ta); /* the TA exits: callgrind writes its counts */
    return rc;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/talos-bench-icount.XXXXXX";
    struct talos_host_config hc = {0};
    struct talos_host *h = NULL;
    const struct bench_app *a = NULL;
    const char *image = NULL;
    long calls = 2000, warm = 200;
    int rounds = 3, rc = TALOS_OK;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ta") == 0 && i + 1 < argc)
            a = bench_app_find(argv[++i]);
        else if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
            image = argv[++i];
        else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atol(argv[++i]);
        else if (strcmp(argv[i], "--warm") == 0 && i + 1 < argc)
            warm = atol(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else
            image = NULL, i = argc;
    }
    if (!a || !image || calls < 1 || warm < 0 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "usage: icount --ta kvstore|ledger|probe --image PATH [--calls N] "
                        "[--warm W] [--rounds R]   (run by bench/icount.sh under callgrind)\n");
        return 2;
    }
    if (bench_host_open("icount", dir, &hc, &h) != 0)
        return 1;
    printf("host_pid %d\n", (int)getpid());
    for (int r = 1; r <= rounds && rc == TALOS_OK; r++) {
        rc = run(h, a, image, r, calls, warm);
        fflush(stdout);
    }
    talos_host_close(h);
    char cmd[80];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "icount: could not remove %s\n", dir);
    return rc == TALOS_OK ? 0 : 1;
}
