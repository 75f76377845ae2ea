/* The frames a host sends its TA (core/msg.h), one row each in a const
 * table like the ecall table (ta/dispatch.c): its shape — body bounds, and
 * for the token frames the u32-prefixed token filling the body — and the
 * lifecycle states it is handled in (core/lifecycle.h) are checked before
 * its handler runs. A frame out of its states gets the answer its handler
 * would give there (the same error, the same reply shape), and a descriptor
 * that travels with it is closed. A type without a row (a reply with no
 * request outstanding, a second INIT) is dropped: the stream is still in
 * sync. Everything here is hostile host input: the body is the TA's private
 * copy (os/xport.c). Trusted code. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mig.h"
#include "core/msg.h"
#include "ta/cert.h"
#include "ta/rt.h"
#include "ta/sess.h"
#include "tee/tee.h"

#define TOKEN_MAX 4096

static int on_call(const uint8_t *body, size_t len) { return talos_rt_handle_call(body, len); }

static int on_session(const uint8_t *body, size_t len)
{
    return talos_rt_handle_session(body, len);
}

static int on_attest(const uint8_t *nonce, size_t len)
{
    uint8_t rd[TALOS_REPORT_DATA_BYTES] = {0};
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t ev_len = sizeof(ev);
    int status = TALOS_OK;

    (void)len; /* TALOS_NONCE_BYTES: the row's shape */
    talos_attest_report_data(nonce, talos_rt.lineage, rd);
    status = talos_tee_enclave.evidence(rd, ev, &ev_len);
    return talos_rt_reply(status, status == TALOS_OK ? ev : NULL, ev_len,
                          "the platform could not produce evidence");
}

static int on_info(const uint8_t *body, size_t len)
{
    struct talos_wr *w = &talos_rt.tx;

    (void)body, (void)len;
    talos_wr_reset(w);
    talos_wr_u64(w, talos_rt.version);
    talos_wr_u64(w, talos_rt_state_bytes());
    talos_wr_str(w, talos_rt_state_name(talos_rt.state));
    return w->err ? w->err : talos_xport_send(&talos_rt.x, TALOS_MSG_INFO_RET, w->p, w->len);
}

static int on_state_cert(const uint8_t *body, size_t len)
{
    (void)body, (void)len;
    return talos_rt_state_cert();
}

/* The serve loop recorded this thread's context at its migration point
 * already (the row's `mp`). */
static int on_migrate_out(const uint8_t *body, size_t len) { return talos_rt_mig_start(body, len); }

static int on_migrate_in(const uint8_t *body, size_t len)
{
    struct talos_msg_migrate_in in;
    int fd = -1, rc = talos_msg_migrate_in_decode(body, len, &in);

    /* Decoded into a copy: the receive buffer is reused during the migration. */
    if (rc != TALOS_OK || (rc = talos_xport_take_fd(&talos_rt.x, &fd)) != TALOS_OK)
        return rc;
    rc = talos_rt_migrate_in(fd, in.lineage, in.prefault_grant);
    /* A new instance of the lineage rotates its key now, after the RECEIPT
     * and the host's answer: off the downtime path. */
    if (rc == TALOS_OK && talos_rt.state == RT_ACTIVE) {
        talos_rt_cert_adopt();
        talos_rt_restore_commit(); /* before the first call: version + 1 (D45) */
    }
    return rc;
}

/* The token frames: the row's shape made `tok` the token itself. */
static int on_resume(const uint8_t *tok, size_t n)
{
    char why[200] = "";
    int status = talos_rt_resume(tok, n, why, sizeof(why));
    return talos_rt_reply(status, NULL, 0, why);
}

static int on_receipt(const uint8_t *tok, size_t n)
{
    char why[200] = "";
    int status = talos_rt_receipt(tok, n, why, sizeof(why));
    return talos_rt_reply(status, NULL, 0, why);
}

static int on_handoff(const uint8_t *tok, size_t n)
{
    int rc = talos_rt_handoff(tok, n);
    /* A waiting target that a resent HANDOFF activated rotates its key. */
    if (rc == TALOS_OK && talos_rt.state == RT_ACTIVE) {
        talos_rt_cert_adopt();
        talos_rt_restore_commit(); /* before the first call: version + 1 (D45) */
    }
    return rc;
}

