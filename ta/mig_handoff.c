/* A PREPARED target whose channel broke before the HANDOFF (docs/migration.md,
 * "Resend"). It holds verified state and cannot know whether the source
 * handed off, so it neither serves nor fails: it waits for the source's
 * HANDOFF, which the source's node resends and ours delivers (HANDOFF
 * frame), or for its node to make it give up (GIVE_UP frame: the wait
 * expired, or `talos abort`), which makes it FAILED with an ABORT token.
 * The nodes carry only MAC'd tokens: a node can delay or drop one, never
 * forge one, and a refused token leaves this TA exactly as it was (I8).
 * Trusted code. */
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/wire.h"
#include "ta/fault.h"
#include "ta/mig.h"
#include "ta/rt.h"

static struct {
    int live;
    uint8_t session[TALOS_SESSION_BYTES];
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint8_t k_tok[TALOS_MIG_KEY_BYTES];
    uint64_t version;
    uint8_t head[TALOS_MIG_HASH_BYTES];
    uint8_t measurement[TALOS_MEASUREMENT_BYTES]; /* ours, as the platform stated it */
    uint64_t restore_ns;
} waiting;

void mig_wait_begin(const struct mig *m, uint64_t version, const uint8_t head[TALOS_MIG_HASH_BYTES])
{
    memcpy(waiting.session, m->session, sizeof(waiting.session));
    memcpy(waiting.lineage, m->lineage, sizeof(waiting.lineage));
    memcpy(waiting.k_tok, m->k_tok, sizeof(waiting.k_tok));
    memcpy(waiting.head, head, sizeof(waiting.head));
    memcpy(waiting.measurement, m->id.own.measurement, sizeof(waiting.measurement));
    waiting.version = version;
    waiting.restore_ns = m->rep.restore_ns;
    waiting.live = 1;
}

static int reply(int status, const struct talos_mig_report *rep, const char *why)
{
    struct talos_wr w;
    int rc = TALOS_OK;

    talos_wr_init(&w, 512);
    talos_mig_report_encode(rep, &w);
    rc = w.err ? w.err : talos_rt_reply(status, w.p, w.len, why[0] ? why : talos_strerror(status));
    talos_wr_free(&w);
    return rc;
}

static void report_base(struct talos_mig_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    memcpy(rep->lineage, waiting.lineage, TALOS_LINEAGE_BYTES);
    memcpy(rep->head, waiting.head, TALOS_MIG_HASH_BYTES);
    rep->version = waiting.version;
    rep->restore_ns = waiting.restore_ns;
}

static int seal(uint8_t kind, int32_t code, struct talos_mig_report *rep)
{
    struct talos_token t = {.kind = kind, .version = waiting.version, .code = code};
    int rc = TALOS_OK;

    memcpy(t.session, waiting.session, sizeof(t.session));
    memcpy(t.lineage, waiting.lineage, sizeof(t.lineage));
    if (kind == TALOS_MIG_RECEIPT)
        memcpy(t.head, waiting.head, sizeof(t.head));
    if ((rc = talos_token_seal(&t, waiting.k_tok, rep->token)) == TALOS_OK)
        rep->token_kind = kind;
    return rc;
}

/* FAILED is terminal: wipe the state, seal the ABORT that lets the source
 * serve again (our node keeps it and answers the source's resend with it). */
static int fail_waiting(int code, const char *why)
{
    struct talos_mig_report rep;

    report_base(&rep);
    (void)talos_rt_enter(TALOS_LIFE_FAIL);
    talos_rt_wipe_state();
    TLOG_WARN("target FAILED while waiting for HANDOFF: %s", why);
    TALOS_FAULT("target.failed_before_abort");
    (void)seal(TALOS_MIG_ABORT, code, &rep);
    talos_wipe(&waiting, sizeof(waiting));
    return reply(code, &rep, why);
}

static int waiting_here(char *why, size_t cap)
{
    if (talos_rt.state == RT_PREPARED && waiting.live)
        return TALOS_OK;
    snprintf(why, cap, "TA is %s: only a PREPARED target that lost its channel waits for a HANDOFF",
             talos_rt_state_name(talos_rt.state));
    return TALOS_ERR_STATE;
}

int talos_rt_handoff(const uint8_t *tok, size_t len)
{
    struct talos_mig_report rep;
    struct talos_token t;
    uint8_t now[TALOS_MEASUREMENT_BYTES];
    char why[200] = "";
    int rc = waiting_here(why, sizeof(why));

    report_base(&rep);
    if (rc != TALOS_OK)
        return reply(rc, &rep, why);
    /* Hostile bytes from the node: only a token that verifies under this
     * session's key, of kind HANDOFF, for this version and head counts. */
    if ((rc = talos_token_open(tok, len, waiting.k_tok, TALOS_MIG_HANDOFF, waiting.session,
                               waiting.lineage, &t)) != TALOS_OK) {
        snprintf(why, sizeof(why), "not a valid HANDOFF of the session this target waits for: %s",
                 talos_strerror(rc));
        TLOG_WARN("%s; still PREPARED", why);
        return reply(rc, &rep, why);
    }
    if (t.version != waiting.version || !talos_ct_eq(t.head, waiting.head, TALOS_MIG_HASH_BYTES)) {
        snprintf(why, sizeof(why), "the HANDOFF names another version or chain head");
        TLOG_WARN("%s; still PREPARED", why);
        return reply(TALOS_ERR_PROTOCOL, &rep, why);
    }
    /* Introspection right before activation, as on the in-channel path: the
     * wait may have been long. */
    if ((rc = talos_rt_introspect(now, why, sizeof(why))) != TALOS_OK ||
        (rc = talos_rt_code_unchanged(now, waiting.measurement, why, sizeof(why))) != TALOS_OK)
        return fail_waiting(rc, why);
    TALOS_FAULT("target.before_active");
    if ((rc = mig_host_arrival(waiting.lineage, waiting.version, why, sizeof(why))) != TALOS_OK)
        return fail_waiting(rc, why);
    TALOS_FAULT("target.after_recorded");
    if ((rc = mig_activate_commit(waiting.lineage, waiting.version, waiting.head)) != TALOS_OK)
        return reply(rc, &rep, "this target is no longer PREPARED");
    TALOS_FAULT("target.after_active");
    TLOG_INFO("active: the HANDOFF arrived through the node; lineage continues at version %llu",
              (unsigned long long)waiting.version);
    /* The RECEIPT goes back the way the HANDOFF came. */
    (void)seal(TALOS_MIG_RECEIPT, 0, &rep);
    talos_wipe(&waiting, sizeof(waiting));
    return reply(TALOS_OK, &rep, "");
}

int talos_rt_give_up(int32_t code)
{
    struct talos_mig_report rep;
    char why[200] = "";
    int rc = waiting_here(why, sizeof(why));

    if (rc != TALOS_OK) {
        report_base(&rep);
        return reply(rc, &rep, why);
    }
    if (code >= 0 || code < TALOS_ERR_MIN)
        code = TALOS_ERR_ABORTED;
    snprintf(why, sizeof(why), "gave up waiting for HANDOFF: %s", talos_strerror(code));
    return fail_waiting(code, why);
}
