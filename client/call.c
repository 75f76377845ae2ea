/* One call inside a session (docs/sessions.md §3-§5): CALL, then its
 * RESULT. When the connection breaks or the TA moves before the RESULT
 * comes, the same call goes again, with the same sequence number and
 * RETRY, to wherever the TA is now: the TA answers it from its record
 * instead of running it twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/session.h"
#include "core/wire.h"
#include "talos/ta.h"

void talos_session_result_clear(struct talos_session_result *r)
{
    if (!r)
        return;
    if (r->out) {
        talos_wipe(r->out, r->out_len + 1);
        free(r->out);
    }
    memset(r, 0, sizeof(*r));
}

/* Failures after which the call goes again on a new connection. Not MAC:
 * bytes that fail their tag (or a TA that saw ours fail and said so in an
 * alert) mean someone on the path changes them, not that it broke; the
 * caller hears it (I12) instead of a silent retry through the same path.
 * The call's outcome is then unknown; the next call reconnects. */
static int broken(int rc)
{
    return rc == TALOS_ERR_PEER_CLOSED || rc == TALOS_ERR_IO || rc == TALOS_ERR_TIMEOUT;
}

/* A RESULT of call seq into res: TALOS_OK, REPLAY, ROLLBACK or PROTOCOL. */
static int take_result(struct talos_session *s, uint64_t seq, const uint8_t *body, uint32_t len,
                       struct talos_session_result *res)
{
    struct talos_sess_result r;
    int rc = TALOS_OK;

    if (talos_sess_result_decode(body, len, &r) != TALOS_OK || r.seq != seq) {
        snprintf(s->err, sizeof(s->err), "the TA's RESULT does not answer call %llu",
                 (unsigned long long)seq);
        talos_session_drop(s);
        return TALOS_ERR_PROTOCOL;
    }
    if ((rc = talos_session_see_version(s, r.version, "RESULT")) != TALOS_OK)
        return rc;
    if (!(res->out = malloc(r.out_len + 1))) {
        snprintf(s->err, sizeof(s->err), "out of memory for the call's output");
        return TALOS_ERR_NOMEM;
    }
    if (r.out_len)
        memcpy(res->out, r.out, r.out_len);
    res->out[r.out_len] = '\0';
    res->out_len = r.out_len;
    res->status = r.status;
    res->version = r.version;
    res->replayed = !!(r.flags & TALOS_SESS_RESULT_REPLAYED);
    snprintf(res->reason, sizeof(res->reason), "%s", r.reason);
    if (res->replayed)
        s->replays++;
    if (r.status == TALOS_ERR_REPLAY) {
        snprintf(s->err, sizeof(s->err), "the TA no longer holds the answer of call %llu: its "
                 "outcome is unknown", (unsigned long long)seq);
        return TALOS_ERR_REPLAY;
    }
    return TALOS_OK;
}

/* One exchange on the current connection. *sent: the CALL may have left. */
static int exchange(struct talos_session *s, const struct talos_wr *call, uint64_t seq, int *sent,
                    struct talos_session_result *res)
{
    struct talos_sess_end e;
    uint8_t type = 0, *body = NULL;
    uint32_t len = 0;
    int rc = TALOS_OK;

    *sent = 1;
    if ((rc = talos_conn_send(&s->conn, call->p, call->len)) != TALOS_OK ||
        (rc = talos_conn_recv(&s->conn, &type, &body, &len)) != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "call %llu via %.100s: %s", (unsigned long long)seq,
                 s->node, talos_strerror(rc));
        goto out;
    }
    if (type == TALOS_SESS_RESULT) {
        rc = take_result(s, seq, body, len, res);
    } else if (type == TALOS_SESS_END && talos_sess_end_decode(body, len, &e) == TALOS_OK) {
        for (char *c = e.reason; *c; c++)
            *c = (unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f ? '?' : *c;
        snprintf(s->err, sizeof(s->err), "the TA ended the session: %.180s (%s)", e.reason,
                 talos_errname(e.code));
        rc = e.code;
        /* MOVED names where the lineage went when the TA knows it: the
         * reconnection starts there (verified like any other instance). */
        if (rc == TALOS_ERR_MOVED && talos_conn_hostport_ok(e.reason) &&
            strlen(e.reason) < sizeof(s->hint))
            snprintf(s->hint, sizeof(s->hint), "%s", e.reason);
    } else {
        snprintf(s->err, sizeof(s->err), "the TA answered a CALL with record type %u", type);
        rc = TALOS_ERR_PROTOCOL;
    }
out:
    if (body)
        talos_wipe(body, len);
    free(body);
    return rc;
}