/* A virgin target of a warm pool faults in the start of its arena now, so
 * that an import writes into touched memory instead of paying each page
 * fault on the migration's critical path. Only the node's memory is at
 * stake, and the node asks: bounded by the arena alone. */
static int on_prefault(const uint8_t *body, size_t len)
{
    uint64_t bytes = 0;
    int rc = talos_msg_prefault_decode(body, len, &bytes);

    if (rc != TALOS_OK)
        return rc;
    rc = talos_rt_prefault(bytes);
    return talos_rt_reply(rc, NULL, 0, rc == TALOS_OK ? NULL : "cannot pre-fault the arena");
}

static int on_give_up(const uint8_t *body, size_t len)
{
    int32_t code = 0;
    int rc = talos_msg_give_up_decode(body, len, &code);
    return rc != TALOS_OK ? rc : talos_rt_give_up(code);
}

/* How a frame is answered out of its states: as its handler answers there. */
enum refusal {
    REFUSE_NONE = 0, /* handled in every state (its handler answers by state) */
    REFUSE_PLAIN,    /* STATE, no output */
    REFUSE_MOVED,    /* MOVED once handed off or retired, else STATE, no output */
    REFUSE_REPORT,   /* STATE with an empty migration report: the host decodes one
                      * from every answer to a migration frame (node/host/migrate.c) */
};

#define ANY TALOS_LIFE_ANY
#define IN(s) TALOS_LIFE_BIT(TALOS_LIFE_##s)
#define WAITING_ONLY "only a PREPARED target that lost its channel waits for a HANDOFF"

static const struct frame {
    uint16_t type;
    const char *name;
    int (*fn)(const uint8_t *body, size_t len);
    uint32_t min_len, max_len; /* body bytes (core/msg.c bounds them on receipt too) */
    uint8_t token;             /* the body is bytes token (<= TOKEN_MAX), nothing after */
    uint8_t fd;                /* a descriptor travels with it */
    uint8_t mp;                /* the serve loop stops at its migration point first */
    unsigned states;           /* TALOS_LIFE_BIT set the handler runs in */
    uint8_t refusal;           /* enum refusal */
    const char *need;          /* the refusal's reason: "TA is <state>: <need>" */
} frames[] = {
    /* CALL in any state: the ecall dispatcher answers MOVED or STATE
     * itself, naming where the lineage went (ta/dispatch.c). */
    {TALOS_MSG_CALL, "CALL", on_call, 8, TALOS_MSG_MAX, 0, 0, 0, ANY, REFUSE_NONE, NULL},
    /* SESSION in any state: the session handler answers MOVED or STATE
     * itself (an END to a session's client, a refusal of an OPEN), in its
     * own SESSION_RET (ta/session.c). */
    {TALOS_MSG_SESSION, "SESSION", on_session, TALOS_MSG_SESSION_MIN,
     TALOS_MSG_SESSION_MIN + TALOS_SESS_IO_MAX, 0, 0, 0, ANY, REFUSE_NONE, NULL},
    {TALOS_MSG_ATTEST, "ATTEST", on_attest, TALOS_NONCE_BYTES, TALOS_NONCE_BYTES, 0, 0, 0, ANY,
     REFUSE_NONE, NULL},
    {TALOS_MSG_INFO, "INFO", on_info, 0, 0, 0, 0, 0, ANY, REFUSE_NONE, NULL},
    {TALOS_MSG_STATE_CERT, "STATE_CERT", on_state_cert, 0, 0, 0, 0, 0, IN(ACTIVE), REFUSE_MOVED,
     NULL},
    /* MIGRATE_OUT in any state: its answer goes on the control channel
     * that comes with it, from the migration's thread (ta/mig_source.c). */
    {TALOS_MSG_MIGRATE_OUT, "MIGRATE_OUT", on_migrate_out, 9, 9 + 256, 0, 1, 1, ANY, REFUSE_NONE,
     NULL},
    {TALOS_MSG_MIGRATE_IN, "MIGRATE_IN", on_migrate_in, TALOS_MSG_MIGRATE_IN_BYTES,
     TALOS_MSG_MIGRATE_IN_BYTES, 0, 1, 0, IN(EMPTY), REFUSE_REPORT, "only an EMPTY target imports"},
    {TALOS_MSG_RESUME, "RESUME", on_resume, 4, TOKEN_MAX, 1, 0, 0, IN(HANDED_OFF), REFUSE_PLAIN,
     "only a HANDED_OFF source can resume"},
    {TALOS_MSG_RECEIPT, "RECEIPT", on_receipt, 4, TOKEN_MAX, 1, 0, 0, IN(HANDED_OFF), REFUSE_PLAIN,
     "only a HANDED_OFF source takes a RECEIPT"},
    {TALOS_MSG_HANDOFF, "HANDOFF", on_handoff, 4, TOKEN_MAX, 1, 0, 0, IN(PREPARED), REFUSE_REPORT,
     WAITING_ONLY},
    {TALOS_MSG_PREFAULT, "PREFAULT", on_prefault, TALOS_MSG_PREFAULT_BYTES,
     TALOS_MSG_PREFAULT_BYTES, 0, 0, 0, IN(EMPTY), REFUSE_PLAIN,
     "only a virgin target pre-faults its arena"},
    {TALOS_MSG_GIVE_UP, "GIVE_UP", on_give_up, TALOS_MSG_GIVE_UP_BYTES, TALOS_MSG_GIVE_UP_BYTES,
     0, 0, 0, IN(PREPARED), REFUSE_REPORT, WAITING_ONLY},
};

