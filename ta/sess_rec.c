/* The records a client sends inside its session (docs/sessions.md §3, §4):
 * HELLO and CALL, each answered with WELCOME, RESULT or END. The bodies
 * are the session's private copy of hostile bytes, decoded once by the
 * codec of core/sess.h. A CALL runs through the same path as the host's
 * CALL (talos_rt_run_call) and is recorded in the exactly-once table
 * (ta/once.c) in the same frame, so that a migration, which freezes the TA
 * only between frames, never separates a call from its record. Trusted
 * code. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/sess.h"
#include "ta/once.h"
#include "ta/rt.h"
#include "ta/sess_rec.h"

static int end(struct talos_wr *plain, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Queue END and say the session is over (its code). */
static int end(struct talos_wr *plain, int code, const char *fmt, ...)
{
    struct talos_sess_end e = {.code = code};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e.reason, sizeof(e.reason), fmt, ap);
    va_end(ap);
    talos_sess_end_encode(&e, plain);
    return code;
}

/* Only an ACTIVE instance serves (I1): elsewhere the session ends. */
/* END MOVED names where the lineage went (HOST:PORT, host-told when the
 * migration started: a hint the client verifies like any node's answer)
 * so that the client goes there at once, without first asking this node,
 * which is still recording the move (docs/sessions.md §3). */
static int not_serving(struct talos_wr *plain)
{
    char why[200];
    int code = talos_rt_not_serving(why, sizeof(why));
    const char *to = talos_rt_moved_to();
    if (code == TALOS_ERR_MOVED && to[0] && strlen(to) < 200 && !strpbrk(to, " \r\n"))
        return end(plain, code, "%s", to);
    return end(plain, code, "%s", why);
}

static int on_hello(struct talos_sess_peer *p, const uint8_t *body, size_t n,
                    struct talos_wr *plain)
{
    struct talos_sess_hello h;

    if (p->hello)
        return end(plain, TALOS_ERR_PROTOCOL, "a second HELLO");
    if (talos_sess_hello_decode(body, n, &h) != TALOS_OK)
        return end(plain, TALOS_ERR_MALFORMED, "malformed HELLO");
    if (h.proto != TALOS_SESS_PROTO)
        return end(plain, TALOS_ERR_PROTOCOL, "session protocol %u; this TA speaks %u",
                   h.proto, TALOS_SESS_PROTO);
    if (talos_rt.state != RT_ACTIVE)
        return not_serving(plain);
    p->hello = 1;
    memcpy(p->cid, h.client_id, sizeof(p->cid));
    if (talos_once_enter(p->cid) != TALOS_OK)
        TLOG_WARN("client session: no room in the state for a client's record: its retries "
                  "will be refused (REPLAY)");
    struct talos_sess_welcome w = {.proto = TALOS_SESS_PROTO, .version = talos_rt.version,
                                   .last_seq = talos_once_last_seq(p->cid)};
    memcpy(w.lineage, talos_rt.lineage, sizeof(w.lineage));
    talos_sess_welcome_encode(&w, plain);
    return TALOS_OK;
}

/* Run the call and record its answer (§4: failed calls too). */
static void run_and_record(const struct talos_sess_peer *p, const struct talos_sess_call *c,
                           struct talos_wr *plain)
{
    struct talos_out out;
    struct talos_sess_result r = {.seq = c->seq};

    talos_rt_out_init(&out);
    r.status = talos_rt_run_call(c->args, c->args_len, &out);
    const struct talos_once_answer a = {
        .status = r.status,
        .out = r.status == TALOS_OK ? out.buf.p : NULL,
        .out_len = r.status == TALOS_OK ? out.buf.len : 0,
        .reason = r.status == TALOS_OK ? "" : out.reason,
    };
    talos_once_record(p->cid, c->seq, &a);
    r.version = talos_rt.version;
    r.out = a.out;
    r.out_len = a.out_len;
    snprintf(r.reason, sizeof(r.reason), "%s", a.reason);
    talos_sess_result_encode(&r, plain);
    talos_rt_out_free(&out);
}

static int on_call(struct talos_sess_peer *p, const uint8_t *body, size_t n,
                   struct talos_wr *plain)
{
    struct talos_sess_call c;
    struct talos_once_answer rec = {0};
    const char *why = "";

    if (!p->hello)
        return end(plain, TALOS_ERR_PROTOCOL, "CALL before HELLO");
    if (talos_sess_call_decode(body, n, &c) != TALOS_OK)
        return end(plain, TALOS_ERR_MALFORMED, "malformed CALL");
    if (talos_rt.state != RT_ACTIVE)
        return not_serving(plain);
    struct talos_sess_result r = {.seq = c.seq};
    int v = talos_once_decide(p->cid, c.seq, c.flags & TALOS_SESS_CALL_RETRY, &rec, &why);
    switch (v) {
    case TALOS_ONCE_RUN:
        run_and_record(p, &c, plain);
        return TALOS_OK;
    case TALOS_ONCE_REPLAYED:
        r.status = rec.status;
        r.flags = TALOS_SESS_RESULT_REPLAYED;
        r.out = rec.out;
        r.out_len = rec.out_len;
        snprintf(r.reason, sizeof(r.reason), "%s", rec.reason);
        break;
    case TALOS_ONCE_REPLAY:
        r.status = TALOS_ERR_REPLAY;
        snprintf(r.reason, sizeof(r.reason), "call %llu not run: %s", (unsigned long long)c.seq,
                 why);
        break;
    default: /* no room for the table: nothing ran */
        r.status = v;
        snprintf(r.reason, sizeof(r.reason), "no room in the state to record calls: not run");
        break;
    }
    r.version = talos_rt.version; /* now, not then: a client's versions never decrease */
    talos_sess_result_encode(&r, plain);
    return TALOS_OK;
}

/* By type; core/sess.c's header check let only a client's types through. */
static const struct {
    uint8_t type;
    int (*fn)(struct talos_sess_peer *p, const uint8_t *body, size_t n, struct talos_wr *plain);
} recs[] = {
    {TALOS_SESS_HELLO, on_hello},
    {TALOS_SESS_CALL, on_call},
};

int talos_rt_sess_record(struct talos_sess_peer *p, uint8_t type, const uint8_t *body, size_t n,
                         struct talos_wr *plain)
{
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
        if (recs[i].type == type)
            return recs[i].fn(p, body, n, plain);
    return end(plain, TALOS_ERR_PROTOCOL, "record type %u is not a client's", type);
}

int talos_rt_sess_end(struct talos_wr *plain, int code, const char *reason)
{
    return end(plain, code, "%s", reason);
}
