/* Host side of migration: pass the sockets to the TA and serve its platform
 * requests until it answers. The host never sees a key or a state byte:
 * the TA runs TLS on the socket itself.
 *
 * A source migration has its own control channel (a socketpair passed with
 * MIGRATE_OUT): the TA runs the migration on a control thread that speaks
 * only there, so that the TA's main channel stays free for calls while a
 * pre-copy runs (docs/precopy.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/mig.h"
#include "core/msg.h"
#include "node/host/host.h"

struct talos_migration_op {
    struct talos_ta *ta;
    struct talos_xport x; /* the migration's control channel */
    struct talos_wr rx, tx;
};

/* The REPLY of a migration (in res) into m. */
static int report(const struct talos_result *res, struct talos_migration *m)
{
    struct talos_mig_report rep;
    int rc = TALOS_OK;

    memset(&rep, 0, sizeof(rep));
    m->status = res->status;
    snprintf(m->reason, sizeof(m->reason), "%s", res->reason);
    if ((rc = talos_mig_report_decode(res->out, res->out_len, &rep)) != TALOS_OK)
        return TALOS_ERR_MALFORMED;
    memcpy(m->lineage, rep.lineage, sizeof(m->lineage));
    m->version = rep.version;
    m->prepare_ns = rep.prepare_ns;
    m->checkpoint_ns = rep.checkpoint_ns;
    m->transfer_ns = rep.transfer_ns;
    m->restore_ns = rep.restore_ns;
    m->activate_ns = rep.activate_ns;
    m->downtime_ns = rep.downtime_ns;
    m->total_ns = rep.total_ns;
    m->state_bytes = rep.state_bytes;
    m->frozen_bytes = rep.frozen_bytes;
    m->cpu_ns = rep.cpu_ns;
    m->rounds = rep.rounds;
    snprintf(m->converged, sizeof(m->converged), "%s", talos_precopy_reason(rep.converged));
    snprintf(m->wtrack, sizeof(m->wtrack), "%s", talos_wtrack_name(rep.wtrack));
    m->token_kind = rep.token_kind;
    if (rep.token_kind) {
        memcpy(m->token, rep.token, TALOS_TOKEN_BYTES);
        m->token_len = TALOS_TOKEN_BYTES;
    }
    return TALOS_OK;
}

TALOS_EXPORT int talos_ta_migrate_start(struct talos_ta *ta, int sock,
                                        const struct talos_migrate_options *o,
                                        struct talos_migration_op **out)
{
    struct talos_migration_op *op = NULL;
    struct talos_wr w;
    int sv[2] = {-1, -1}, rc = TALOS_OK;

    if (out)
        *out = NULL;
    if (!ta || sock < 0 || !o || !out || (o->to && strlen(o->to) > 255)) {
        rc = TALOS_ERR_INVALID_ARG;
        goto out;
    }
    if (ta->dead) {
        rc = TALOS_ERR_TA_CRASHED;
        goto out;
    }
    if (!(op = calloc(1, sizeof(*op)))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        rc = TALOS_ERR_IO;
        goto out;
    }
    talos_wr_init(&w, 0);
    talos_wr_u8(&w, o->precopy ? 1 : 0);
    talos_wr_u32(&w, o->max_rounds);
    talos_wr_str(&w, o->to ? o->to : "");
    rc = w.err ? w.err : talos_xport_send_fd(&ta->x, TALOS_MSG_MIGRATE_OUT, sv[1], w.p, w.len);
    talos_wr_free(&w);
    close(sv[1]); /* the TA has its own copy now */
    sv[1] = -1;
    if (rc != TALOS_OK) {
        rc = talos_host_lose(ta, rc);
        goto out;
    }
    op->ta = ta;
    talos_xport_init(&op->x, sv[0], TALOS_MSG_FROM_TA);
    sv[0] = -1;
    talos_wr_init(&op->rx, TALOS_MSG_MAX);
    talos_wr_init(&op->tx, 0);
    ta->migrating = 1;
    /* The socket to the target goes over the control channel: the TA's
     * control thread takes it there. */
    /* If this fails, the TA answered (a refusal) and closed the channel
     * already: its answer waits in the socket for talos_ta_migrate_wait. */
    (void)talos_xport_send_fd(&op->x, TALOS_MSG_MIGRATE_SOCK, sock, NULL, 0);
    close(sock);
    sock = -1;
    *out = op;
    op = NULL;
    rc = TALOS_OK;
out:
    if (sock >= 0)
        close(sock);
    if (sv[0] >= 0)
        close(sv[0]);
    free(op);
    return rc;
}

