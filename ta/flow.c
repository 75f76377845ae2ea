/* Version 1 migrates at call boundaries: the serve loop's thread stops in
 * talos_migration_point() right before it handles MIGRATE_OUT, so its
 * context is that call's return address (a migration point of the CFG)
 * and the return addresses of the frames up to main(). The walk follows
 * frame pointers: the runtime is built with -fno-omit-frame-pointer
 * (Makefile). Only this thread's own stack is read, and only downwards
 * from its own frame, each step checked, so a missing frame pointer ends
 * the walk with a refusal, not a stray read.
 *
 * The target's CFG file comes from its (untrusted) host: it is copied once,
 * parsed by the fuzzed decoder of core/cfg, and believed only when its
 * digest equals the cfg_digest the platform signed in this TA's evidence. */
#include "ta/flow.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migctx.h"
#include "core/msg.h"
#include "core/wire.h"
#include "ta/rt.h"
#include "core/cfg/cfg.h"

/* A frame larger than this is no frame of the runtime: stop the walk. */
#define FRAME_MAX (1u << 20)

static struct {
    void *entry;
    int armed;
    int ok; /* ctx holds a complete context */
    struct talos_mig_threads ctx;
} rec;

static struct {
    pthread_t thread;
    int started;
    uint8_t *file;
    size_t len;
    struct talos_cfg *cfg;
    uint8_t digest[TALOS_CFG_DIGEST_BYTES]; /* of cfg, taken once on the parse thread */
    int rc;
} load = {.rc = TALOS_ERR_NOT_FOUND};

void talos_flow_set_entry(void *entry_frame) { rec.entry = entry_frame; }
void talos_flow_arm(void) { rec.armed = 1; }
int talos_flow_armed(void) { return rec.armed; }

void talos_flow_capture(void *mp_frame)
{
    struct talos_mig_thread *t = &rec.ctx.t[0];
    uintptr_t *fp = mp_frame, *next = NULL;

    rec.armed = 0;
    rec.ok = 0;
    memset(&rec.ctx, 0, sizeof(rec.ctx));
    if (!fp || !rec.entry)
        return;
    t->resume = (uint64_t)fp[1];
    for (next = (uintptr_t *)fp[0]; next != rec.entry; next = (uintptr_t *)fp[0]) {
        /* Up the stack only, by a plausible frame size, a bounded number of times. */
        if ((uintptr_t)next <= (uintptr_t)fp || (uintptr_t)next - (uintptr_t)fp > FRAME_MAX ||
            t->n_ret >= TALOS_MIG_MAX_FRAMES)
            return;
        fp = next;
        t->ret[t->n_ret++] = (uint64_t)fp[1];
    }
    rec.ctx.n = 1;
    rec.ok = 1;
}

static void *parse_run(void *arg)
{
    (void)arg;
    load.rc = talos_cfg_parse(load.file, load.len, &load.cfg);
    /* The digest serializes the whole graph: ~1 ms for a static image,
     * here rather than inside a migration's downtime. */
    if (load.rc == TALOS_OK)
        talos_cfg_digest(load.cfg, load.digest);
    talos_wipe(load.file, load.len);
    free(load.file);
    load.file = NULL;
    return NULL;
}

int talos_flow_load_start(void)
{
    struct talos_wr req;
    int rc = TALOS_OK;

    if (!(load.file = malloc(TALOS_MSG_MAX)))
        return TALOS_ERR_NOMEM;
    talos_wr_init(&req, 0);
    talos_wr_u16(&req, TALOS_HOST_REQ_CFG);
    talos_wr_bytes(&req, NULL, 0);
    /* Copied once, out of the receive buffer, into load.file. */
    rc = req.err ? req.err
                 : talos_rt_host_roundtrip(TALOS_MSG_HOST_REQ, &req, TALOS_MSG_HOST_RET,
                                           load.file, TALOS_MSG_MAX, &load.len);
    talos_wr_free(&req);
    if (rc != TALOS_OK) {
        TLOG_WARN("no CFG file from the host (%s): this target will refuse every import",
                  talos_strerror(rc));
        free(load.file);
        load.file = NULL;
        load.rc = rc;
        return TALOS_OK;
    }
    load.started = talos_rt_thread_create(&load.thread, parse_run, NULL) == 0;
    if (!load.started)
        parse_run(NULL);
    return TALOS_OK;
}

