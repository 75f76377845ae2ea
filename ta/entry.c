/* The TA process: main() of every TA image. It waits for INIT from the
 * host, starts a lineage, and serves frames until STOP or until the host
 * goes away (volatile-only: the lineage then ends with the process). */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/abi_note.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/merkle.h"
#include "os/sched.h"
#include "ta/arena.h"
#include "ta/cert.h"
#include "ta/chan.h"
#include "ta/flow.h"
#include "ta/rt.h"
#include "ta/sess.h"
#include "tee/tee.h"

#define TA_CHANNEL_FD 3
#define TA_SHM_FD 4
#define INIT_FRESH 1
#define INIT_RESTORE 2
#define CONFIG_VERSION 1

struct talos_rt talos_rt;
extern const struct talos_abi_note talos_abi_note;
#ifdef TALOS_BENCH_WTRACK
void talos_rt_bench_wtrack(void);
#endif

extern char __start_talos_persist[] __attribute__((weak));
extern char __stop_talos_persist[] __attribute__((weak));

static size_t persist_len(void)
{
    return __start_talos_persist ? (size_t)(__stop_talos_persist - __start_talos_persist) : 0;
}

uint64_t talos_rt_state_bytes(void) { return talos_arena_used_bytes() + persist_len(); }

uint8_t *talos_rt_persist(size_t *len)
{
    *len = persist_len();
    return (uint8_t *)__start_talos_persist;
}

/* The persist section is state, copied as bytes. A TA's gathered static
 * data (D47) lies there too, and in sanitizer builds its globals carry
 * ASan's redzones between them, which a memcpy over the section reports:
 * there the copy is an uninstrumented loop (volatile stores: it cannot
 * become a memcpy call). */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address)) void talos_rt_persist_copy(void *dst, const void *src,
                                                                size_t n)
{
    volatile uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}
#else
void talos_rt_persist_copy(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
}
#endif

/* TALOS_PERSIST variables are state: never in a core file, whatever else
 * keeps one from being written. madvise works on whole pages, so the pages
 * around the section (other .data/.bss) are left out too. */
static int persist_nodump(void)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)__start_talos_persist & ~(page - 1);
    uintptr_t hi = ((uintptr_t)__start_talos_persist + persist_len() + page - 1) & ~(page - 1);

    if (persist_len() == 0)
        return TALOS_OK;
    return madvise((void *)lo, hi - lo, MADV_DONTDUMP) == 0 ? TALOS_OK : TALOS_ERR_NOMEM;
}

const char *talos_rt_state_name(enum talos_rt_state st)
{
    return talos_life_state_name((enum talos_life_state)st);
}

int talos_rt_enter(enum talos_life_event ev)
{
    enum talos_life_state s = (enum talos_life_state)talos_rt.state;
    int rc = talos_life_apply(&s, ev);

    if (rc != TALOS_OK)
        TLOG_ERR("lifecycle: %s refused in state %s", talos_life_event_name(ev),
                 talos_rt_state_name(talos_rt.state));
    else
        talos_rt.state = (enum talos_rt_state)s;
    return rc;
}

/* The launch config (measured: its hash is config_id in our evidence):
 * u32 version ‖ str backend ‖ bytes anchors PEM ‖ u32 verify flags. */
static int parse_config(void)
{
    struct talos_rd r;
    char backend[TALOS_BACKEND_NAME_MAX];
    talos_rd_init(&r, talos_rt.config, talos_rt.config_len);
    if (talos_rd_u32(&r) != CONFIG_VERSION)
        return TALOS_ERR_MALFORMED;
    talos_rd_str(&r, backend, sizeof(backend));
    talos_rt.anchors = talos_rd_bytes(&r, &talos_rt.anchors_len, 1u << 20);
    talos_rt.verify_flags = talos_rd_u32(&r);
    talos_sha256(talos_rt.config, talos_rt.config_len, talos_rt.config_digest);
    return talos_rd_finish(&r);
}

void talos_rt_wipe_state(void)
{
    size_t used = talos_arena_used_bytes();
    if (used)
        talos_wipe((void *)talos_arena_base(), used);
    if (persist_len())
        talos_wipe(__start_talos_persist, persist_len());
    talos_rt_cert_wipe();
}

