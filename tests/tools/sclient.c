/* sclient: drive secure client sessions (include/talos/client.h) for the
 * session tests and benchmarks.
 *
 *   sclient [--allow-sim] [--anchors PEM] --measurement HEX --node HOST:PORT --ta ID MODE ...
 *
 * MODE:
 *   writers N K ECALL ARG...  N threads, each with its own session, each
 *                             making K calls (K = 0: until the file
 *                             $SCLIENT_STOP exists); "{i}" in an argument becomes
 *                             the thread's index, "{j}" the call's. Per
 *                             thread one line: "client I acked A moves M
 *                             replays R version V". Fails (exit 1) on any
 *                             call that got no answer, a refusal by the TA,
 *                             or a version that went down.
 *   rtt N ECALL ARG...        one session, N calls: JSON with the setup time
 *                             and the median, p10 and p90 round trip (µs).
 *   load N SECONDS ECALL ARG... N sessions calling for SECONDS: JSON calls/s.
 *   setup N                   open and close N sessions: JSON with the
 *                             median time to an open, verified session.
 *   gaps N SECONDS ECALL ARG... N sessions calling for SECONDS; JSON with
 *                             the longest time any client waited for an
 *                             answer (a migration's downtime as clients
 *                             see it) and the reconnections' setup times.
 *   plain-rtt SOCK N ECALL ARG... the same calls through talosd's control
 *                             socket SOCK (the plain path), for comparison
 *                             (--node, --ta still name the TA; no session).
 *   script                    one session, driven by stdin: after it opens,
 *                             "open version V node N"; then each line
 *                             "ECALL ARG..." is one call, answered by one
 *                             line "rc R status S version V replayed P
 *                             moves M out OUT" (R, S: error names). An
 *                             empty line or EOF ends it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "talos/client.h"
#include "talos/ta.h"

static struct talos_policy *policy;
static const char *node_addr;
static uint8_t lineage[TALOS_LINEAGE_BYTES];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int failed;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int die(const char *what, int rc, const char *why)
{
    fprintf(stderr, "sclient: %s: %s: %s\n", what, talos_errname(rc), why && why[0] ? why : "");
    return 1;
}

struct job {
    int index, calls, argc;
    double seconds;
    const char *ecall;
    char **argv;
    long done;
};

/* argv with {i} and {j} replaced, into bufs. */
static void expand(const struct job *jb, int j, char bufs[][128], struct talos_buf *av)
{
    for (int k = 0; k < jb->argc; k++) {
        char *o = bufs[k];
        size_t n = 0;
        for (const char *s = jb->argv[k]; *s && n < 100; s++) {
            if (s[0] == '{' && (s[1] == 'i' || s[1] == 'j') && s[2] == '}') {
                n += (size_t)snprintf(o + n, 128 - n, "%d", s[1] == 'i' ? jb->index : j);
                s += 2;
            } else {
                o[n++] = *s;
            }
        }
        o[n] = '\0';
        av[k].ptr = o;
        av[k].len = n;
    }
}

