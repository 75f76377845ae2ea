/* Running TAs from the host: launch, call, attest, info, stop.
 *
 * The host serves the TA's requests (ocalls, platform requests) while it
 * waits for the answer to its own. A TA is untrusted code to the host too:
 * every frame it sends is bounds-checked, and a TA that breaks the protocol
 * is stopped.
 *
 * One job over 400 lines: one TA's life seen from the host, from launch
 * through the READY handshake to reaping; each operation is a frame sent
 * and its answer decoded, sharing the same lost-TA handling. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/msg.h"
#include "node/host/host.h"

#define READY_TIMEOUT_MS 15000
#define RING_CAP (1u << 20)

/* Say how a TA process ended when it was not the host's doing: a signal
 * other than the host's SIGKILL, with what the backend knows beyond it
 * (sim: the system call its confinement forbade). The backend is asked
 * while the process is a zombie, so the pid still names it, and always, so
 * that it can release what it kept for the TA. */
static void tell_end(struct talos_ta *ta, const siginfo_t *si)
{
    const char *name = ta->name[0] ? ta->name : ta->image_path;
    char why[192] = "";
    int sig = si && (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) ? si->si_status : 0;

    if (ta->host->ops->ended)
        ta->host->ops->ended(ta->host->plat, ta->pid, sig, why, sizeof(why));
    if (why[0])
        TLOG_WARN("TA %s (pid %d) killed: %s", name, ta->pid, why);
    else if (sig && sig != SIGKILL)
        TLOG_WARN("TA %s (pid %d) killed by signal %d (SIG%s)", name, ta->pid, sig,
                  sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

/* Wait (without reaping) until the process has ended; 0 when it has, -1
 * when it is not our child any more. WNOHANG: 1 while it still runs. */
static int ended(int pid, siginfo_t *si, int nohang)
{
    for (;;) {
        memset(si, 0, sizeof(*si));
        if (waitid(P_PID, (id_t)pid, si, WEXITED | WNOWAIT | (nohang ? WNOHANG : 0)) == 0)
            return si->si_pid == pid ? 0 : 1;
        if (errno != EINTR)
            return -1;
    }
}

static void reap(struct talos_ta *ta, int force)
{
    siginfo_t si;
    int r = 1;

    if (ta->pid <= 0)
        return;
    /* Give a stopping TA up to 2 s to exit by itself, then make sure. It
     * usually ends within a millisecond: look again after 0.1 ms, doubling
     * up to 10 ms (a fixed 10 ms kept every `talos migrate` waiting ~10 ms
     * for its retired source). */
    long step_ns = 100 * 1000, waited_ns = 0;
    while (!force && r == 1 && waited_ns < 2000L * 1000 * 1000) {
        if ((r = ended(ta->pid, &si, 1)) == 1) {
            struct timespec ts = {0, step_ns};
            nanosleep(&ts, NULL);
            waited_ns += step_ns;
            step_ns = step_ns * 2 > 10 * 1000 * 1000 ? 10 * 1000 * 1000 : step_ns * 2;
        }
    }
    if (r == 1) {
        kill(ta->pid, SIGKILL);
        r = ended(ta->pid, &si, 0);
    }
    tell_end(ta, r == 0 ? &si : NULL);
    while (r == 0 && waitpid(ta->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    ta->pid = 0;
}

/* The TA process is gone or broke the protocol: its lineage ends here. */
int talos_host_lose(struct talos_ta *ta, int why)
{
    char id[2 * TALOS_LINEAGE_BYTES + 1];

    if (!ta->dead) {
        const char *how = why == TALOS_ERR_PEER_CLOSED ? "process died" : "broke the protocol";
        talos_hex(ta->lineage, sizeof(ta->lineage), id);
        /* Say what is known (I7): a target never held the lineage; a source
         * that died mid-migration may have handed it over already. */
        if (ta->target)
            TLOG_WARN("migration target (%s) %s before it activated: the lineage stays "
                      "with its source (%s)", ta->name, how, talos_strerror(why));
        else if (ta->migrating)
            TLOG_WARN("lineage %s lost unless its migration target activated: source TA %s "
                      "%s during the migration (%s)", id, ta->name, how, talos_strerror(why));
        else
            TLOG_WARN("lineage %s lost: TA %s %s (%s)", id, ta->name, how, talos_strerror(why));
        ta->dead = 1;
        talos_xport_close(&ta->x);
        reap(ta, 1);
        if (ta->on_event && !ta->target) {
            struct talos_ta_event ev = {.kind = TALOS_TA_EV_LOST, .version = ta->version, .why = why,
                                        .name = ta->name};
            memcpy(ev.lineage, ta->lineage, sizeof(ev.lineage));
            (void)ta->on_event(ta->event_ctx, ta, &ev);
        }
    }
    return TALOS_ERR_TA_CRASHED;
}

/* Wait for a frame of type `want`, serving the TA's requests meanwhile.
 * On success the frame body is in ta->rx. */
int talos_host_await(struct talos_ta *ta, uint16_t want)
{
    int rc = talos_host_serve_until(ta, &ta->x, &ta->rx, &ta->tx, want,
                                    TALOS_HOST_SERVE_OCALLS | TALOS_HOST_SERVE_PLATFORM);
    return rc == TALOS_OK || rc == TALOS_ERR_TIMEOUT ? rc : talos_host_lose(ta, rc);
}

int talos_host_decode_ready(struct talos_ta *ta)
{
    struct talos_rd r;

    talos_rd_init(&r, ta->rx.p, ta->rx.len);
    talos_rd_raw(&r, ta->lineage, sizeof(ta->lineage));
    ta->version = talos_rd_u64(&r);
    talos_rd_str(&r, ta->name, sizeof(ta->name));
    return talos_rd_finish(&r);
}

static int handshake(struct talos_ta *ta, uint8_t start)
{
    struct talos_wr w;
    int rc = TALOS_OK;

    talos_wr_init(&w, 0);
    talos_wr_u8(&w, start); /* 1 fresh lineage, 2 restore target */
    talos_wr_u8(&w, ta->opt.mode == TALOS_CALL_SWITCHLESS);
    talos_wr_bytes(&w, ta->host->config, ta->host->config_len);
    rc = w.err ? w.err : talos_xport_send(&ta->x, TALOS_MSG_INIT, w.p, w.len);
    talos_wr_free(&w);
    if (rc != TALOS_OK)
        return rc;
    ta->x.recv_timeout_ms = READY_TIMEOUT_MS;
    /* A restore target fetches its CFG file before READY (docs/cfg.md); a
     * runtime that cannot start says why instead (START_FAILED). */
    rc = talos_host_serve_until(ta, &ta->x, &ta->rx, &ta->tx, TALOS_MSG_READY,
                                TALOS_HOST_SERVE_PLATFORM | TALOS_HOST_SERVE_START);
    ta->x.recv_timeout_ms = 0;
    return rc != TALOS_OK ? rc : talos_host_decode_ready(ta);
}

/* Close, reap (forced) and free a TA whose process is done with or was
 * never started properly. */
static void ta_free(struct talos_ta *ta)
{
    talos_xport_close(&ta->x);
    reap(ta, 1);
    talos_wr_free(&ta->rx);
    talos_wr_free(&ta->tx);
    free(ta->image_path);
    free(ta);
}

static int create(struct talos_host *h, const char *image_path, const struct talos_ta_options *opt,
                  uint8_t start, struct talos_ta **out)
{
    struct talos_ta *ta = NULL;
    struct talos_launch l = {
        .image_path = image_path, .image_fd = -1, .channel_fd = -1, .shm_fd = -1};
    int sv[2] = {-1, -1};
    int rc = TALOS_OK;

    if (!h || !image_path || !out)
        return TALOS_ERR_INVALID_ARG;
    *out = NULL;
    if (!(ta = calloc(1, sizeof(*ta))))
        return TALOS_ERR_NOMEM;
    ta->host = h;
    ta->prefault_grant = UINT64_MAX; /* the TA's own bound only, until the user sets one */
    if (!(ta->image_path = strdup(image_path))) {
        free(ta);
        return TALOS_ERR_NOMEM;
    }
    if (opt)
        ta->opt = *opt;
    talos_wr_init(&ta->rx, TALOS_MAX_OUT_BYTES + 8192);
    talos_wr_init(&ta->tx, 0);
    talos_xport_init(&ta->x, -1, TALOS_MSG_FROM_TA);
    if ((rc = h->ops->measure_image(h->plat, image_path, ta->measurement)) != TALOS_OK)
        goto out;
    /* The CFG digest is part of the TA's identity (docs/cfg.md). A backend
     * or image without one gets NO_CFG evidence, which a peer that has a
     * CFG digest refuses. */
    ta->has_cfg = h->ops->cfg_image &&
                  h->ops->cfg_image(h->plat, image_path, ta->cfg_digest, NULL, NULL) == TALOS_OK;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        rc = TALOS_ERR_IO;
        goto out;
    }
    ta->x.fd = sv[0];
    sv[0] = -1;
    l.channel_fd = sv[1];
    if (ta->opt.mode == TALOS_CALL_SWITCHLESS) {
        if ((l.shm_fd = memfd_create("talos-rings", MFD_CLOEXEC)) < 0) {
            rc = TALOS_ERR_IO;
            goto out;
        }
        if ((rc = talos_xport_switchless(&ta->x, l.shm_fd, 1, RING_CAP)) != TALOS_OK)
            goto out;
    }
    if ((rc = h->ops->launch(h->plat, &l, &ta->pid)) != TALOS_OK)
        goto out;
    close(sv[1]);
    sv[1] = -1;
    if ((rc = handshake(ta, start)) != TALOS_OK) {
        /* Started but never said READY: not a TA image, or it failed in init. */
        if (rc == TALOS_ERR_PEER_CLOSED || rc == TALOS_ERR_PROTOCOL || rc == TALOS_ERR_MALFORMED)
            rc = TALOS_ERR_IMAGE;
        goto out;
    }
    ta->x.switchless = ta->opt.mode == TALOS_CALL_SWITCHLESS;
    *out = ta;
    ta = NULL;
out:
    if (l.shm_fd >= 0)
        close(l.shm_fd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (ta)
        ta_free(ta);
    return rc;
}

TALOS_EXPORT int talos_ta_create(struct talos_host *h, const char *image_path,
                                 const struct talos_ta_options *opt, struct talos_ta **out)
{
    return create(h, image_path, opt, 1, out);
}

TALOS_EXPORT int talos_ta_create_target(struct talos_host *h, const char *image_path,
                                        const struct talos_ta_options *opt, struct talos_ta **out)
{
    int rc = create(h, image_path, opt, 2, out);
    if (rc == TALOS_OK)
        (*out)->target = 1;
    return rc;
}

TALOS_EXPORT void talos_ta_destroy(struct talos_ta *ta)
{
    if (!ta)
        return;
    if (!ta->dead && talos_xport_send(&ta->x, TALOS_MSG_STOP, NULL, 0) == TALOS_OK) {
        talos_xport_close(&ta->x);
        reap(ta, 0);
    }
    ta_free(ta);
}

TALOS_EXPORT void talos_ta_set_event_handler(struct talos_ta *ta, talos_ta_event_fn fn, void *ctx)
{
    if (!ta)
        return;
    ta->on_event = fn;
    ta->event_ctx = ctx;
}

TALOS_EXPORT void talos_ta_set_prefault_grant(struct talos_ta *ta, uint64_t bytes)
{
    if (ta)
        ta->prefault_grant = bytes;
}

TALOS_EXPORT int talos_ta_alive(const struct talos_ta *ta)
{
    siginfo_t si;
    int pid = ta ? __atomic_load_n(&ta->pid, __ATOMIC_ACQUIRE) : 0;

    if (!ta || ta->dead || pid <= 0)
        return 0;
    /* WNOWAIT: look, do not reap (reap() in the owning thread does). */
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == ECHILD ? 0 : 1;
    return si.si_pid == 0;
}

TALOS_EXPORT void talos_ta_kill(struct talos_ta *ta)
{
    /* pid is set once at launch and cleared only by reap(), which runs in
     * the thread that owns the handle: a racing reap makes this a no-op or
     * a signal to a process that is already gone (not yet reaped: the pid
     * cannot have been reused). */
    int pid = ta ? __atomic_load_n(&ta->pid, __ATOMIC_ACQUIRE) : 0;
    if (pid > 0)
        (void)kill(pid, SIGKILL);
}

TALOS_EXPORT void talos_result_clear(struct talos_result *r)
{
    if (!r)
        return;
    free(r->out);
    memset(r, 0, sizeof(*r));
}

int talos_host_decode_reply_buf(const uint8_t *p, size_t len, struct talos_result *res)
{
    struct talos_rd r;
    const uint8_t *out = NULL;
    size_t n = 0;

    memset(res, 0, sizeof(*res));
    talos_rd_init(&r, p, len);
    res->status = (int32_t)talos_rd_u32(&r);
    res->version = talos_rd_u64(&r);
    out = talos_rd_bytes(&r, &n, TALOS_MAX_OUT_BYTES);
    talos_rd_str(&r, res->reason, sizeof(res->reason));
    if (talos_rd_finish(&r) != TALOS_OK || res->status > 0 || res->status < TALOS_ERR_MIN)
        return TALOS_ERR_MALFORMED;
    if (!(res->out = malloc(n + 1)))
        return TALOS_ERR_NOMEM;
    memcpy(res->out, out, n);
    res->out[n] = '\0';
    res->out_len = n;
    return TALOS_OK;
}

int talos_host_decode_reply(struct talos_ta *ta, struct talos_result *res)
{
    int rc = talos_host_decode_reply_buf(ta->rx.p, ta->rx.len, res);
    if (rc == TALOS_ERR_MALFORMED)
        return talos_host_lose(ta, rc);
    if (rc == TALOS_OK)
        ta->version = res->version;
    return rc;
}

TALOS_EXPORT int talos_ta_call(struct talos_ta *ta, const char *ecall, int argc,
                         const struct talos_buf *argv, struct talos_result *res)
{
    int rc = TALOS_OK;

    if (!ta || !ecall || !res || argc < 0 || (argc && !argv))
        return TALOS_ERR_INVALID_ARG;
    memset(res, 0, sizeof(*res));
    if (ta->dead)
        return TALOS_ERR_TA_CRASHED;
    if (strlen(ecall) == 0 || strlen(ecall) >= TALOS_NAME_MAX)
        return TALOS_ERR_NO_SUCH_ECALL;
    if (argc > TALOS_MAX_ARGS)
        return TALOS_ERR_BAD_ARGS;
    for (int i = 0; i < argc; i++)
        if (argv[i].len > TALOS_MAX_ARG_BYTES)
            return TALOS_ERR_TOO_LARGE;
    talos_wr_reset(&ta->tx);
    talos_wr_str(&ta->tx, ecall);
    talos_wr_u32(&ta->tx, (uint32_t)argc);
    for (int i = 0; i < argc; i++)
        talos_wr_bytes(&ta->tx, argv[i].ptr, argv[i].len);
    if (ta->tx.err)
        return ta->tx.err;
    if ((rc = talos_xport_send(&ta->x, TALOS_MSG_CALL, ta->tx.p, ta->tx.len)) != TALOS_OK)
        return talos_host_lose(ta, rc);
    if ((rc = talos_host_await(ta, TALOS_MSG_REPLY)) != TALOS_OK)
        return rc;
    return talos_host_decode_reply(ta, res);
}

TALOS_EXPORT int talos_ta_attest(struct talos_ta *ta, const uint8_t nonce[TALOS_NONCE_BYTES],
                           uint8_t *ev, size_t *ev_len)
{
    struct talos_result res;
    int rc = TALOS_OK;

    if (!ta || !nonce || !ev || !ev_len)
        return TALOS_ERR_INVALID_ARG;
    if (ta->dead)
        return TALOS_ERR_TA_CRASHED;
    if ((rc = talos_xport_send(&ta->x, TALOS_MSG_ATTEST, nonce, TALOS_NONCE_BYTES)) != TALOS_OK)
        return talos_host_lose(ta, rc);
    if ((rc = talos_host_await(ta, TALOS_MSG_REPLY)) != TALOS_OK)
        return rc;
    if ((rc = talos_host_decode_reply(ta, &res)) != TALOS_OK)
        return rc;
    rc = res.status;
    if (rc == TALOS_OK && res.out_len > TALOS_EVIDENCE_MAX)
        rc = TALOS_ERR_TOO_LARGE;
    if (rc == TALOS_OK) {
        memcpy(ev, res.out, res.out_len);
        *ev_len = res.out_len;
    }
    talos_result_clear(&res);
    return rc;
}

int talos_host_decode_info(struct talos_ta *ta, char *state, size_t state_cap)
{
    struct talos_rd r;

    talos_rd_init(&r, ta->rx.p, ta->rx.len);
    ta->version = talos_rd_u64(&r);
    ta->state_bytes = talos_rd_u64(&r);
    talos_rd_str(&r, state, state_cap);
    if (talos_rd_finish(&r) != TALOS_OK) {
        state[0] = '\0';
        return talos_host_lose(ta, TALOS_ERR_MALFORMED);
    }
    return TALOS_OK;
}

TALOS_EXPORT int talos_ta_info(struct talos_ta *ta, struct talos_ta_info *info)
{
    char state[TALOS_STATE_NAME_MAX] = {0};
    int rc = TALOS_OK;

    if (!ta || !info)
        return TALOS_ERR_INVALID_ARG;
    memset(info, 0, sizeof(*info));
    if (!ta->dead && (rc = talos_xport_send(&ta->x, TALOS_MSG_INFO, NULL, 0)) != TALOS_OK)
        talos_host_lose(ta, rc);
    if (!ta->dead && talos_host_await(ta, TALOS_MSG_INFO_RET) == TALOS_OK)
        (void)talos_host_decode_info(ta, state, sizeof(state));
    memcpy(info->lineage, ta->lineage, sizeof(info->lineage));
    memcpy(info->measurement, ta->measurement, sizeof(info->measurement));
    info->version = ta->version;
    info->state_bytes = ta->state_bytes;
    snprintf(info->name, sizeof(info->name), "%s", ta->name);
    snprintf(info->state, sizeof(info->state), "%s", ta->dead ? "CRASHED" : state);
    info->pid = ta->dead ? 0 : ta->pid;
    info->mode = ta->opt.mode;
    return TALOS_OK;
}