static int env_host_request(void *ctx, uint16_t type, const uint8_t *req, size_t req_len,
                            uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct talos_wr w;
    int rc = TALOS_OK;

    (void)ctx;
    talos_wr_init(&w, 0);
    talos_wr_u16(&w, type);
    talos_wr_bytes(&w, req, req_len);
    rc = w.err ? w.err
               : talos_rt_host_roundtrip(TALOS_MSG_HOST_REQ, &w, TALOS_MSG_HOST_RET, resp,
                                         resp_cap, resp_len);
    talos_wr_free(&w);
    return rc;
}

static int send_ready(void)
{
    struct talos_wr *w = &talos_rt.tx;
    talos_wr_reset(w);
    talos_wr_raw(w, talos_rt.lineage, sizeof(talos_rt.lineage));
    talos_wr_u64(w, talos_rt.version);
    talos_wr_str(w, talos_rt.desc->name);
    return w->err ? w->err : talos_xport_send(&talos_rt.x, TALOS_MSG_READY, w->p, w->len);
}

/* Instead of READY: tell the host why this TA cannot start, so that a user
 * reads the cause (a backend whose init is NOT_IMPLEMENTED, say) rather than
 * "not a TA image". The host sent INIT first: it is read (and dropped) so
 * that the host waits for this answer. */
static void send_start_failed(int status, const char *what)
{
    struct talos_msg_start_failed f = {.status = status};
    uint16_t type = 0;

    if (talos_xport_recv(&talos_rt.x, &type, &talos_rt.rx) != TALOS_OK || type != TALOS_MSG_INIT)
        return;
    snprintf(f.reason, sizeof(f.reason), "%s: %s", what, talos_strerror(status));
    talos_wr_reset(&talos_rt.tx);
    talos_msg_start_failed_encode(&f, &talos_rt.tx);
    if (!talos_rt.tx.err)
        (void)talos_xport_send(&talos_rt.x, TALOS_MSG_START_FAILED, talos_rt.tx.p,
                               talos_rt.tx.len);
}

/* INIT: u8 start ‖ u8 call mode ‖ bytes config. */
static int start(int *switchless)
{
    uint16_t type = 0;
    struct talos_rd r;
    const uint8_t *cfg = NULL;
    size_t cfg_len = 0;
    uint8_t start_mode = 0;
    int rc = talos_xport_recv(&talos_rt.x, &type, &talos_rt.rx);

    if (rc != TALOS_OK)
        return rc;
    if (type != TALOS_MSG_INIT)
        return TALOS_ERR_PROTOCOL;
    talos_rd_init(&r, talos_rt.rx.p, talos_rt.rx.len);
    start_mode = talos_rd_u8(&r);
    *switchless = talos_rd_u8(&r) == 1;
    cfg = talos_rd_bytes(&r, &cfg_len, 1u << 20);
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        return rc;
    if (start_mode != INIT_FRESH && start_mode != INIT_RESTORE)
        return TALOS_ERR_MALFORMED;
    talos_rt.config = malloc(cfg_len ? cfg_len : 1);
    if (!talos_rt.config)
        return TALOS_ERR_NOMEM;
    memcpy(talos_rt.config, cfg, cfg_len);
    talos_rt.config_len = cfg_len;
    if ((rc = parse_config()) != TALOS_OK)
        return rc;
    if ((rc = talos_arena_map(TALOS_ARENA_BASE, TALOS_ARENA_MAX)) != TALOS_OK)
        return rc;
    /* Before READY, while the host serves our platform requests: a pool's
     * target does this long before it is needed, a target launched on
     * demand instead of during its attestation. */
    talos_rt_ident_start(start_mode == INIT_RESTORE);
    talos_rt_sess_ident_start(); /* a virgin target's too: it serves once it activates */
    if (start_mode == INIT_RESTORE) {
        /* A virgin target: no lineage, no state until a source hands one
         * over (the runtime starts EMPTY and stays so); its CFG loads now,
         * off any migration's path. */
        return talos_flow_load_start();
    }
    if ((rc = talos_arena_format()) != TALOS_OK)
        return rc;
    if ((rc = talos_random_bytes(talos_rt.lineage, sizeof(talos_rt.lineage))) != TALOS_OK)
        return rc;
    talos_chain_genesis(talos_rt.lineage, talos_rt.head);
    if ((rc = talos_rt_cert_genesis()) != TALOS_OK || (rc = talos_rt_seal_genesis()) != TALOS_OK ||
        (rc = talos_rt_enter(TALOS_LIFE_GENESIS)) != TALOS_OK)
        return rc;
    talos_rt_ta_code_begins();
    if (talos_rt.desc->init && (rc = talos_rt.desc->init()) != TALOS_OK) {
        TLOG_ERR("init of %s failed: %s", talos_rt.desc->name, talos_strerror(rc));
        return rc;
    }
    return TALOS_OK;
}

