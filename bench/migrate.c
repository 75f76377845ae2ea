/* Migration benchmark: a kvstore TA moves from "node A" to "node B" through
 * the host API (no talosd, no CLI, no node preamble). Both nodes live in
 * this process: two talos_hosts with their own state directories, i.e. two
 * sim platforms under one sim CA, joined by a TCP loopback connection.
 *
 *   migrate KVSTORE_TA [--runs N] [--runs-large N] [--pooled [--cold-arena]] [--tsv] [SIZE...]
 *
 * For each SIZE (default 64K 1M 16M 64M 256M), each run: create a fresh
 * kvstore on A, `fill` it with 4000-byte values up to about SIZE bytes of
 * state, take its `digest`; then (clock starts) create a target on B, connect,
 * run talos_ta_migrate_out on A and talos_ta_migrate_in on B concurrently
 * (clock stops when both have returned); check that the target's digest
 * equals the source's. Prints medians over the runs (each column on its
 * own), in ms. --runs-large applies to sizes of 128 MiB and more.
 *
 *   total       wall time around the migrate_out/migrate_in pair
 *   e2e         talos_ta_create_target start .. both calls returned
 *               (target launch + connect + total): what a user waits for
 *   launch      talos_ta_create_target alone
 *   the phases  as the TAs report them (struct talos_migration): prepare,
 *               checkpoint, transfer, downtime, activate and the TA-side total
 *               from the source, restore from the target
 *   cpu S, T    CPU time each TA process used during its migration (all threads)
 *   cpu bound   (cpu S + cpu T) / online cores: the wall time below which that
 *               work cannot finish on this machine, however well it overlaps
 *
 * --pooled: the target is started before the source is created and filled,
 * made to fault in as much arena as the state will need (its size + 25 % +
 * 1 MiB, talos_ta_prefault: talosd --pool-arena), then left 100 ms to finish
 * its start-up work, as a target from a node's warm pool would be; e2e is
 * then connect + total (launch is not waited for). --cold-arena leaves the
 * pre-fault out (the pool before talosd --pool-arena).
 *
 * One job over 400 lines: one benchmark, its options, its runs and its
 * report; the statistics live in bench/lib. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/lib/stats.h"

#include "talos/talos.h"

#define MAX_SIZES 16
#define MAX_RUNS 50
#define VALUE_SIZE 4000
#define BYTES_PER_KEY 4064 /* 4000-byte value + key + kvstore node + arena chunk tags */

static uint64_t median(const uint64_t *v, int n)
{
    uint64_t s[MAX_RUNS]; /* v stays in run order: min and max read it too */
    memcpy(s, v, (size_t)n * sizeof(*v));
    return bench_median_u64(s, (size_t)n);
}

static double median_ms(const uint64_t *v, int n) { return (double)median(v, n) / 1e6; }

static double min_ms(const uint64_t *v, int n)
{
    uint64_t m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return (double)m / 1e6;
}

static double max_ms(const uint64_t *v, int n)
{
    uint64_t m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return (double)m / 1e6;
}

/* One run's measurements, ns (state in bytes). */
enum {
    S_TOTAL,
    S_E2E,
    S_LAUNCH,
    S_CONNECT,
    S_TA_TOTAL,
    S_DOWNTIME,
    S_PREPARE,
    S_CHECKPOINT,
    S_TRANSFER,
    S_RESTORE,
    S_ACTIVATE,
    S_TARGET_TOTAL,
    S_STATE,
    S_CPU_S,
    S_CPU_T,
    S_CPU_BOUND,
    S_N
};
static const char *const col_names[S_N] = {
    "total",       "e2e",        "launch",     "connect",  "ta_total", "downtime",
    "prepare",     "checkpoint", "transfer",   "restore",  "activate", "target_total",
    "state_bytes", "source_cpu", "target_cpu", "cpu_bound"};
/* The TSV's columns after state_bytes: the spread, then the CPU columns
 * (appended, so that older readers of the first columns still work). */

struct bench {
    struct talos_host *a, *b;
    const char *image;
    int listen_fd;
    struct sockaddr_in addr;
    int pooled; /* target started before the source is filled, then left to settle */
    int cold_arena; /* --pooled without talos_ta_prefault: the arena faults in during the import */
};

static int call(struct talos_ta *ta, const char *ecall, int argc, const char *const *args,
                char *out, size_t cap)
{
    struct talos_buf argv[4];
    struct talos_result res;
    int rc = TALOS_OK;

    for (int i = 0; i < argc; i++)
        argv[i] = (struct talos_buf){args[i], strlen(args[i])};
    if ((rc = talos_ta_call(ta, ecall, argc, argv, &res)) != TALOS_OK) {
        fprintf(stderr, "migrate: %s: %s\n", ecall, talos_strerror(rc));
        return rc;
    }
    if ((rc = res.status) != TALOS_OK)
        fprintf(stderr, "migrate: %s: %s (%s)\n", ecall, talos_strerror(rc), res.reason);
    else if (out)
        snprintf(out, cap, "%s", (const char *)res.out);
    talos_result_clear(&res);
    return rc;
}

