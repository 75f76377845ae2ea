/* What the host does for a TA while it waits for the TA's answer: one loop
 * (talos_host_serve_until) and two const tables, the frames a TA may send
 * meanwhile (ocalls, platform requests) and the platform requests, each
 * with its shape checked before its handler runs (the ecall table's model,
 * ta/dispatch.c). Every frame is hostile: bounded, copied once, decoded
 * once. */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/msg.h"
#include "node/host/host.h"

#define OCALL_RESP_MAX (1u << 20)

/* --- platform requests (TALOS_MSG_HOST_REQ) ------------------------------- */

/* Each writes the answer's i32 status ‖ bytes into w (reset). */
typedef void (*host_req_fn)(struct talos_ta *ta, const uint8_t *req, size_t len,
                            struct talos_wr *w);

static void answer(struct talos_wr *w, int status, const void *p, size_t n)
{
    talos_wr_u32(w, (uint32_t)status);
    talos_wr_bytes(w, p, status == TALOS_OK ? n : 0);
}

/* The platform signs the measurement IT computed at launch, never a
 * measurement the TA claims. */
static void req_quote(struct talos_ta *ta, const uint8_t *req, size_t len, struct talos_wr *w)
{
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t ev_len = sizeof(ev);
    int status = ta->host->ops->quote(ta->host->plat, ta->measurement, ta->host->config_id,
                                      ta->has_cfg ? ta->cfg_digest : NULL, req, ev, &ev_len);
    (void)len;
    answer(w, status, ev, ev_len);
}

static void req_seal_key(struct talos_ta *ta, const uint8_t *req, size_t len, struct talos_wr *w)
{
    uint8_t key[TALOS_SEAL_KEY_BYTES] = {0};
    int status = ta->host->ops->seal_key(ta->host->plat, ta->measurement,
                                         (enum talos_seal_policy)talos_be32_get(req), key);
    (void)len;
    answer(w, status, key, sizeof(key));
    talos_wipe(key, sizeof(key));
}

/* A target about to serve: the user records the arrival first. The lineage
 * and version are the TA's claim; the user only records it. */
static void req_activate(struct talos_ta *ta, const uint8_t *req, size_t len, struct talos_wr *w)
{
    struct talos_ta_event act = {.kind = TALOS_TA_EV_ACTIVATING, .name = ta->name};
    struct talos_host_activate in;
    int status = talos_host_activate_decode(req, len, &in); /* its size: the table's */

    if (status != TALOS_OK) {
        answer(w, status, NULL, 0);
        return;
    }
    memcpy(act.lineage, in.lineage, TALOS_LINEAGE_BYTES);
    act.version = in.version;
    status = ta->on_event ? ta->on_event(ta->event_ctx, ta, &act) : TALOS_OK;
    if (status > 0 || status < TALOS_ERR_MIN)
        status = TALOS_ERR_STATE;
    if (status == TALOS_OK) {
        /* From here the TA holds the lineage (it activates on this
         * answer): if it dies now, that lineage is lost here, and says so. */
        memcpy(ta->lineage, act.lineage, sizeof(ta->lineage));
        ta->version = act.version;
        ta->target = 0;
    }
    answer(w, status, NULL, 0);
}

/* The canonical CFG file of the image launched. The TA trusts it only if it
 * hashes to the cfg_digest the platform signed. */
static void req_cfg(struct talos_ta *ta, const uint8_t *req, size_t len, struct talos_wr *w)
{
    uint8_t digest[TALOS_CFG_DIGEST_BYTES], *file = NULL;
    size_t file_len = 0;
    int status = ta->host->ops->cfg_image ? ta->host->ops->cfg_image(ta->host->plat, ta->image_path,
                                                                     digest, &file, &file_len)
                                          : TALOS_ERR_NOT_IMPLEMENTED;
    (void)req, (void)len;
    if (status == TALOS_OK && file_len > TALOS_MSG_MAX - 64)
        status = TALOS_ERR_TOO_LARGE;
    answer(w, status, file, file_len);
    free(file);
}

static const struct {
    uint16_t type;
    const char *name;
    size_t min_len, max_len; /* the request's bytes */
    host_req_fn fn;
} host_reqs[] = {
    {TALOS_HOST_REQ_QUOTE, "QUOTE", TALOS_REPORT_DATA_BYTES, TALOS_REPORT_DATA_BYTES, req_quote},
    {TALOS_HOST_REQ_SEAL_KEY, "SEAL_KEY", 4, 4, req_seal_key},
    {TALOS_HOST_REQ_CFG, "CFG", 0, 0, req_cfg},
    {TALOS_HOST_REQ_ACTIVATE, "ACTIVATE", TALOS_LINEAGE_BYTES + 8, TALOS_LINEAGE_BYTES + 8,
     req_activate},
};

/* Answer one HOST_REQ (platform request: quote, seal key, CFG file,
 * activation) of `ta` on x. */
