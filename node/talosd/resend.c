/* Source node side of the handover after a lost channel (handoff.h): a
 * source left in doubt has its HANDOFF resent to the target node, with
 * backoff, for a bounded time. The answer is a token this node cannot
 * check and does not need to: the source TA verifies a RECEIPT (and
 * retires) or an ABORT (and serves again) under its pending session key.
 * A lying target node can only waste our retries. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/mig.h"
#include "core/wire.h"
#include "node/talosd/handoff.h"
#include "node/talosd/node.h"
#include "node/talosd/registry.h"

#define UNKNOWN_MAX 3     /* "no such session" answers before giving up */
#define BACKOFF_MAX_S 2.0

enum { R_PENDING, R_RETIRED, R_RESUMED, R_GAVE_UP };

struct resend {
    struct ta_entry *e; /* a reference, released (and NULLed) when the thread ends */
    const struct ta_entry *owner; /* never dereferenced: resend_await's key */
    char to[128];
    struct peer_resend q;
    double deadline;
    int state;
    int code; /* R_RESUMED: the target's ABORT code */
    char why[300];
    struct resend *next;
};

static pthread_mutex_t rl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rc_settled = PTHREAD_COND_INITIALIZER;
static struct resend *resends;

/* One RESEND round trip. */
static int attempt(const struct resend *r, struct peer_verdict *v)
{
    struct peer_link l;
    char why[200] = "";
    int rc = peer_link_connect(r->to, &l, why, sizeof(why));

    if (rc != TALOS_OK) {
        if (rc == TALOS_ERR_PEER_AUTH)
            TLOG_WARN("resend to %s: %s", r->to, why);
        return rc;
    }
    peer_set_timeouts(l.fd, 65); /* the target node may be activating its TA */
    if ((rc = peer_send_resend(&l, &r->q)) == TALOS_OK)
        rc = peer_recv_verdict(&l, v);
    peer_link_close(&l);
    return rc;
}

static void settle(struct resend *r, int state, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void settle(struct resend *r, int state, int code, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&rl);
    r->state = state;
    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    pthread_cond_broadcast(&rc_settled);
    pthread_mutex_unlock(&rl);
}

/* Give the source TA the token; e->lock held. 1 when settled. */
static int deliver(struct resend *r, const struct peer_verdict *v)
{
    struct ta_entry *e = r->e;
    struct talos_result res = {0};
    int rc = TALOS_OK, settled = 0;

    if (v->kind == TALOS_MIG_RECEIPT) {
        rc = talos_ta_receipt(e->ta, v->token, v->token_len, &res);
        if (rc == TALOS_OK && res.status == TALOS_OK) {
            snprintf(e->moved_to, sizeof(e->moved_to), "%s", r->to);
            talos_ta_destroy(e->ta); /* retired: it ended after its answer */
            e->ta = NULL;
            e->token_len = 0;
            snprintf(e->handoff, sizeof(e->handoff), "%s", "");
            TLOG_INFO("lineage %s moved to %s: the resent HANDOFF was answered by a RECEIPT the "
                      "source verified", e->id, r->to);
            settle(r, R_RETIRED, TALOS_OK, "the target serves (RECEIPT through the nodes)");
            settled = 1;
        }
    } else {
        rc = talos_ta_resume(e->ta, v->token, v->token_len, &res);
        if (rc == TALOS_OK && res.status == TALOS_OK) {
            /* The MAC verified inside the TA, so the code in it is the target's. */
            int code = (int32_t)talos_be32_get(v->token + 1 + TALOS_SESSION_BYTES +
                                               TALOS_LINEAGE_BYTES + 8 + TALOS_MIG_HASH_BYTES);
            code = code < 0 && code >= TALOS_ERR_MIN ? code : TALOS_ERR_PROTOCOL;
            e->token_len = 0;
            snprintf(e->handoff, sizeof(e->handoff), "%s", "");
            TLOG_WARN("TA %s serves again: the target's ABORT (%s) came back for the resent "
                      "HANDOFF and the source verified it", e->id, talos_errname(code));
            settle(r, R_RESUMED, code, "the target gave up (%s); the source verified its ABORT "
                   "and serves again", talos_strerror(code));
            settled = 1;
        }
    }
    if (!settled)
        TLOG_WARN("resend for %s: the source TA refused the %s the target node returned (%s): %s",
                  e->id, v->kind == TALOS_MIG_RECEIPT ? "RECEIPT" : "ABORT",
                  talos_errname(rc ? rc : res.status), rc ? talos_strerror(rc) : res.reason);
    talos_result_clear(&res);
    return settled;
}