static int check_args(const char *ecall, int argc, const struct talos_buf *argv)
{
    if (!ecall || !ecall[0] || argc < 0 || argc > TALOS_MAX_ARGS || (argc && !argv))
        return TALOS_ERR_INVALID_ARG;
    for (int i = 0; i < argc; i++)
        if ((argv[i].len && !argv[i].ptr) || argv[i].len > TALOS_MAX_ARG_BYTES)
            return argv[i].len > TALOS_MAX_ARG_BYTES ? TALOS_ERR_TOO_LARGE : TALOS_ERR_INVALID_ARG;
    return TALOS_OK;
}

int talos_session_call(struct talos_session *s, const char *ecall, int argc,
                       const struct talos_buf *argv, struct talos_session_result *res)
{
    const uint8_t *ptr[TALOS_MAX_ARGS];
    size_t lens[TALOS_MAX_ARGS];
    struct talos_wr call;
    double give_up = 0;
    int rc = TALOS_OK, sent = 0, retry = 0;

    if (!s || !res)
        return TALOS_ERR_INVALID_ARG;
    memset(res, 0, sizeof(*res));
    if (s->dead)
        return s->dead; /* s->err still says why */
    if ((rc = check_args(ecall, argc, argv)) != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "invalid call: an ecall name and at most %d arguments "
                 "of at most 1 MiB each", TALOS_MAX_ARGS);
        return rc;
    }
    for (int i = 0; i < argc; i++) {
        ptr[i] = argv[i].ptr;
        lens[i] = argv[i].len;
    }
    uint64_t seq = ++s->seq;
    struct talos_nopipe np;
    talos_conn_nopipe_begin(&np); /* one scope for every SSL call below */
    talos_wr_init(&call, TALOS_SESS_HDR + TALOS_SESS_CALL_MAX);
    for (;;) {
        if (s->conn.fd < 0) {
            if (give_up && talos_session_now_ms() >= give_up)
                break; /* rc and s->err: the last failure's */
            if ((rc = talos_session_reconnect(s, 1)) != TALOS_OK)
                break;
        }
        talos_wr_reset(&call);
        talos_sess_call_encode(seq, retry ? TALOS_SESS_CALL_RETRY : 0, ecall, argc, ptr, lens, &call);
        if ((rc = call.err) != TALOS_OK) {
            snprintf(s->err, sizeof(s->err), "the call's arguments exceed a session's 1 MiB");
            break;
        }
        rc = exchange(s, &call, seq, &sent, res);
        retry |= sent;
        if (rc != TALOS_OK && rc != TALOS_ERR_REPLAY) /* the TA closes after END, too */
            talos_session_drop(s);
        /* The TA moved or the connection broke: find it again, once per
         * failure, for at most follow_ms since the first. */
        if (broken(rc) || rc == TALOS_ERR_MOVED || rc == TALOS_ERR_STATE || rc == TALOS_ERR_BUSY) {
            if (!give_up)
                give_up = talos_session_now_ms() + s->opt.follow_ms;
            continue;
        }
        break;
    }
    talos_wr_free(&call);
    talos_conn_nopipe_end(&np);
    if (rc != TALOS_OK && rc != TALOS_ERR_REPLAY)
        talos_session_result_clear(res);
    return rc;
}