static int serve_host_req(struct talos_ta *ta, struct talos_xport *x, const uint8_t *body,
                          size_t len, struct talos_wr *w)
{
    struct talos_rd r;
    uint16_t type = 0;
    const uint8_t *req = NULL;
    size_t req_len = 0, i = 0;

    talos_rd_init(&r, body, len);
    type = talos_rd_u16(&r);
    req = talos_rd_bytes(&r, &req_len, len);
    if (talos_rd_finish(&r) != TALOS_OK)
        return TALOS_ERR_MALFORMED;
#ifdef TALOS_HOSTILE_HOST
    int hostile = TALOS_OK;
    if (talos_hostile_host_req(ta, type, &hostile)) /* test build only (T25) */
        return hostile;
#endif
    talos_wr_reset(w);
    for (i = 0; i < sizeof(host_reqs) / sizeof(host_reqs[0]); i++)
        if (host_reqs[i].type == type)
            break;
    /* Unknown, or not its shape: refused, and the TA's protocol goes on. */
    if (i == sizeof(host_reqs) / sizeof(host_reqs[0]) || req_len < host_reqs[i].min_len ||
        req_len > host_reqs[i].max_len)
        answer(w, TALOS_ERR_NOT_IMPLEMENTED, NULL, 0);
    else
        host_reqs[i].fn(ta, req, req_len, w);
    return w->err ? w->err : talos_xport_send(x, TALOS_MSG_HOST_RET, w->p, w->len);
}

/* --- ocalls (TALOS_MSG_OCALL) ------------------------------------------------ */

static int serve_ocall(struct talos_ta *ta, struct talos_xport *x, const uint8_t *body, size_t len,
                       struct talos_wr *w)
{
    struct talos_rd r;
    char name[TALOS_NAME_MAX] = {0};
    const uint8_t *req = NULL;
    size_t req_len = 0, resp_len = 0;
    uint8_t *resp = NULL;
    int status = TALOS_ERR_NOT_IMPLEMENTED, rc = TALOS_OK;

    talos_rd_init(&r, body, len);
    talos_rd_str(&r, name, sizeof(name));
    req = talos_rd_bytes(&r, &req_len, len);
    if (talos_rd_finish(&r) != TALOS_OK)
        return TALOS_ERR_MALFORMED;
#ifdef TALOS_HOSTILE_HOST
    /* Test build only (build/tests/talosd-hostile, T25): answer as a
     * hostile host would (tests/host/hostile.c). */
    if (strncmp(name, "hostile.", 8) == 0)
        return talos_hostile_ocall(ta, name + 8);
#endif
    for (size_t i = 0; i < ta->opt.n_ocalls; i++) {
        const struct talos_ocall *o = &ta->opt.ocalls[i];
        if (strcmp(o->name, name) != 0)
            continue;
        if (!(resp = malloc(OCALL_RESP_MAX)))
            return TALOS_ERR_NOMEM;
        status = o->fn(o->ctx, req, req_len, resp, OCALL_RESP_MAX, &resp_len);
        if (resp_len > OCALL_RESP_MAX)
            status = TALOS_ERR_TOO_LARGE;
        break;
    }
    talos_wr_reset(w);
    answer(w, status, resp, resp_len);
    rc = w->err ? w->err : talos_xport_send(x, TALOS_MSG_OCALL_RET, w->p, w->len);
    free(resp);
    return rc;
}

/* --- a TA that cannot start --------------------------------------------------- */

/* START_FAILED instead of READY: the runtime says why it stops (say, its
 * backend's init answered NOT_IMPLEMENTED). Its word is only about itself,
 * so it is taken as given, but never as success. */
static int serve_start_failed(struct talos_ta *ta, struct talos_xport *x, const uint8_t *body,
                              size_t len, struct talos_wr *w)
{
    struct talos_msg_start_failed f;

    (void)ta, (void)x, (void)w;
    if (talos_msg_start_failed_decode(body, len, &f) != TALOS_OK)
        return TALOS_ERR_MALFORMED;
    if (f.status >= 0 || f.status < TALOS_ERR_MIN)
        return TALOS_ERR_PROTOCOL;
    TLOG_WARN("the TA could not start: %s", f.reason);
    return f.status;
}

/* --- the loop ------------------------------------------------------------------ */

static const struct {
    uint16_t type;
    unsigned serve; /* TALOS_HOST_SERVE_*: where this frame is served */
    int (*fn)(struct talos_ta *ta, struct talos_xport *x, const uint8_t *body, size_t len,
              struct talos_wr *w);
} meanwhile[] = {
    {TALOS_MSG_OCALL, TALOS_HOST_SERVE_OCALLS, serve_ocall},
    {TALOS_MSG_HOST_REQ, TALOS_HOST_SERVE_PLATFORM, serve_host_req},
    {TALOS_MSG_START_FAILED, TALOS_HOST_SERVE_START, serve_start_failed},
};

int talos_host_serve_until(struct talos_ta *ta, struct talos_xport *x, struct talos_wr *rx,
                           struct talos_wr *tx, uint16_t want, unsigned serve)
{
    for (;;) {
        uint16_t type = 0;
        size_t i = 0;
        int rc = talos_xport_recv(x, &type, rx);

        if (rc != TALOS_OK)
            return rc;
        if (type == want)
            return TALOS_OK;
        for (i = 0; i < sizeof(meanwhile) / sizeof(meanwhile[0]); i++)
            if (meanwhile[i].type == type && (meanwhile[i].serve & serve))
                break;
        if (i == sizeof(meanwhile) / sizeof(meanwhile[0]))
            return TALOS_ERR_PROTOCOL; /* a frame not expected here */
        if ((rc = meanwhile[i].fn(ta, x, rx->p, rx->len, tx)) != TALOS_OK)
            return rc;
    }
}