static void *resend_thread(void *arg)
{
    struct resend *r = arg;
    struct ta_entry *e = r->e;
    double delay = 0.1;
    int unknown = 0, n = 0;
    char sess[33];

    talos_hex(r->q.session, TALOS_SESSION_BYTES, sess);
    while (handoff_now() < r->deadline) {
        struct peer_verdict v;
        int rc = TALOS_OK, done = 0;

        pthread_mutex_lock(&e->lock);
        if (e->removed || !e->ta || !e->token_len) {
            /* Resumed by an operator (talos resume) or stopped meanwhile. */
            pthread_mutex_unlock(&e->lock);
            settle(r, R_GAVE_UP, TALOS_ERR_STATE, "the resend stopped: the TA was resumed or stopped meanwhile");
            goto out;
        }
        pthread_mutex_unlock(&e->lock);
        n++;
        rc = attempt(r, &v);
        if (rc == TALOS_OK && v.status == TALOS_OK &&
            (v.kind == TALOS_MIG_RECEIPT || v.kind == TALOS_MIG_ABORT)) {
            pthread_mutex_lock(&e->lock);
            done = !e->removed && e->ta && deliver(r, &v);
            pthread_mutex_unlock(&e->lock);
            if (done)
                goto out;
        } else if (rc == TALOS_OK && v.status == TALOS_ERR_NO_SUCH_SESSION) {
            TLOG_INFO("resend %d for %s session %s: the target node knows no such session", n,
                      e->id, sess);
            if (++unknown >= UNKNOWN_MAX)
                break;
        } else {
            TLOG_INFO("resend %d for %s session %s to %s: %s%s%s", n, e->id, sess, r->to,
                      talos_errname(rc ? rc : v.status), rc ? "" : ": ", rc ? "" : v.message);
        }
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(long)delay) * 1e9)};
        nanosleep(&ts, NULL);
        delay = delay * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : delay * 2;
    }
    pthread_mutex_lock(&e->lock);
    snprintf(e->handoff, sizeof(e->handoff), "in doubt, resend gave up");
    pthread_mutex_unlock(&e->lock);
    TLOG_WARN("resend for %s gave up after %d attempts (%s): the source stays HANDED_OFF, not "
              "serving; only the target's ABORT brings it back (talos resume)", e->id, n,
              unknown >= UNKNOWN_MAX ? "the target node knows no such session" : "time is up");
    settle(r, R_GAVE_UP, TALOS_ERR_STATE, "the resend gave up (%s)",
           unknown >= UNKNOWN_MAX ? "the target node knows no such session" : "time is up");
out:
    pthread_mutex_lock(&rl);
    r->e = NULL;
    pthread_mutex_unlock(&rl);
    registry_put(e);
    return NULL;
}

int resend_start(struct ta_entry *e, const char *to, const struct talos_migration *m)
{
    struct resend *r = NULL;
    struct ta_entry *ref = NULL;
    pthread_t t;

    if (m->token_kind != TALOS_MIG_HANDOFF || m->token_len != TALOS_TOKEN_BYTES)
        return TALOS_ERR_INVALID_ARG;
    if (!(ref = registry_get(e->id)) || ref != e) {
        registry_put(ref);
        return TALOS_ERR_NO_SUCH_TA;
    }
    if (!(r = calloc(1, sizeof(*r)))) {
        registry_put(ref);
        return TALOS_ERR_NOMEM;
    }
    r->e = e;
    r->owner = e;
    snprintf(r->to, sizeof(r->to), "%s", to);
    (void)talos_unhex(e->id, r->q.lineage, TALOS_LINEAGE_BYTES);
    memcpy(r->q.session, m->token + 1, TALOS_SESSION_BYTES);
    memcpy(r->q.token, m->token, m->token_len);
    r->q.token_len = m->token_len;
    /* Long enough for the target's whole wait and then its ABORT. */
    r->deadline = handoff_now() + 2.0 * node.handoff_wait + 10;
    r->state = R_PENDING;
    snprintf(e->handoff, sizeof(e->handoff), "in doubt, resending HANDOFF");
    talos_hex(r->q.session, TALOS_SESSION_BYTES, e->handoff_session);
    pthread_mutex_lock(&rl);
    r->next = resends;
    resends = r;
    pthread_mutex_unlock(&rl);
    char hex[2 * TALOS_TOKEN_BYTES + 1];
    talos_hex(m->token, m->token_len, hex);
    /* Not a secret (MAC'd under the session key); logged like an ABORT. */
    TLOG_WARN("TA %s is in doubt after handing off to %s: resending its HANDOFF for up to %d s "
              "(HANDOFF token %s)", e->id, to, 2 * node.handoff_wait + 10, hex);
    if (pthread_create(&t, NULL, resend_thread, r) != 0) {
        settle(r, R_GAVE_UP, TALOS_ERR_STATE, "cannot start the resend");
        pthread_mutex_lock(&rl);
        r->e = NULL;
        pthread_mutex_unlock(&rl);
        registry_put(e);
        return TALOS_ERR_NOMEM;
    }
    pthread_detach(t);
    return TALOS_OK;
}

int resend_await(struct ta_entry *e, int seconds, char *why, size_t cap)
{
    struct resend *r = NULL;
    struct timespec until;
    int rc = TALOS_ERR_STATE;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&rl);
    for (r = resends; r; r = r->next)
        if (r->owner == e)
            break; /* the newest first */
    while (r && r->state == R_PENDING &&
           pthread_cond_timedwait(&rc_settled, &rl, &until) == 0)
        ;
    if (r && r->state != R_PENDING) {
        rc = r->code;
        snprintf(why, cap, "%s", r->why);
    } else {
        snprintf(why, cap, "the node still resends the HANDOFF in the background (talos ps)");
    }
    pthread_mutex_unlock(&rl);
    return rc;
}