/* A frame refused before its handler: the descriptor that came with it
 * would otherwise wait for the next frame that takes one. */
static void drop_fd(const struct frame *f)
{
    int fd = -1;
    if (f->fd && talos_xport_take_fd(&talos_rt.x, &fd) == TALOS_OK)
        close(fd);
}

static int refuse(const struct frame *f)
{
    char why[200];
    int moved = talos_rt.state == RT_HANDED_OFF || talos_rt.state == RT_RETIRED;
    int status = f->refusal == REFUSE_MOVED && moved ? TALOS_ERR_MOVED : TALOS_ERR_STATE;
    int rc = TALOS_OK;

    drop_fd(f);
    snprintf(why, sizeof(why), f->need ? "TA is %s: %s" : "TA is %s",
             talos_rt_state_name(talos_rt.state), f->need ? f->need : "");
    if (f->refusal != REFUSE_REPORT)
        return talos_rt_reply(status, NULL, 0, why);
    struct talos_mig_report rep;
    struct talos_wr w;
    memset(&rep, 0, sizeof(rep));
    talos_wr_init(&w, 512);
    talos_mig_report_encode(&rep, &w);
    rc = w.err ? w.err : talos_rt_reply(status, w.p, w.len, why);
    talos_wr_free(&w);
    return rc;
}

static const struct frame *find(uint16_t type)
{
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
        if (frames[i].type == type)
            return &frames[i];
    return NULL;
}

int talos_rt_frame_at_mp(uint16_t type)
{
    const struct frame *f = find(type);
    return f && f->mp;
}

int talos_rt_handle_frame(uint16_t type, const uint8_t *body, size_t len)
{
    const struct frame *f = find(type);
    const uint8_t *p = body;
    size_t n = len;

    if (!f) {
        const struct talos_msg_desc *d = talos_msg_find(type);
        TLOG_WARN("unexpected %s frame from host ignored", d ? d->name : "unknown");
        return TALOS_OK;
    }
    /* Shape first, then state: a malformed frame is MALFORMED in any state. */
    int shaped = len >= f->min_len && len <= f->max_len;
    if (shaped && f->token) {
        struct talos_rd r;
        talos_rd_init(&r, body, len);
        p = talos_rd_bytes(&r, &n, TOKEN_MAX);
        shaped = talos_rd_finish(&r) == TALOS_OK;
    }
    if (!shaped) {
        char why[64];
        drop_fd(f);
        snprintf(why, sizeof(why), "malformed %s frame", f->name);
        return talos_rt_reply(TALOS_ERR_MALFORMED, NULL, 0, why);
    }
    if (!(f->states & TALOS_LIFE_BIT(talos_rt.state)))
        return refuse(f);
    return f->fn(p, n);
}
