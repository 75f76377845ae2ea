/* talosd: one TALOS node. Untrusted by design: it launches TAs, relays
 * their calls, and never holds a TA's keys or plaintext state.
 *
 * One job over 400 lines: the daemon's start — options, the state
 * directory, node identity, the host, the listeners — and its one poll
 * loop; each step is a function here, in the order the node comes up. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/msg.h"
#include "core/reason.h"
#include "node/talosd/clients.h"
#include "node/talosd/node.h"
#include "node/talosd/peerlink.h"
#include "node/talosd/registry.h"
#include "os/sdir.h"

struct node node;
static int stop_pipe[2] = {-1, -1};

static const char usage[] =
    "usage: talosd --state-dir DIR [--listen HOST:PORT] [--backend NAME] [--sim-ca DIR]\n"
    "              [--backend-option BACKEND.KEY=VALUE]...\n"
    "              [--node-cert FILE --node-key FILE --peer-ca FILE] [--image-policy FILE]\n"
    "              [--handoff-wait SECONDS] [--pool-arena SIZE] [--ta-user NAME]\n"
    "              [--client-max N] [--client-per-ta N] [--client-idle SECONDS]\n"
    "              [--log-level error|warn|info|debug]\n"
    "\n"
    "Run one TALOS node: it launches trusted applications (TAs) on a TEE backend\n"
    "and serves the control socket DIR/talosd.sock used by talos(1).\n"
    "\n"
    "  --state-dir DIR     node state (platform identity, images, socket); created 0700 if\n"
    "                      missing, refused if another user owns or can write in it\n"
    "  --listen HOST:PORT  peer listener for other nodes (default 127.0.0.1:7100)\n"
    "  --backend NAME      sim (default) or skeleton (porting template, not runnable)\n"
    "  --sim-ca DIR        sim: the local sim CA (default $TALOS_SIM_CA or\n"
    "                      ~/.local/state/talos/sim-ca); the same as\n"
    "                      --backend-option sim.ca=DIR\n"
    "  --backend-option BACKEND.KEY=VALUE\n"
    "                      an option only that backend reads (up to 16; those of\n"
    "                      other backends are ignored, unknown keys of this one\n"
    "                      refused). sim: ca=DIR\n"
    "  --node-cert FILE    this node's TLS certificate for other nodes (PEM); with\n"
    "  --node-key FILE     its key and --peer-ca FILE, the CA(s) whose nodes it accepts.\n"
    "  --peer-ca FILE      Nodes talk TLS 1.3 with mutual authentication only. Without\n"
    "                      these, a local operator CA ($TALOS_NODE_CA or\n"
    "                      ~/.local/state/talos/node-ca) is made on first use and\n"
    "                      certifies this node: nodes of one user on one machine\n"
    "                      trust each other with no set-up\n"
    "  --image-policy FILE {\"measurements\": [\"<hex>\", ...], \"signers\": [\"<hex>\", ...]}:\n"
    "                      the only images this node runs (from talos run or from\n"
    "                      peers): listed measurements, or signed by a listed key\n"
    "                      (talos sign). Default: what its operator runs and what\n"
    "                      authenticated peer nodes send\n"
    "  --handoff-wait S    a migration target that lost its channel after PREPARED waits\n"
    "                      S seconds (default 30) for the source's HANDOFF resent by the\n"
    "                      source's node, then fails (ABORT); a source in doubt resends\n"
    "                      for up to 2*S+10 s\n"
    "  --pool-arena SIZE   each warm pool target (one per image already run here) faults\n"
    "                      in this much of its arena ahead of any migration, so that\n"
    "                      restoring a state up to SIZE writes into touched memory\n"
    "                      (bytes, or with K, M, G; default 32M; 0: none). Memory:\n"
    "                      SIZE per pooled target\n"
    "  --client-max N      client sessions relayed at once (default 256; docs/sessions.md):\n"
    "                      clients reach a TA on the --listen port; the node relays their\n"
    "                      TLS sessions with the TA and cannot read them\n"
    "  --client-per-ta N   ... to one TA (default 128, at most 256)\n"
    "  --client-idle S     a client silent for S seconds is disconnected (default 60)\n"
    "  --ta-user NAME      sim, node run as root: the user TA processes run as (name or\n"
    "                      number; default nobody)\n"
    "  --log-level LEVEL   default info\n"
    "  -h, --help          this text;  -V, --version  the version\n"
    "\n"
    "The sim backend runs each TA as an ordinary process with real cryptography but\n"
    "NO hardware isolation: this host can read a sim TA's memory. It confines that\n"
    "process (another user, no network, a system call filter, no core dumps): see\n"
    "docs/confinement.md.\n";

static void on_signal(int sig)
{
    ssize_t r = write(stop_pipe[1], "x", 1);
    (void)sig, (void)r;
}

/* Control connections at once: the socket is this user's only, but a
 * runaway client must not make the node spawn threads without a bound. */