static void *writer(void *arg)
{
    struct job *jb = arg;
    struct talos_session *s = NULL;
    struct talos_session_info info;
    char why[256] = "", bufs[TALOS_MAX_ARGS][128];
    struct talos_buf av[TALOS_MAX_ARGS];
    uint64_t last = 0;
    int rc = talos_session_open(node_addr, lineage, policy, NULL, &s, why, sizeof(why));

    if (rc != TALOS_OK) {
        pthread_mutex_lock(&out_lock);
        failed = die("open", rc, why);
        pthread_mutex_unlock(&out_lock);
        return NULL;
    }
    double end = now_ms() + jb->seconds * 1e3;
    const char *stop = getenv("SCLIENT_STOP"); /* writers with K = 0: until this file exists */
    for (int j = 0; jb->seconds > 0 ? now_ms() < end
                    : jb->calls > 0 ? j < jb->calls
                                    : stop && access(stop, F_OK) != 0;
         j++) {
        struct talos_session_result res;
        expand(jb, j, bufs, av);
        rc = talos_session_call(s, jb->ecall, jb->argc, av, &res);
        if (rc != TALOS_OK || res.status != TALOS_OK || res.version < last) {
            pthread_mutex_lock(&out_lock);
            failed = die(jb->ecall, rc != TALOS_OK ? rc : res.status != TALOS_OK ? res.status
                                                                          : TALOS_ERR_ROLLBACK,
                         rc != TALOS_OK ? talos_session_error(s) : res.reason);
            pthread_mutex_unlock(&out_lock);
            talos_session_result_clear(&res);
            break;
        }
        last = res.version;
        jb->done++;
        talos_session_result_clear(&res);
    }
    talos_session_info(s, &info);
    if (jb->seconds == 0) {
        pthread_mutex_lock(&out_lock);
        printf("client %d acked %ld moves %u replays %u version %llu\n", jb->index, jb->done,
               info.moves, info.replays, (unsigned long long)info.version);
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
    }
    talos_session_close(s);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int rtt(int n, const char *ecall, int argc, char **argv)
{
    struct talos_session *s = NULL;
    struct talos_session_info info;
    struct talos_buf av[TALOS_MAX_ARGS];
    char why[256] = "";
    double *t = calloc((size_t)n, sizeof(double));
    double t0 = now_ms();
    int rc = talos_session_open(node_addr, lineage, policy, NULL, &s, why, sizeof(why));
    double setup = now_ms() - t0;

    if (rc != TALOS_OK || !t) {
        free(t);
        return die("open", rc, why);
    }
    for (int k = 0; k < argc; k++)
        av[k].ptr = argv[k], av[k].len = strlen(argv[k]);
    for (int i = 0; i < n; i++) {
        struct talos_session_result res;
        double a = now_ms();
        rc = talos_session_call(s, ecall, argc, av, &res);
        t[i] = (now_ms() - a) * 1e3;
        int st = res.status;
        talos_session_result_clear(&res);
        if (rc != TALOS_OK || st != TALOS_OK) {
            free(t);
            rc = die(ecall, rc != TALOS_OK ? rc : st, talos_session_error(s));
            talos_session_close(s);
            return rc;
        }
    }
    talos_session_info(s, &info);
    qsort(t, (size_t)n, sizeof(double), cmp_d);
    printf("{\"setup_ms\": %.3f, \"lib_setup_ms\": %.3f, \"calls\": %d, \"median_us\": %.1f, "
           "\"p10_us\": %.1f, \"p90_us\": %.1f}\n",
           setup, info.setup_ms, n, t[n / 2], t[n / 10], t[n * 9 / 10]);
    free(t);
    talos_session_close(s);
    return 0;
}

static int run_jobs(int n, int calls, double seconds, const char *ecall, int argc, char **argv)
{
    struct job *jobs = calloc((size_t)n, sizeof(*jobs));
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    long total = 0;
    double t0 = now_ms();

    if (!jobs || !th)
        return 1;
    for (int i = 0; i < n; i++) {
        jobs[i] = (struct job){.index = i, .calls = calls, .seconds = seconds, .ecall = ecall,
                               .argc = argc, .argv = argv};
        if (pthread_create(&th[i], NULL, writer, &jobs[i]) != 0)
            return 1;
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += jobs[i].done;
    }
    if (seconds > 0)
        printf("{\"clients\": %d, \"calls\": %ld, \"seconds\": %.3f, \"calls_per_s\": %.1f}\n", n,
               total, (now_ms() - t0) / 1e3, (double)total / ((now_ms() - t0) / 1e3));
    free(jobs);
    free(th);
    return failed;
}

static int script(void)
{
    struct talos_session *s = NULL;
    struct talos_session_info info;
    char why[256] = "", line[4096];
    int rc = talos_session_open(node_addr, lineage, policy, NULL, &s, why, sizeof(why));

    if (rc != TALOS_OK) {
        printf("open-failed %s %s\n", talos_errname(rc), why);
        return 1;
    }
    talos_session_info(s, &info);
    printf("open version %llu node %s\n", (unsigned long long)info.version, info.node);
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin) && line[0] != '\n') {
        struct talos_buf av[TALOS_MAX_ARGS];
        struct talos_session_result res;
        char *words[TALOS_MAX_ARGS + 1], *save = NULL;
        int n = 0;
        for (char *w = strtok_r(line, " \n", &save); w && n <= TALOS_MAX_ARGS;
             w = strtok_r(NULL, " \n", &save))
            words[n++] = w;
        if (n == 0)
            break;
        for (int k = 1; k < n; k++)
            av[k - 1].ptr = words[k], av[k - 1].len = strlen(words[k]);
        rc = talos_session_call(s, words[0], n - 1, av, &res);
        talos_session_info(s, &info);
        printf("rc %s status %s version %llu replayed %d moves %u out %s\n", talos_errname(rc),
               rc == TALOS_OK ? talos_errname(res.status) : "-",
               (unsigned long long)(rc == TALOS_OK ? res.version : info.version),
               rc == TALOS_OK && res.replayed, info.moves,
               rc == TALOS_OK && res.out ? (char *)res.out : talos_session_error(s));
        fflush(stdout);
        if (rc == TALOS_OK)
            talos_session_result_clear(&res);
    }
    talos_session_close(s);
    return 0;
}