static int serve(void)
{
    for (;;) {
        uint16_t type = 0;
        int rc = talos_xport_recv(&talos_rt.x, &type, &talos_rt.rx);
        if (rc != TALOS_OK)
            return rc;
        if (type == TALOS_MSG_STOP) {
            /* A retired source's exit (unmapping its state) yields to the
             * lineage's new home. */
            if (talos_rt.state == RT_RETIRED)
                talos_thread_background();
            return TALOS_OK;
        }
        /* While a migration runs, its control thread may freeze the state:
         * every frame is handled under the freeze lock, i.e. between two
         * ecalls or after the migration (then answered as MOVED). The flag
         * is this thread's own: no cost when no migration runs. */
        int locked = talos_rt_mig_busy();
        if (locked)
            pthread_mutex_lock(&talos_rt.freeze);
        if (talos_rt_frame_at_mp(type)) {
            /* The call boundary is this thread's migration point: record its
             * context here, for the target's CFG check (ta/flow.c). While the
             * migration runs this thread stops only at this loop's boundary. */
            talos_flow_arm();
            (void)talos_migration_point();
        }
        rc = talos_rt_handle_frame(type, talos_rt.rx.p, talos_rt.rx.len);
        if (locked) {
            pthread_mutex_unlock(&talos_rt.freeze);
            talos_rt_mig_reap(0);
        }
        if (rc != TALOS_OK)
            return rc;
        /* A retired instance never serves its sessions again: their keys go now. */
        if (talos_rt.state == RT_RETIRED)
            talos_rt_sess_drop_all();
        /* A FAILED target is final: the process ends here. A RETIRED source
         * answers MOVED until its host stops it (calls may still be queued). */
        if (talos_rt.state == RT_FAILED)
            return TALOS_OK;
    }
}

/* The launch config reaches the warm-up thread once start() has it (or
 * never: then the thread just ends). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done; /* 1: config parsed, 2: no config coming */
} config_seen = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void config_announce(int done)
{
    pthread_mutex_lock(&config_seen.lock);
    config_seen.done = done;
    pthread_cond_broadcast(&config_seen.cond);
    pthread_mutex_unlock(&config_seen.lock);
}