#define CONTROL_CONN_MAX 64
static int control_conns; /* atomic */

static void *control_thread(void *arg)
{
    control_serve((int)(intptr_t)arg);
    __atomic_sub_fetch(&control_conns, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void control_accept(int cfd)
{
    int fd = accept4(cfd, NULL, NULL, SOCK_CLOEXEC);
    pthread_t t;

    if (fd < 0)
        return;
    if (__atomic_add_fetch(&control_conns, 1, __ATOMIC_RELAXED) > CONTROL_CONN_MAX) {
        TLOG_WARN("control: more than %d clients at once: connection closed", CONTROL_CONN_MAX);
        __atomic_sub_fetch(&control_conns, 1, __ATOMIC_RELAXED);
        close(fd);
        return;
    }
    if (pthread_create(&t, NULL, control_thread, (void *)(intptr_t)fd) != 0) {
        __atomic_sub_fetch(&control_conns, 1, __ATOMIC_RELAXED);
        close(fd);
        return;
    }
    pthread_detach(t);
}

/* The state dir is talosd's alone (docs/state-dir.md): created 0700 if
 * missing, refused if another user could have put or replaced anything in
 * it, before anything in it is created or read. */
static int open_state_dir(const char *arg, struct talos_sdir **sd)
{
    char why[TALOS_SDIR_WHY_BYTES] = "";
    struct talos_sdir *images = NULL;
    int rc = talos_sdir_open(arg, TALOS_SDIR_CREATE, sd, why, sizeof(why));

    if (rc == TALOS_OK)
        rc = talos_sdir_check_entries(*sd, why, sizeof(why));
    if (rc == TALOS_OK)
        rc = talos_sdir_sub(*sd, "images", TALOS_SDIR_CREATE, &images, why, sizeof(why));
    if (rc == TALOS_OK)
        rc = talos_sdir_check_entries(images, why, sizeof(why));
    talos_sdir_close(images);
    if (rc == TALOS_OK && !realpath(arg, node.state_dir))
        rc = talos_reason(TALOS_ERR_IO, why, sizeof(why), "%s: %s", arg, strerror(errno));
    if (rc != TALOS_OK) {
        fprintf(stderr, "talosd: refusing the state dir: %s\n", why);
        talos_sdir_close(*sd);
        *sd = NULL;
        return -1;
    }
    return 0;
}

/* talosd.pid, opened without following a symlink: one planted there would
 * otherwise make talosd truncate the file it points to. */
static int lock_state_dir(const struct talos_sdir *sd)
{
    char why[TALOS_SDIR_WHY_BYTES] = "", pid[32];
    int fd = -1;

    if (talos_sdir_open_file(sd, "talosd.pid", TALOS_SDIR_CREATE | TALOS_SDIR_RDWR, 0644, &fd, why,
                             sizeof(why)) != TALOS_OK) {
        fprintf(stderr, "talosd: %s\n", why);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t n = read(fd, pid, sizeof(pid) - 1);
        pid[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "talosd: another talosd (pid %s) runs on %s\n",
                pid[0] ? strtok(pid, "\n") : "?", node.state_dir);
        close(fd);
        return -1;
    }
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, strlen(pid)) < 0)
        TLOG_WARN("cannot write %s/talosd.pid", node.state_dir);
    return fd; /* held open: the lock lives as long as the process */
}