static int setup(int n)
{
    double *t = calloc((size_t)n, sizeof(double));
    char why[256] = "";

    if (!t)
        return 1;
    for (int i = 0; i < n; i++) {
        struct talos_session *s = NULL;
        double a = now_ms();
        int rc = talos_session_open(node_addr, lineage, policy, NULL, &s, why, sizeof(why));
        t[i] = now_ms() - a;
        talos_session_close(s);
        if (rc != TALOS_OK) {
            free(t);
            return die("open", rc, why);
        }
    }
    qsort(t, (size_t)n, sizeof(double), cmp_d);
    printf("{\"sessions\": %d, \"setup_median_ms\": %.3f, \"setup_p90_ms\": %.3f}\n", n,
           t[n / 2], t[n * 9 / 10]);
    free(t);
    return 0;
}

/* --- gaps: the longest wait of any client during a run ----------------- */

struct gap_job {
    struct job j;
    double worst_ms, worst_at, reconnect_ms;
    double move_ms;       /* the wait of the call during which the session moved */
    double move_excl_ms;  /* ... less the reconnection (setup) paid during it */
    double *waits;        /* every other call's wait, for the baseline */
    long n_waits, cap_waits;
    unsigned moves;
};

static void *gap_worker(void *arg)
{
    struct gap_job *g = arg;
    struct talos_session *s = NULL;
    struct talos_session_info info;
    struct talos_buf av[TALOS_MAX_ARGS];
    char why[256] = "";
    int rc = talos_session_open(node_addr, lineage, policy, NULL, &s, why, sizeof(why));

    if (rc != TALOS_OK) {
        pthread_mutex_lock(&out_lock);
        failed = die("open", rc, why);
        pthread_mutex_unlock(&out_lock);
        return NULL;
    }
    for (int k = 0; k < g->j.argc; k++)
        av[k].ptr = g->j.argv[k], av[k].len = strlen(g->j.argv[k]);
    double end = now_ms() + g->j.seconds * 1e3;
    while (now_ms() < end) {
        struct talos_session_result res;
        double a = now_ms();
        unsigned moves_before = 0;
        talos_session_info(s, &info);
        moves_before = info.moves;
        rc = talos_session_call(s, g->j.ecall, g->j.argc, av, &res);
        double d = now_ms() - a;
        int st = rc == TALOS_OK ? res.status : rc;
        if (rc == TALOS_OK)
            talos_session_result_clear(&res);
        if (st != TALOS_OK) {
            pthread_mutex_lock(&out_lock);
            failed = die(g->j.ecall, st, talos_session_error(s));
            pthread_mutex_unlock(&out_lock);
            break;
        }
        talos_session_info(s, &info);
        if (info.moves != moves_before) {
            if (info.setup_ms > g->reconnect_ms)
                g->reconnect_ms = info.setup_ms;
            if (d > g->move_ms)
                g->move_ms = d, g->move_excl_ms = d - info.setup_ms;
        } else if (g->n_waits < g->cap_waits) {
            g->waits[g->n_waits++] = d;
        }
        if (d > g->worst_ms)
            g->worst_ms = d, g->worst_at = a;
        g->j.done++;
    }
    talos_session_info(s, &info);
    g->moves = info.moves;
    talos_session_close(s);
    return NULL;
}

