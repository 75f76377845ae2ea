/* Host side of migration: pass the socket to the TA and serve its platform
 * requests until it answers. The host never sees a key or a state byte:
 * the TA runs TLS on the socket itself. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/mig.h"
#include "core/msg.h"
#include "node/host/host.h"

/* The REPLY to a migration frame (MIGRATE_*, HANDOFF, GIVE_UP): status,
 * reason and the TA's report, decoded into m. */
static int finish(struct talos_ta *ta, uint16_t type, struct talos_migration *m)
{
    struct talos_mig_report rep;
    struct talos_result res = {0};
    int rc = talos_host_await(ta, TALOS_MSG_REPLY);

    memset(&rep, 0, sizeof(rep));
    ta->migrating = 0;
    if (rc != TALOS_OK)
        return rc;
    if ((rc = talos_host_decode_reply(ta, &res)) != TALOS_OK)
        return rc;
    m->status = res.status;
    snprintf(m->reason, sizeof(m->reason), "%s", res.reason);
    rc = talos_mig_report_decode(res.out, res.out_len, &rep);
    talos_result_clear(&res);
    if (rc != TALOS_OK)
        return talos_host_lose(ta, TALOS_ERR_MALFORMED);
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
    m->token_kind = rep.token_kind;
    if (rep.token_kind) {
        memcpy(m->token, rep.token, TALOS_TOKEN_BYTES);
        m->token_len = TALOS_TOKEN_BYTES;
    }
    if ((type == TALOS_MSG_MIGRATE_IN || type == TALOS_MSG_HANDOFF) && m->status == TALOS_OK) {
        memcpy(ta->lineage, rep.lineage, sizeof(ta->lineage));
        ta->version = rep.version;
        ta->target = 0; /* it holds the lineage now */
    }
    return TALOS_OK;
}

static int run(struct talos_ta *ta, uint16_t type, int sock, const uint8_t *body, size_t body_len,
               struct talos_migration *m)
{
    int rc = TALOS_OK;

    memset(m, 0, sizeof(*m));
    if (!ta || sock < 0) {
        if (sock >= 0)
            close(sock);
        return TALOS_ERR_INVALID_ARG;
    }
    if (ta->dead) {
        close(sock);
        return TALOS_ERR_TA_CRASHED;
    }
    rc = talos_xport_send_fd(&ta->x, type, sock, body, body_len);
    close(sock); /* the TA has its own copy now */
    ta->migrating = type == TALOS_MSG_MIGRATE_OUT;
    if (rc != TALOS_OK) {
        ta->migrating = 0;
        return talos_host_lose(ta, rc);
    }
    return finish(ta, type, m);
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

TALOS_EXPORT int talos_ta_migrate_out(struct talos_ta *ta, int sock, struct talos_migration *m)
{
    return run(ta, TALOS_MSG_MIGRATE_OUT, sock, NULL, 0, m);
}

TALOS_EXPORT int talos_ta_migrate_in(struct talos_ta *ta, int sock,
                                    const uint8_t lineage[TALOS_LINEAGE_BYTES],
                                    struct talos_migration *m)
{
    if (!lineage) {
        if (sock >= 0)
            close(sock);
        return TALOS_ERR_INVALID_ARG;
    }
    return run(ta, TALOS_MSG_MIGRATE_IN, sock, lineage, TALOS_LINEAGE_BYTES, m);
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