TALOS_EXPORT int talos_ta_migrate_wait(struct talos_migration_op *op, struct talos_migration *m)
{
    struct talos_result res = {0};
    int rc = TALOS_OK;

    if (!op || !m) {
        if (op) {
            talos_xport_close(&op->x);
            talos_wr_free(&op->rx);
            talos_wr_free(&op->tx);
            free(op);
        }
        return TALOS_ERR_INVALID_ARG;
    }
    memset(m, 0, sizeof(*m));
    /* The control channel: platform requests (evidence) until the report. */
    rc = talos_host_serve_until(op->ta, &op->x, &op->rx, &op->tx, TALOS_MSG_REPLY,
                                TALOS_HOST_SERVE_PLATFORM);
    if (rc == TALOS_OK) {
        if ((rc = talos_host_decode_reply_buf(op->rx.p, op->rx.len, &res)) == TALOS_OK)
            rc = report(&res, m);
        talos_result_clear(&res);
    }
    /* A control channel that breaks or lies means the TA died or is broken;
     * the host's calls on the main channel find out which, and log it. */
    if (rc == TALOS_ERR_PEER_CLOSED || rc == TALOS_ERR_IO)
        rc = TALOS_ERR_TA_CRASHED;
    op->ta->migrating = 0;
    talos_xport_close(&op->x);
    talos_wr_free(&op->rx);
    talos_wr_free(&op->tx);
    free(op);
    return rc;
}

TALOS_EXPORT int talos_ta_migrate_out(struct talos_ta *ta, int sock, struct talos_migration *m)
{
    const struct talos_migrate_options o = {.precopy = 0};
    struct talos_migration_op *op = NULL;
    int rc = TALOS_OK;

    if (!m) {
        if (sock >= 0)
            close(sock);
        return TALOS_ERR_INVALID_ARG;
    }
    memset(m, 0, sizeof(*m));
    if ((rc = talos_ta_migrate_start(ta, sock, &o, &op)) != TALOS_OK)
        return rc;
    return talos_ta_migrate_wait(op, m);
}

/* The REPLY on the TA's main channel to a migration frame (MIGRATE_IN,
 * HANDOFF, GIVE_UP), decoded into m. */
static int finish(struct talos_ta *ta, uint16_t type, struct talos_migration *m)
{
    struct talos_result res = {0};
    int rc = talos_host_await(ta, TALOS_MSG_REPLY);

    if (rc != TALOS_OK)
        return rc;
    if ((rc = talos_host_decode_reply(ta, &res)) != TALOS_OK)
        return rc;
    rc = report(&res, m);
    talos_result_clear(&res);
    if (rc != TALOS_OK)
        return talos_host_lose(ta, rc);
    if ((type == TALOS_MSG_MIGRATE_IN || type == TALOS_MSG_HANDOFF) && m->status == TALOS_OK) {
        memcpy(ta->lineage, m->lineage, sizeof(ta->lineage));
        ta->version = m->version;
        ta->target = 0; /* it holds the lineage now */
    }
    return TALOS_OK;
}

TALOS_EXPORT int talos_ta_migrate_in(struct talos_ta *ta, int sock,
                                    const uint8_t lineage[TALOS_LINEAGE_BYTES],
                                    struct talos_migration *m)
{
    int rc = TALOS_OK;

    if (!ta || sock < 0 || !lineage || !m) {
        if (sock >= 0)
            close(sock);
        return TALOS_ERR_INVALID_ARG;
    }
    memset(m, 0, sizeof(*m));
    if (ta->dead) {
        close(sock);
        return TALOS_ERR_TA_CRASHED;
    }
    struct talos_msg_migrate_in in = {.prefault_grant = ta->prefault_grant};
    uint8_t body[TALOS_MSG_MIGRATE_IN_BYTES];
    memcpy(in.lineage, lineage, TALOS_LINEAGE_BYTES);
    talos_msg_migrate_in_encode(&in, body);
    rc = talos_xport_send_fd(&ta->x, TALOS_MSG_MIGRATE_IN, sock, body, sizeof(body));
    close(sock); /* the TA has its own copy now */
    if (rc != TALOS_OK)
        return talos_host_lose(ta, rc);
    return finish(ta, TALOS_MSG_MIGRATE_IN, m);
}