static int gaps(int n, double seconds, const char *ecall, int argc, char **argv)
{
    struct gap_job *g = calloc((size_t)n, sizeof(*g));
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    double worst = 0, reconnect = 0, move = 0, excl = 0, *all = NULL;
    long n_all = 0;
    long calls = 0;
    unsigned moved = 0;

    if (!g || !th)
        return 1;
    for (int i = 0; i < n; i++) {
        g[i].j = (struct job){.index = i, .seconds = seconds, .ecall = ecall, .argc = argc,
                              .argv = argv};
        g[i].cap_waits = 1 << 20;
        if (!(g[i].waits = malloc((size_t)g[i].cap_waits * sizeof(double))))
            return 1;
        if (pthread_create(&th[i], NULL, gap_worker, &g[i]) != 0)
            return 1;
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        worst = g[i].worst_ms > worst ? g[i].worst_ms : worst;
        reconnect = g[i].reconnect_ms > reconnect ? g[i].reconnect_ms : reconnect;
        if (g[i].move_ms > move)
            move = g[i].move_ms;
        excl = g[i].move_excl_ms > excl ? g[i].move_excl_ms : excl;
        double *grown = realloc(all, (size_t)(n_all + g[i].n_waits + 1) * sizeof(double));
        if (grown) {
            all = grown;
            memcpy(all + n_all, g[i].waits, (size_t)g[i].n_waits * sizeof(double));
            n_all += g[i].n_waits;
        }
        free(g[i].waits);
        calls += g[i].j.done;
        moved += g[i].moves > 0;
    }
    if (n_all)
        qsort(all, (size_t)n_all, sizeof(double), cmp_d);
    /* The move's wait against what calls wait anyway on this machine. */
    printf("{\"clients\": %d, \"calls\": %ld, \"max_wait_ms\": %.3f, \"move_wait_ms\": %.3f, "
           "\"move_wait_less_reconnect_ms\": %.3f, \"max_reconnect_setup_ms\": %.3f, "
           "\"other_calls_p99_ms\": %.3f, \"other_calls_max_ms\": %.3f, \"clients_moved\": %u}\n",
           n, calls, worst, move, excl, reconnect, n_all ? all[n_all * 99 / 100] : 0,
           n_all ? all[n_all - 1] : 0, moved);
    free(all);
    free(g);
    free(th);
    return failed;
}

/* --- the plain path, for comparison: talosd's control socket ------------ */