struct in_job {
    struct talos_ta *ta;
    int fd, rc;
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    struct talos_migration m;
};

static void *migrate_in_thread(void *arg)
{
    struct in_job *j = arg;
    j->rc = talos_ta_migrate_in(j->ta, j->fd, j->lineage, &j->m);
    return NULL;
}

/* A connected loopback pair through the listener: a = node A's end. */
static int connect_pair(struct bench *bn, int *a, int *b)
{
    int one = 1;
    if ((*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect(*a, (struct sockaddr *)&bn->addr, sizeof(bn->addr)) != 0 ||
        (*b = accept4(bn->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
        close(*a);
        return -1;
    }
    /* As talosd does on both ends. */
    (void)setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

/* One migration of a kvstore holding n_keys values; fills s[]. 0 = ok. */
static int one_run(struct bench *bn, uint64_t n_keys, unsigned seed, uint64_t s[S_N])
{
    const struct talos_ta_options opt = {.mode = TALOS_CALL_PASSIVE};
    struct talos_ta *src = NULL, *dst = NULL;
    struct talos_migration mo;
    struct in_job in = {.fd = -1};
    pthread_t th;
    char n_s[24], size_s[24], seed_s[24], d0[80] = "", d1[80] = "";
    const char *fill_args[3] = {n_s, size_s, seed_s};
    int fa = -1, fb = -1, rc = -1;

    snprintf(n_s, sizeof(n_s), "%llu", (unsigned long long)n_keys);
    snprintf(size_s, sizeof(size_s), "%u", VALUE_SIZE);
    snprintf(seed_s, sizeof(seed_s), "%u", seed);
    uint64_t t0 = 0, t1 = 0;
    if (bn->pooled) {
        t0 = bench_now_ns();
        if ((rc = talos_ta_create_target(bn->b, bn->image, &opt, &dst)) != TALOS_OK) {
            fprintf(stderr, "migrate: create_target on B: %s\n", talos_strerror(rc));
            goto out;
        }
        t1 = bench_now_ns();
        uint64_t state = n_keys * BYTES_PER_KEY;
        if (!bn->cold_arena &&
            (rc = talos_ta_prefault(dst, state + state / 4 + (1u << 20))) != TALOS_OK) {
            fprintf(stderr, "migrate: prefault on B: %s\n", talos_strerror(rc));
            goto out;
        }
    }
    if ((rc = talos_ta_create(bn->a, bn->image, &opt, &src)) != TALOS_OK) {
        fprintf(stderr, "migrate: create on A: %s\n", talos_strerror(rc));
        goto out;
    }
    if (call(src, "fill", 3, fill_args, NULL, 0) || call(src, "digest", 0, NULL, d0, sizeof(d0))) {
        rc = -1;
        goto out;
    }

    if (bn->pooled) {
        usleep(100 * 1000); /* as a pooled target would be: its start-up work done */
    } else {
        t0 = bench_now_ns();
        if ((rc = talos_ta_create_target(bn->b, bn->image, &opt, &dst)) != TALOS_OK) {
            fprintf(stderr, "migrate: create_target on B: %s\n", talos_strerror(rc));
            goto out;
        }
        t1 = bench_now_ns();
    }
    uint64_t tc = bench_now_ns();
    if (connect_pair(bn, &fa, &fb) != 0) {
        fprintf(stderr, "migrate: loopback connection: %s\n", strerror(errno));
        rc = -1;
        goto out;
    }
    uint64_t t2 = bench_now_ns();
    in.ta = dst;
    in.fd = fb;
    struct talos_ta_info si;
    if (talos_ta_info(src, &si) == TALOS_OK) /* as the source's node announces it */
        memcpy(in.lineage, si.lineage, sizeof(in.lineage));
    if (pthread_create(&th, NULL, migrate_in_thread, &in) != 0) {
        close(fa);
        close(fb);
        rc = -1;
        goto out;
    }
    int rc_out = talos_ta_migrate_out(src, fa, &mo); /* both take ownership of their socket */
    pthread_join(th, NULL);
    uint64_t t3 = bench_now_ns();

    if (rc_out != TALOS_OK || mo.status != TALOS_OK || in.rc != TALOS_OK || in.m.status != TALOS_OK) {
        fprintf(stderr, "migrate: migration failed: source %s (%s), target %s (%s)\n",
                talos_strerror(rc_out ? rc_out : mo.status), mo.reason,
                talos_strerror(in.rc ? in.rc : in.m.status), in.m.reason);
        rc = -1;
        goto out;
    }
    if (call(dst, "digest", 0, NULL, d1, sizeof(d1)) != TALOS_OK) {
        rc = -1;
        goto out;
    }
    if (strcmp(d0, d1) != 0) {
        fprintf(stderr, "migrate: digest differs after migration: %s before, %s after\n", d0, d1);
        rc = -1;
        goto out;
    }
    s[S_TOTAL] = t3 - t2;
    s[S_E2E] = bn->pooled ? t3 - tc : t3 - t0;
    s[S_LAUNCH] = t1 - t0;
    s[S_CONNECT] = t2 - tc;
    s[S_TA_TOTAL] = mo.total_ns;
    s[S_DOWNTIME] = mo.downtime_ns;
    s[S_PREPARE] = mo.prepare_ns;
    s[S_CHECKPOINT] = mo.checkpoint_ns;
    s[S_TRANSFER] = mo.transfer_ns;
    s[S_RESTORE] = in.m.restore_ns;
    s[S_ACTIVATE] = mo.activate_ns;
    s[S_TARGET_TOTAL] = in.m.total_ns;
    s[S_STATE] = mo.state_bytes;
    /* Both TAs' CPU time over the cores: no schedule of that work on this
     * machine finishes sooner (the floor the CPU alone sets). */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    s[S_CPU_S] = mo.cpu_ns;
    s[S_CPU_T] = in.m.cpu_ns;
    s[S_CPU_BOUND] = (mo.cpu_ns + in.m.cpu_ns) / (uint64_t)(cores > 0 ? cores : 1);
    rc = 0;
out:
    talos_ta_destroy(src);
    talos_ta_destroy(dst);
    return rc;
}

static int open_host(const char *root, const char *name, struct talos_host **h)
{
    char dir[512];
    struct talos_host_config hc = {0};
    int rc = TALOS_OK;

    snprintf(dir, sizeof(dir), "%s/%s", root, name);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "migrate: mkdir %s: %s\n", dir, strerror(errno));
        return TALOS_ERR_IO;
    }
    hc.state_dir = dir;
    if ((rc = talos_host_open(&hc, h)) != TALOS_OK)
        fprintf(stderr, "migrate: open host %s: %s\n", name, talos_strerror(rc));
    return rc;
}

int main(int argc, char **argv)
{
    char root[] = "/tmp/talos-bench-mig.XXXXXX", ca[600];
    size_t sizes[MAX_SIZES], n_sizes = 0;
    int runs = 5, runs_large = 5, tsv = 0, status = 1;
    struct bench bn = {.listen_fd = -1};
    socklen_t sl = sizeof(bn.addr);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = runs_large = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs-large") == 0 && i + 1 < argc)
            runs_large = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cold-arena") == 0)
            bn.cold_arena = 1;
        else if (strcmp(argv[i], "--pooled") == 0)
            bn.pooled = 1;
        else if (strcmp(argv[i], "--tsv") == 0)
            tsv = 1;
        else if (!bn.image)
            bn.image = argv[i];
        else if (n_sizes < MAX_SIZES)
            sizes[n_sizes++] = bench_parse_size("migrate", argv[i]);
    }
    if (!bn.image || runs < 1 || runs > MAX_RUNS || runs_large < 1 || runs_large > MAX_RUNS) {
        fprintf(stderr, "usage: migrate KVSTORE_TA [--runs N] [--runs-large N] [--pooled [--cold-arena]] [--tsv] [SIZE...]\n");
        return 2;
    }
    if (!n_sizes)
        n_sizes = bench_default_sizes(sizes, MAX_SIZES);
    if (!mkdtemp(root)) {
        perror("migrate: mkdtemp");
        return 1;
    }
    /* One sim CA for both nodes: a temp one unless the caller chose one. */
    if (!getenv("TALOS_SIM_CA")) {
        snprintf(ca, sizeof(ca), "%s/sim-ca", root);
        setenv("TALOS_SIM_CA", ca, 1);
    }
    if (open_host(root, "A", &bn.a) != TALOS_OK || open_host(root, "B", &bn.b) != TALOS_OK)
        goto out;
    bn.addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if ((bn.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(bn.listen_fd, (struct sockaddr *)&bn.addr, sizeof(bn.addr)) != 0 ||
        listen(bn.listen_fd, 4) != 0 ||
        getsockname(bn.listen_fd, (struct sockaddr *)&bn.addr, &sl) != 0) {
        perror("migrate: loopback listener");
        goto out;
    }

    /* Base state of an empty kvstore (arena header, root, buckets, persist). */
    uint64_t base = 0;
    {
        struct talos_ta *t = NULL;
        struct talos_ta_info info;
        const struct talos_ta_options opt = {.mode = TALOS_CALL_PASSIVE};
        if (talos_ta_create(bn.a, bn.image, &opt, &t) != TALOS_OK || talos_ta_info(t, &info) != TALOS_OK) {
            fprintf(stderr, "migrate: cannot start %s\n", bn.image);
            talos_ta_destroy(t);
            goto out;
        }
        base = info.state_bytes;
        talos_ta_destroy(t);
    }
    /* Warm-up, not counted: one 1 MiB migration (page cache, first launches). */
    {
        uint64_t s[S_N];
        if (one_run(&bn, (1u << 20) / BYTES_PER_KEY, 99, s) != 0)
            goto out;
    }

    if (tsv) {
        printf("# size_target\tn_keys\truns");
        for (int c = 0; c <= S_STATE; c++)
            printf("\t%s%s", col_names[c], c == S_STATE ? "" : "_ms");
        printf("\ttotal_min_ms\ttotal_max_ms\te2e_min_ms\te2e_max_ms");
        for (int c = S_STATE + 1; c < S_N; c++)
            printf("\t%s_ms", col_names[c]);
        printf("\n");
    } else {
        printf(
            "| size | state bytes | runs | total | e2e | launch | downtime | prepare | checkpoint "
            "| transfer | restore | activate | total min..max | cpu S | cpu T | cpu bound |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    }
    for (size_t k = 0; k < n_sizes; k++) {
        uint64_t v[S_N][MAX_RUNS];
        uint64_t n_keys = sizes[k] > base + BYTES_PER_KEY ? (sizes[k] - base) / BYTES_PER_KEY : 1;
        int nr = sizes[k] >= (128u << 20) ? runs_large : runs;
        for (int r = 0; r < nr; r++) {
            uint64_t s[S_N];
            if (one_run(&bn, n_keys, (unsigned)(r + 1), s) != 0) {
                fprintf(stderr, "migrate: size %zu, run %d failed\n", sizes[k], r + 1);
                goto out;
            }
            for (int c = 0; c < S_N; c++)
                v[c][r] = s[c];
            if (getenv("MIGRATE_VERBOSE"))
                fprintf(stderr, "migrate: %zu run %d: total %.3f e2e %.3f launch %.3f prepare %.3f "
                        "transfer %.3f restore %.3f activate %.3f downtime %.3f\n", sizes[k], r + 1,
                        s[S_TOTAL] / 1e6, s[S_E2E] / 1e6, s[S_LAUNCH] / 1e6, s[S_PREPARE] / 1e6,
                        s[S_TRANSFER] / 1e6, s[S_RESTORE] / 1e6, s[S_ACTIVATE] / 1e6,
                        s[S_DOWNTIME] / 1e6);
        }
        if (tsv) {
            printf("%zu\t%llu\t%d", sizes[k], (unsigned long long)n_keys, nr);
            for (int c = 0; c <= S_STATE; c++) {
                if (c == S_STATE)
                    printf("\t%llu", (unsigned long long)median(v[c], nr));
                else
                    printf("\t%.3f", median_ms(v[c], nr));
            }
            printf("\t%.3f\t%.3f\t%.3f\t%.3f", min_ms(v[S_TOTAL], nr), max_ms(v[S_TOTAL], nr),
                   min_ms(v[S_E2E], nr), max_ms(v[S_E2E], nr));
            for (int c = S_STATE + 1; c < S_N; c++)
                printf("\t%.3f", median_ms(v[c], nr));
            printf("\n");
        } else {
            printf("| %zu KiB | %llu | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f "
                   "| %.3f "
                   "| %.3f..%.3f | %.3f | %.3f | %.3f |\n",
                   sizes[k] >> 10, (unsigned long long)median(v[S_STATE], nr), nr,
                   median_ms(v[S_TOTAL], nr), median_ms(v[S_E2E], nr), median_ms(v[S_LAUNCH], nr),
                   median_ms(v[S_DOWNTIME], nr), median_ms(v[S_PREPARE], nr),
                   median_ms(v[S_CHECKPOINT], nr), median_ms(v[S_TRANSFER], nr),
                   median_ms(v[S_RESTORE], nr), median_ms(v[S_ACTIVATE], nr),
                   min_ms(v[S_TOTAL], nr), max_ms(v[S_TOTAL], nr), median_ms(v[S_CPU_S], nr),
                   median_ms(v[S_CPU_T], nr), median_ms(v[S_CPU_BOUND], nr));
        }
        fflush(stdout);
    }
    status = 0;
out:
    if (bn.listen_fd >= 0)
        close(bn.listen_fd);
    talos_host_close(bn.a);
    talos_host_close(bn.b);
    /* Best effort: platform keys and images live in the temp dir. */
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "migrate: could not remove %s\n", root);
    return status;
}