static int control_listen(const struct talos_sdir *sd, char *path, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char why[TALOS_SDIR_WHY_BYTES] = "";
    int fd = -1;

    if ((size_t)snprintf(path, cap, "%s/talosd.sock", node.state_dir) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "talosd: %s: path too long for a Unix socket (max %zu bytes)\n", path,
                sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* A stale socket of a dead talosd (we hold the state-dir lock) goes;
     * anything else there stays and stops us. */
    if (talos_sdir_unlink_socket(sd, "talosd.sock", why, sizeof(why)) != TALOS_OK) {
        fprintf(stderr, "talosd: %s\n", why);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0077); /* only this user may drive the node */
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 64) == 0;
    umask(old);
    if (!ok) {
        fprintf(stderr, "talosd: cannot listen on %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

struct tls_args {
    const char *cert, *key, *ca;
};

/* A user name or number the system knows: refused here with a clear
 * message rather than as an error of the backend. */
static int user_exists(const char *name)
{
    char *end = NULL;

    if (getpwnam(name))
        return 1;
    errno = 0;
    (void)strtoul(name, &end, 10);
    return *name >= '0' && *name <= '9' && !*end && errno == 0;
}

/* --pool-arena's bound: a TA's whole arena (TALOS_ARENA_MAX in talos/ta.h). */
#define POOL_ARENA_MAX (8ull << 30)

/* "65536", "64K", "32M", "1G" -> bytes, at most max; 0 on success. */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v = 0;
    unsigned shift = 0;

    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end || v > (max >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_args(int argc, char **argv, const char **state_arg, struct backend_opts *bopts,
                      struct tls_args *tls, const char **policy, const char **ta_user)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 's'}, {"listen", required_argument, NULL, 'l'},
        {"backend", required_argument, NULL, 'b'},   {"sim-ca", required_argument, NULL, 'c'},
        {"backend-option", required_argument, NULL, 'o'},
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {"handoff-wait", required_argument, NULL, 'W'},
        {"node-cert", required_argument, NULL, 'C'}, {"node-key", required_argument, NULL, 'K'},
        {"peer-ca", required_argument, NULL, 'A'},   {"image-policy", required_argument, NULL, 'P'},
        {"ta-user", required_argument, NULL, 'u'},   {"pool-arena", required_argument, NULL, 'p'},
        {"client-max", required_argument, NULL, 'M'}, {"client-per-ta", required_argument, NULL, 'T'},
        {"client-idle", required_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    const char *state = NULL;
    int c = 0, level = TALOS_LOG_INFO, rc = 0;

    snprintf(node.listen, sizeof(node.listen), "127.0.0.1:7100");
    node.backend = talos_backend_default();
    node.handoff_wait = 30;
    node.pool_arena = 32ull << 20;
    while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (c) {
        case 's': state = optarg; break;
        case 'l': snprintf(node.listen, sizeof(node.listen), "%s", optarg); break;
        case 'b': node.backend = optarg; break;
        /* Kept from before backend options: the sim backend's CA. */
        case 'c':
            if ((rc = backend_opt_add(bopts, "sim.ca", optarg)) != 0)
                return rc;
            break;
        case 'o':
            if ((rc = backend_opt_add(bopts, NULL, optarg)) != 0)
                return rc;
            break;
        case 'C': tls->cert = optarg; break;
        case 'K': tls->key = optarg; break;
        case 'A': tls->ca = optarg; break;
        case 'P': *policy = optarg; break;
        case 'u':
            if (!user_exists(optarg)) {
                fprintf(stderr, "talosd: --ta-user %s: no such user\n", optarg);
                return 2;
            }
            *ta_user = optarg;
            break;
        case 'W': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 86400) {
                fprintf(stderr, "talosd: --handoff-wait takes 1..86400 seconds, not '%s'\n", optarg);
                return 2;
            }
            node.handoff_wait = (int)v;
            break;
        }
        case 'M':
        case 'T':
        case 'I': {
            /* (bound, what) of each: a number in 1..bound. */
            unsigned *dst = c == 'M' ? &clients_limits.max
                            : c == 'T' ? &clients_limits.per_ta : &clients_limits.idle_s;
            long bound = c == 'M' ? 4096 : c == 'T' ? TALOS_SESS_MAX : 86400;
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > bound) {
                fprintf(stderr, "talosd: --%s takes 1..%ld, not '%s'\n",
                        c == 'M' ? "client-max" : c == 'T' ? "client-per-ta" : "client-idle", bound,
                        optarg);
                return 2;
            }
            *dst = (unsigned)v;
            break;
        }
        case 'p':
            if (parse_size(optarg, POOL_ARENA_MAX, &node.pool_arena) != 0) {
                fprintf(stderr, "talosd: --pool-arena takes a size up to 8G (like 64M), not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'L':
            level = -1;
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, levels[i]) == 0)
                    level = i;
            if (level < 0) {
                fprintf(stderr, "talosd: unknown log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': fputs(usage, stdout); exit(0);
        case 'V': printf("talosd %s\n", TALOS_VERSION_STRING); exit(0);
        default: fprintf(stderr, "try 'talosd --help'\n"); return 2;
        }
    }
    if (optind < argc || !state) {
        fprintf(stderr, "talosd: %s\ntry 'talosd --help'\n",
                state ? "unexpected argument" : "--state-dir DIR is required");
        return 2;
    }
    if ((tls->cert || tls->key || tls->ca) && !(tls->cert && tls->key && tls->ca)) {
        fprintf(stderr, "talosd: --node-cert, --node-key and --peer-ca go together\n"
                        "try 'talosd --help'\n");
        return 2;
    }
    *state_arg = state;
    talos_log_init("talosd", (enum talos_log_level)level);
    return 0;
}

/* The node's TLS identity for its peers: as configured, or from the
 * local operator CA (nodeca.c). */
static int setup_peer_tls(const struct tls_args *a)
{
    char cert[PATH_MAX + 32], key[PATH_MAX + 32], ca[PATH_MAX + 32], why[PATH_MAX + 200] = "";
    struct peer_tls_config c = {a->cert, a->key, a->ca};
    const char *dir = NULL;
    int rc = TALOS_OK;

    if (!a->cert) {
        if (!(dir = nodeca_default_dir())) {
            fprintf(stderr, "talosd: no node CA directory: set TALOS_NODE_CA or HOME, or give "
                            "--node-cert/--node-key/--peer-ca\n");
            return TALOS_ERR_INVALID_ARG;
        }
        if ((rc = nodeca_ensure(dir, cert, key, ca, sizeof(cert), why, sizeof(why))) != TALOS_OK) {
            fprintf(stderr, "talosd: %s\n", why);
            return rc;
        }
        c = (struct peer_tls_config){cert, key, ca};
    }
    if ((rc = peer_tls_init(&c, why, sizeof(why))) != TALOS_OK)
        fprintf(stderr, "talosd: node TLS identity: %s\n", why);
    else
        TLOG_INFO("node identity %s; peers must hold a certificate of %s", peer_tls_self(), c.ca_path);
    return rc;
}

int main(int argc, char **argv)
{
    struct talos_host_config hc = {0};
    struct tls_args tls = {0};
    struct backend_opts bopts = {0};
    const char *policy = NULL, *state_arg = NULL, *ta_user = NULL;
    struct talos_sdir *sd = NULL;
    char sock_path[PATH_MAX + 16], why[PATH_MAX + 200] = "";
    int cfd = -1, pfd = -1, lock_fd = -1,
        rc = parse_args(argc, argv, &state_arg, &bopts, &tls, &policy, &ta_user);

    if (rc) {
        backend_opts_free(&bopts);
        return rc;
    }
    rc = 1;
    if (open_state_dir(state_arg, &sd) != 0 || (lock_fd = lock_state_dir(sd)) < 0)
        goto out;
    if (images_init(sd, why, sizeof(why)) != TALOS_OK || journal_open(sd, why, sizeof(why)) != TALOS_OK ||
        (policy && image_policy_load(policy, why, sizeof(why)) != TALOS_OK)) {
        fprintf(stderr, "talosd: %s\n", why);
        goto out;
    }
    if (setup_peer_tls(&tls) != TALOS_OK)
        goto out;
    hc.backend = node.backend;
    hc.state_dir = node.state_dir;
    hc.options = bopts.o;
    hc.n_options = bopts.n;
    hc.ta_user = ta_user;
    int err = talos_host_open(&hc, &node.host);
    if (err != TALOS_OK) {
        backend_open_failed(node.backend, err);
        goto out;
    }
    /* Asked of the backend, never read from its name. */
    node.simulated = (talos_host_claims(node.host) & TALOS_CLAIM_SIMULATED) != 0;
    if ((err = peer_listen(node.listen, &pfd)) != TALOS_OK) {
        fprintf(stderr, "talosd: cannot listen on %s: %s\n", node.listen,
                err == TALOS_ERR_EXISTS ? "address in use" : "invalid address or port");
        goto out;
    }
    if ((cfd = control_listen(sd, sock_path, sizeof(sock_path))) < 0 || pipe2(stop_pipe, O_CLOEXEC))
        goto out;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    TLOG_INFO("node up: state %s, peers %s, backend %s%s, image policy %s", node.state_dir,
              node.listen, node.backend,
              node.simulated ? " (SIMULATED: no hardware isolation)" : "",
              image_policy_describe());
    for (;;) {
        struct pollfd p[3] = {{cfd, POLLIN, 0}, {pfd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
        int n = poll(p, 3, 1000);
        if (n < 0 && errno != EINTR)
            break;
        peer_reap();
        if (n == 0)
            registry_watch();
        if (n <= 0)
            continue;
        if (p[2].revents)
            break;
        if (p[1].revents)
            peer_accept_one(pfd);
        if (p[0].revents)
            control_accept(cfd);
    }
    TLOG_INFO("shutting down");
    rc = 0;
out:
    pool_shutdown();
    registry_shutdown();
    journal_close();
    images_fini();
    if (cfd >= 0) {
        close(cfd);
        unlink(sock_path);
    }
    if (pfd >= 0)
        close(pfd);
    talos_host_close(node.host);
    backend_opts_free(&bopts);
    peer_tls_fini();
    if (lock_fd >= 0)
        close(lock_fd);
    talos_sdir_close(sd);
    return rc;
}