static int ctl_call(int fd, const char *req, char *resp, size_t cap)
{
    uint8_t hdr[4], frame[4096 + 4];
    size_t n = strlen(req);
    if (n > sizeof(frame) - 4)
        return -1;
    frame[0] = (uint8_t)(n >> 24), frame[1] = (uint8_t)(n >> 16), frame[2] = (uint8_t)(n >> 8),
    frame[3] = (uint8_t)n;
    memcpy(frame + 4, req, n);
    if (write(fd, frame, n + 4) != (ssize_t)(n + 4)) /* one write, as the session's one record */
        return -1;
    for (size_t got = 0; got < 4;) {
        ssize_t r = read(fd, hdr + got, 4 - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (len >= cap)
        return -1;
    for (size_t got = 0; got < len;) {
        ssize_t r = read(fd, resp + got, len - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    resp[len] = '\0';
    return strstr(resp, "\"ok\": true") || strstr(resp, "\"ok\":true") ? 0 : -1;
}

static int plain_rtt(const char *sock, const char *ta, int n, const char *ecall, int argc,
                     char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char req[4096], resp[8192];
    double *t = calloc((size_t)n, sizeof(double));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    size_t off = 0;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (!t || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        free(t);
        return die("control socket", TALOS_ERR_IO, sock);
    }
    off = (size_t)snprintf(req, sizeof(req), "{\"op\": \"call\", \"id\": \"%s\", \"ecall\": \"%s\", "
                                             "\"args\": [", ta, ecall);
    for (int k = 0; k < argc && off < sizeof(req) - 64; k++)
        off += (size_t)snprintf(req + off, sizeof(req) - off, "%s\"%s\"", k ? ", " : "", argv[k]);
    snprintf(req + off, sizeof(req) - off, "]}");
    for (int i = 0; i < n; i++) {
        double a = now_ms();
        if (ctl_call(fd, req, resp, sizeof(resp)) != 0) {
            free(t);
            close(fd);
            return die("plain call", TALOS_ERR_PROTOCOL, resp);
        }
        t[i] = (now_ms() - a) * 1e3;
    }
    close(fd);
    qsort(t, (size_t)n, sizeof(double), cmp_d);
    printf("{\"path\": \"plain\", \"calls\": %d, \"median_us\": %.1f, \"p10_us\": %.1f, "
           "\"p90_us\": %.1f}\n", n, t[n / 2], t[n / 10], t[n * 9 / 10]);
    free(t);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: sclient [--allow-sim] [--anchors PEM] --measurement HEX --node HOST:PORT "
                    "--ta ID (writers N K | rtt N | load N SECONDS | gaps N SECONDS | plain-rtt SOCK N) "
                    "ECALL [ARG...] | setup N | script\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *m = NULL, *ta = NULL, *anchors = NULL;
    unsigned flags = 0;
    int i = 1;
    uint8_t meas[TALOS_MEASUREMENT_BYTES];

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--allow-sim") == 0)
            flags |= TALOS_VERIFY_ALLOW_SIM;
        else if (i + 1 < argc && strcmp(argv[i], "--measurement") == 0)
            m = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--node") == 0)
            node_addr = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--ta") == 0)
            ta = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--anchors") == 0)
            anchors = argv[++i];
        else
            return usage();
    }
    if (!m || !ta || !node_addr || strlen(m) != 64 || talos_unhex(m, meas, sizeof(meas)) ||
        strlen(ta) != 32 || talos_unhex(ta, lineage, sizeof(lineage)) || argc - i < 1)
        return usage();
    if (talos_policy_new(&policy) != TALOS_OK || talos_policy_allow_measurement(policy, meas))
        return 1;
    talos_policy_set_flags(policy, flags);
    if (anchors) {
        FILE *f = fopen(anchors, "rb");
        static uint8_t pem[1 << 16];
        size_t n = f ? fread(pem, 1, sizeof(pem), f) : 0;
        if (f)
            fclose(f);
        if (!n || talos_policy_set_anchors(policy, pem, n) != TALOS_OK)
            return die("anchors", TALOS_ERR_IO, anchors);
    }
    const char *mode = argv[i++];
    int rc = 2;
    if (strcmp(mode, "writers") == 0 && argc - i >= 3)
        rc = run_jobs(atoi(argv[i]), atoi(argv[i + 1]), 0, argv[i + 2], argc - i - 3, argv + i + 3);
    else if (strcmp(mode, "setup") == 0 && argc - i >= 1)
        rc = setup(atoi(argv[i]));
    else if (strcmp(mode, "gaps") == 0 && argc - i >= 3)
        rc = gaps(atoi(argv[i]), atof(argv[i + 1]), argv[i + 2], argc - i - 3, argv + i + 3);
    else if (strcmp(mode, "plain-rtt") == 0 && argc - i >= 3)
        rc = plain_rtt(argv[i], ta, atoi(argv[i + 1]), argv[i + 2], argc - i - 3, argv + i + 3);
    else if (strcmp(mode, "script") == 0)
        rc = script();
    else if (strcmp(mode, "rtt") == 0 && argc - i >= 2)
        rc = rtt(atoi(argv[i]), argv[i + 1], argc - i - 2, argv + i + 2);
    else if (strcmp(mode, "load") == 0 && argc - i >= 3)
        rc = run_jobs(atoi(argv[i]), 0, atof(argv[i + 1]), argv[i + 2], argc - i - 3, argv + i + 3);
    else
        rc = usage();
    talos_policy_free(policy);
    return rc;
}