/* A frame carrying bytes (a token) or an i32, answered by a report. */
static int run_plain(struct talos_ta *ta, uint16_t type, const struct talos_wr *w,
                     struct talos_migration *m)
{
    int rc = TALOS_OK;

    memset(m, 0, sizeof(*m));
    if (ta->dead)
        return TALOS_ERR_TA_CRASHED;
    rc = w->err ? w->err : talos_xport_send(&ta->x, type, w->p, w->len);
    if (rc != TALOS_OK)
        return talos_host_lose(ta, rc);
    return finish(ta, type, m);
}

TALOS_EXPORT int talos_ta_handoff(struct talos_ta *ta, const uint8_t *token, size_t len,
                                  struct talos_migration *m)
{
    struct talos_wr w;
    int rc = TALOS_OK;

    if (!ta || !m || (len && !token) || len > 4096)
        return TALOS_ERR_INVALID_ARG;
    talos_wr_init(&w, 0);
    talos_wr_bytes(&w, token, len);
    rc = run_plain(ta, TALOS_MSG_HANDOFF, &w, m);
    talos_wr_free(&w);
    return rc;
}

TALOS_EXPORT int talos_ta_prefault(struct talos_ta *ta, uint64_t bytes)
{
    uint8_t body[TALOS_MSG_PREFAULT_BYTES];
    struct talos_result res;
    int rc = TALOS_OK;

    if (!ta)
        return TALOS_ERR_INVALID_ARG;
    if (ta->dead)
        return TALOS_ERR_TA_CRASHED;
    talos_msg_prefault_encode(bytes, body);
    if ((rc = talos_xport_send(&ta->x, TALOS_MSG_PREFAULT, body, sizeof(body))) != TALOS_OK)
        return talos_host_lose(ta, rc);
    if ((rc = talos_host_await(ta, TALOS_MSG_REPLY)) != TALOS_OK ||
        (rc = talos_host_decode_reply(ta, &res)) != TALOS_OK)
        return rc;
    rc = res.status;
    talos_result_clear(&res);
    return rc;
}

TALOS_EXPORT int talos_ta_give_up(struct talos_ta *ta, int code, struct talos_migration *m)
{
    struct talos_wr w;
    int rc = TALOS_OK;

    if (!ta || !m || code >= 0 || code < TALOS_ERR_MIN)
        return TALOS_ERR_INVALID_ARG;
    talos_wr_init(&w, 0);
    talos_wr_u32(&w, (uint32_t)code);
    rc = run_plain(ta, TALOS_MSG_GIVE_UP, &w, m);
    talos_wr_free(&w);
    return rc;
}

/* A token for a HANDED_OFF source (RESUME with an ABORT, RECEIPT). */
static int source_token(struct talos_ta *ta, uint16_t type, const uint8_t *token, size_t len,
                        struct talos_result *res)
{
    struct talos_wr w;
    int rc = TALOS_OK;

    if (!ta || !res || (len && !token) || len > 4096)
        return TALOS_ERR_INVALID_ARG;
    memset(res, 0, sizeof(*res));
    if (ta->dead)
        return TALOS_ERR_TA_CRASHED;
    talos_wr_init(&w, 0);
    talos_wr_bytes(&w, token, len);
    rc = w.err ? w.err : talos_xport_send(&ta->x, type, w.p, w.len);
    talos_wr_free(&w);
    if (rc != TALOS_OK)
        return talos_host_lose(ta, rc);
    if ((rc = talos_host_await(ta, TALOS_MSG_REPLY)) != TALOS_OK)
        return rc;
    return talos_host_decode_reply(ta, res);
}

TALOS_EXPORT int talos_ta_resume(struct talos_ta *ta, const uint8_t *token, size_t len,
                                 struct talos_result *res)
{
    return source_token(ta, TALOS_MSG_RESUME, token, len, res);
}

TALOS_EXPORT int talos_ta_receipt(struct talos_ta *ta, const uint8_t *token, size_t len,
                                  struct talos_result *res)
{
    return source_token(ta, TALOS_MSG_RECEIPT, token, len, res);
}