static void *warmup_thread(void *arg)
{
    int done = 0;

    (void)arg;
    talos_chan_warmup();
    pthread_mutex_lock(&config_seen.lock);
    while (!(done = config_seen.done))
        pthread_cond_wait(&config_seen.cond, &config_seen.lock);
    pthread_mutex_unlock(&config_seen.lock);
    /* The anchors parsed now, not during the first attestation. */
    if (done == 1)
        talos_tee_verifiers_warm(talos_rt.anchors, talos_rt.anchors_len);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct talos_tee_env env = {.host_request = env_host_request};
    int switchless = 0, rc = TALOS_OK;
    char tag[80];

    (void)argc;
    /* The one reference to the runtime note: it makes the linker keep
     * ta/abi_note.o, which nothing calls into. */
    __asm__ volatile("" : : "r"(&talos_abi_note));
    talos_flow_set_entry(__builtin_frame_address(0));
    snprintf(tag, sizeof(tag), "ta[%s]", talos_ta_desc.name ? talos_ta_desc.name : "?");
    talos_log_init(tag, TALOS_LOG_WARN);
    if (fcntl(TA_CHANNEL_FD, F_GETFD) < 0) {
        fprintf(stderr, "%s: this is a TALOS TA image; start it with talosd "
                        "(talos --node DIR run %s)\n", tag, argv[0] ? argv[0] : "IMAGE");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((rc = persist_nodump()) != TALOS_OK) {
        TLOG_ERR("cannot keep the persist section out of core dumps: %s", talos_strerror(rc));
        return 3;
    }
    /* No cleanup at exit: helper threads (the warm-up below, the backend's
     * self-measurement) may still be inside OpenSSL when main returns, and
     * freeing its state under them crashed TAs that stopped early. The
     * process ends anyway; secrets are wiped explicitly before. Its
     * configuration file is read now, not at the first TLS context: a
     * confined TA could not open it then. */
    (void)OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_CONFIG, NULL);
    /* The backend confines the process here, not in its init: before the
     * first helper thread (so the confinement holds for every thread from
     * its first instruction) and before the first byte from the host (the
     * INIT frame is hostile input), but after OpenSSL read its
     * configuration file, which a confined TA could not open. Unit tests
     * drive a backend's init inside their own process; they never call
     * confine. */
    if (talos_tee_enclave.confine && (rc = talos_tee_enclave.confine()) != TALOS_OK) {
        TLOG_ERR("cannot confine this TA: %s", talos_strerror(rc));
        return 3;
    }
    /* A migration's handshake should not pay OpenSSL's first-use costs. */
    pthread_t warm;
    int warm_started = talos_rt_thread_create(&warm, warmup_thread, NULL) == 0;
    talos_rt.desc = &talos_ta_desc;
    pthread_mutex_init(&talos_rt.freeze, NULL);
    talos_wr_init(&talos_rt.rx, TALOS_MSG_MAX);
    talos_wr_init(&talos_rt.tx, 0);
    talos_xport_init(&talos_rt.x, TA_CHANNEL_FD, TALOS_MSG_FROM_HOST);
    if ((rc = talos_rt_check_table(talos_rt.desc)) != TALOS_OK) {
        TLOG_ERR("invalid ecall table: %s", talos_strerror(rc));
        return 3;
    }
    if ((rc = talos_tee_enclave.init(&env)) != TALOS_OK) {
        char what[64];
        snprintf(what, sizeof(what), "the %s backend's init", talos_tee_enclave.name);
        send_start_failed(rc, what);
        config_announce(2);
        goto out;
    }
    if ((rc = start(&switchless)) != TALOS_OK) {
        config_announce(2);
        goto out;
    }
    config_announce(1);
    if ((rc = send_ready()) != TALOS_OK)
        goto out;
#ifdef TALOS_BENCH_WTRACK
    talos_rt_bench_wtrack(); /* bench images only: ta/bench_wtrack.c */
#endif
    if (switchless) {
        if ((rc = talos_xport_switchless(&talos_rt.x, TA_SHM_FD, 0, 0)) != TALOS_OK)
            goto out;
        talos_rt.x.switchless = 1;
    }
    rc = serve();
    talos_rt_mig_reap(1);
out:
    if (rc != TALOS_OK && rc != TALOS_ERR_PEER_CLOSED)
        TLOG_ERR("stopping: %s", talos_strerror(rc));
    if (rc != TALOS_OK && talos_rt.state == RT_ACTIVE) {
        /* Our node is gone or broke off (it never said STOP): nobody can
         * reach this instance any more. Not silent (I7): the node's record says it
         * held the lineage, and this line says what became of it. */
        char id[2 * sizeof(talos_rt.lineage) + 1];
        talos_hex(talos_rt.lineage, sizeof(talos_rt.lineage), id);
        TLOG_ERR("lineage %s lost: its node is gone; this instance held version %llu and ends",
                 id, (unsigned long long)talos_rt.version);
    }
    talos_rt_wipe_state();
    talos_rt_sess_fini();
    talos_xport_close(&talos_rt.x);
    talos_flow_fini();
    if (warm_started)
        pthread_join(warm, NULL);
    if (talos_tee_enclave.fini)
        talos_tee_enclave.fini();
    return rc == TALOS_OK || rc == TALOS_ERR_PEER_CLOSED ? 0 : 3;
}