static void load_join(void)
{
    if (load.started)
        pthread_join(load.thread, NULL);
    load.started = 0;
}

void talos_flow_ready(void) { load_join(); }

void talos_flow_fini(void)
{
    load_join();
    talos_cfg_free(load.cfg);
    load.cfg = NULL;
}

/* Test builds only (like ta/fault.h): $TALOS_FLOW_TAMPER makes the source
 * send a forged context, so that tests can show the target refuses it. */
static void tamper(struct talos_mig_threads *c)
{
#ifdef TALOS_FAULT_POINTS
    const char *how = getenv("TALOS_FLOW_TAMPER");
    struct talos_mig_thread *t = &c->t[0];

    if (!how)
        return;
    if (strcmp(how, "mid_function") == 0) {
        t->resume += 1; /* inside the instruction after the call: no migration point */
    } else if (strcmp(how, "bad_return") == 0 && t->n_ret < TALOS_MIG_MAX_FRAMES) {
        /* A first frame returning into the last byte of the migration
         * point's call instruction: no call site produces that address. */
        memmove(&t->ret[1], &t->ret[0], t->n_ret * sizeof(t->ret[0]));
        t->ret[0] = t->resume - 1;
        t->n_ret++;
    }
    TLOG_WARN("test build: TALOS_FLOW_TAMPER=%s: sending a forged thread context", how);
#else
    (void)c;
#endif
}

int talos_flow_send(struct mig *m)
{
    struct talos_mig_threads c;
    struct talos_wr w;
    int rc = TALOS_OK;

    if (!rec.ok) {
        snprintf(m->reason, sizeof(m->reason),
                 "this thread's context at the migration point could not be recorded");
        return TALOS_ERR_CFG;
    }
    c = rec.ctx;
    tamper(&c);
    talos_wr_init(&w, TALOS_MIG_THREADS_MAX);
    rc = talos_mig_threads_encode(&c, &w);
    if (rc == TALOS_OK)
        rc = talos_chan_send(&m->ch, TALOS_MIG_THREADS, w.p, w.len, NULL, 0);
    talos_wr_free(&w);
    return rc;
}

int talos_flow_check(struct mig *m)
{
    static struct talos_mig_threads c; /* 8 KiB: off the stack */
    static uint8_t buf[TALOS_MIG_THREADS_MAX];
    uint8_t got = 0;
    uint32_t len = 0;
    int rc = mig_recv(m, TALOS_MIG_THREADS, &got, buf, sizeof(buf), &len);

    if (rc != TALOS_OK)
        goto out;
    if ((rc = talos_mig_threads_decode(buf, len, &c)) != TALOS_OK) {
        snprintf(m->reason, sizeof(m->reason), "THREADS record does not decode");
        goto out;
    }
    load_join();
    if (load.rc != TALOS_OK) {
        snprintf(m->reason, sizeof(m->reason), "no CFG to check thread contexts against (%s)",
                 talos_strerror(load.rc));
        rc = TALOS_ERR_CFG;
        goto out;
    }
    if ((m->id.own.flags & TALOS_CLAIM_NO_CFG) ||
        !talos_ct_eq(load.digest, m->id.own.cfg_digest, sizeof(load.digest))) {
        snprintf(m->reason, sizeof(m->reason),
                 "the host's CFG file does not hash to this TA's signed cfg_digest");
        rc = TALOS_ERR_CFG_DIGEST;
        goto out;
    }
    if (c.n != 1) { /* version 1: the serve loop's thread, nothing else */
        snprintf(m->reason, sizeof(m->reason), "%" PRIu32 " thread contexts; version 1 moves one",
                 c.n);
        rc = TALOS_ERR_CFG;
        goto out;
    }
    for (uint32_t i = 0; i < c.n; i++) {
        struct talos_cfg_thread t = {.resume = c.t[i].resume, .ret = c.t[i].ret,
                                     .n_ret = c.t[i].n_ret};
        char why[160] = "";
        if ((rc = talos_cfg_check_thread(load.cfg, &t, why, sizeof(why))) != TALOS_OK) {
            snprintf(m->reason, sizeof(m->reason), "thread %" PRIu32 ": %s", i, why);
            goto out;
        }
    }
out:
    /* The CFG is freed later (talos_flow_fini after the import): freeing
     * its many blocks costs ~1 ms, inside the downtime here. */
    return rc;
}
