/* The control API (docs/control-api.md): framed JSON requests dispatched
 * through a table. Requests come from local clients; they are still
 * validated field by field, and no request can crash the node.
 *
 * One job over 400 lines: each command is a short handler that validates
 * its JSON fields and calls the host library, and the dispatch table at
 * the end must see them all; splitting by command would scatter one
 * validation vocabulary over a dozen files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/sess.h"
#include "core/sign.h"
#include "node/talosd/clients.h"
#include "node/talosd/handoff.h"
#include "node/talosd/node.h"
#include "node/talosd/peerlink.h"
#include "node/talosd/registry.h"
#include "os/xport.h"
#include "talos/ta.h"

struct req {
    int fd;            /* the client, for progress frames */
    json_t *in;
    json_t *out;       /* response object under construction */
    int code;          /* talos_err of a failure */
    char msg[512];
};

static int fail(struct req *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct req *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->code = code;
    return code;
}

static const char *get_str(struct req *r, const char *key, int required)
{
    json_t *v = json_object_get(r->in, key);
    if (!v && !required)
        return NULL;
    if (!json_is_string(v)) {
        fail(r, TALOS_ERR_MALFORMED, "field '%s' must be a string", key);
        return NULL;
    }
    return json_string_value(v);
}

/* Look up the TA named by the request's "id". */
static struct ta_entry *get_ta(struct req *r)
{
    const char *id = get_str(r, "id", 1);
    struct ta_entry *e = NULL;

    if (!id)
        return NULL;
    if (strlen(id) != TA_ID_LEN || strspn(id, "0123456789abcdef") != TA_ID_LEN) {
        fail(r, TALOS_ERR_INVALID_ARG, "TA id must be %d lower-case hex characters", TA_ID_LEN);
        return NULL;
    }
    if (!(e = registry_get(id)))
        fail(r, TALOS_ERR_NO_SUCH_TA, "no TA %s on this node", id);
    return e;
}

/* Whether e still serves on this node (call with e->lock held): TALOS_OK,
 * TALOS_ERR_MOVED or TALOS_ERR_NO_SUCH_TA. */
static int still_here(const struct ta_entry *e)
{
    return e->moved_to[0] ? TALOS_ERR_MOVED : e->removed ? TALOS_ERR_NO_SUCH_TA : TALOS_OK;
}

/* The answer to an operation `what` on e that ended with rc: a moved TA's
 * answer names where it went. 1 when rc is a failure (answered), else 0. */
static int op_failed(struct req *r, const struct ta_entry *e, int rc, const char *what)
{
    if (rc == TALOS_ERR_MOVED)
        fail(r, rc, "TA %s moved to %s", e->id, e->moved_to);
    else if (rc != TALOS_OK)
        fail(r, rc, "%s: %s", what, talos_strerror(rc));
    return rc != TALOS_OK;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    talos_hex(p, n, buf);
    return json_string(buf);
}

static int op_node(struct req *r)
{
    json_object_set_new(r->out, "backend", json_string(node.backend));
    json_object_set_new(r->out, "simulated", json_boolean(node.simulated));
    json_object_set_new(r->out, "listen", json_string(node.listen));
    json_object_set_new(r->out, "pid", json_integer(getpid()));
    json_object_set_new(r->out, "version", json_string(TALOS_VERSION_STRING));
    json_object_set_new(r->out, "tas", json_integer((json_int_t)registry_count()));
    json_object_set_new(r->out, "node_identity", json_string(peer_tls_self()));
    json_object_set_new(r->out, "image_policy", json_string(image_policy_describe()));
    return TALOS_OK;
}

static int op_run(struct req *r)
{
    const char *image = get_str(r, "image", 1);
    const char *mode = get_str(r, "mode", 0);
    struct talos_ta_options opt = {.ocalls = node_ocalls, .n_ocalls = node_n_ocalls};
    struct talos_ta *ta = NULL;
    struct talos_ta_info info;
    struct ta_entry *e = NULL;
    char stored[PATH_MAX];
    int rc = TALOS_OK;

    if (!image || r->code)
        return r->code ? r->code : TALOS_ERR_MALFORMED;
    if (image[0] != '/')
        return fail(r, TALOS_ERR_INVALID_ARG, "image path must be absolute: %s", image);
    if (mode && strcmp(mode, "switchless") == 0)
        opt.mode = TALOS_CALL_SWITCHLESS;
    else if (mode && strcmp(mode, "passive") != 0)
        return fail(r, TALOS_ERR_INVALID_ARG, "mode must be passive or switchless, not '%s'", mode);
    /* The image's signature (talos sign), for an image policy of signers. */
    const char *sig_hex = get_str(r, "signature", 0);
    uint8_t sig[TALOS_IMAGE_SIG_BYTES];
    if (r->code)
        return r->code;
    if (sig_hex && (strlen(sig_hex) != 2 * sizeof(sig) || talos_unhex(sig_hex, sig, sizeof(sig))))
        return fail(r, TALOS_ERR_INVALID_ARG, "signature must be %zu hex characters", 2 * sizeof(sig));
    char why[300] = "";
    if ((rc = images_store(image, sig_hex ? sig : NULL, stored, sizeof(stored), why, sizeof(why))) !=
        TALOS_OK)
        return fail(r, rc, "%s: %s", image, why[0] ? why : talos_strerror(rc));
    if ((rc = talos_ta_create(node.host, stored, &opt, &ta)) != TALOS_OK)
        return fail(r, rc, "cannot start %s: %s", image, talos_strerror(rc));
    if ((rc = registry_add(ta, stored, &e)) != TALOS_OK) {
        talos_ta_destroy(ta);
        return fail(r, rc, "cannot register TA: %s", talos_strerror(rc));
    }
    if (talos_ta_info(e->ta, &info) == TALOS_OK) {
        json_object_set_new(r->out, "id", json_string(e->id));
        json_object_set_new(r->out, "name", json_string(info.name));
        json_object_set_new(r->out, "measurement", hex_json(info.measurement, 32));
    }
    TLOG_INFO("started TA %s (%s) from %s", e->id, info.name, image);
    registry_put(e);
    /* Should this lineage ever come back here, a virgin target waits for it. */
    uint8_t sha[TALOS_SHA256_BYTES];
    if (images_sha(stored, sha) == TALOS_OK)
        pool_fill(sha, opt.mode == TALOS_CALL_SWITCHLESS, stored, 0);
    return TALOS_OK;
}

static void set_output(json_t *o, const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n); /* NULL unless valid UTF-8 */
    if (s) {
        json_object_set_new(o, "out", s);
        return;
    }
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return;
    talos_hex(p, n, hex);
    json_object_set_new(o, "out_hex", json_string(hex));
    free(hex);
}

static int op_call(struct req *r)
{
    struct ta_entry *e = get_ta(r);
    const char *ecall = e ? get_str(r, "ecall", 1) : NULL;
    json_t *args = json_object_get(r->in, "args");
    struct talos_buf argv[TALOS_MAX_ARGS];
    struct talos_result res = {0};
    size_t argc = 0;
    int rc = TALOS_OK;

    if (!e || !ecall)
        goto out;
    if (args && !json_is_array(args)) {
        fail(r, TALOS_ERR_MALFORMED, "field 'args' must be an array of strings");
        goto out;
    }
    argc = args ? json_array_size(args) : 0;
    if (argc > TALOS_MAX_ARGS) {
        fail(r, TALOS_ERR_BAD_ARGS, "%zu arguments; at most %d", argc, TALOS_MAX_ARGS);
        goto out;
    }
    for (size_t i = 0; i < argc; i++) {
        json_t *a = json_array_get(args, i);
        if (!json_is_string(a)) {
            fail(r, TALOS_ERR_MALFORMED, "argument %zu must be a string", i + 1);
            goto out;
        }
        argv[i].ptr = json_string_value(a);
        argv[i].len = json_string_length(a);
    }
    pthread_mutex_lock(&e->lock);
    if ((rc = still_here(e)) == TALOS_OK)
        rc = talos_ta_call(e->ta, ecall, (int)argc, argv, &res);
    pthread_mutex_unlock(&e->lock);
    if (op_failed(r, e, rc, ecall))
        goto out;
    json_object_set_new(r->out, "version", json_integer((json_int_t)res.version));
    if (res.status != TALOS_OK)
        fail(r, res.status, "%s", res.reason[0] ? res.reason : talos_strerror(res.status));
    else
        set_output(r->out, res.out, res.out_len);
out:
    talos_result_clear(&res);
    registry_put(e);
    return r->code;
}

static json_t *ta_json(struct ta_entry *e)
{
    struct talos_ta_info info;
    json_t *o = json_object();

    char handoff[sizeof(e->handoff)] = "", session[sizeof(e->handoff_session)] = "";
    int rc = TALOS_ERR_BUSY;

    /* An arrival being imported holds its lock for the whole import: ps
     * says so instead of waiting for it (a stalled peer must not stall ps). */
    if (__atomic_load_n(&e->pending, __ATOMIC_RELAXED) ? pthread_mutex_trylock(&e->lock) == 0
                                                      : pthread_mutex_lock(&e->lock) == 0) {
        memcpy(handoff, e->handoff, sizeof(handoff));
        memcpy(session, e->handoff_session, sizeof(session));
        rc = e->moved_to[0] ? TALOS_OK : talos_ta_info(e->ta, &info);
        if (e->moved_to[0]) {
            /* The process retired; what is left here is a forwarding note. */
            memset(&info, 0, sizeof(info));
            talos_unhex(e->id, info.lineage, sizeof(info.lineage));
            snprintf(info.state, sizeof(info.state), "MOVED");
            json_object_set_new(o, "moved_to", json_string(e->moved_to));
        }
        pthread_mutex_unlock(&e->lock);
    }
    if (!o)
        return o;
    if (rc != TALOS_OK) { /* still a complete object: clients check every field */
        memset(&info, 0, sizeof(info));
        talos_unhex(e->id, info.lineage, sizeof(info.lineage));
        snprintf(info.state, sizeof(info.state), "%s", rc == TALOS_ERR_BUSY ? "IMPORTING" : "UNKNOWN");
    }
    json_object_set_new(o, "id", json_string(e->id));
    json_object_set_new(o, "name", json_string(info.name));
    json_object_set_new(o, "image", json_string(e->image));
    json_object_set_new(o, "measurement", hex_json(info.measurement, 32));
    json_object_set_new(o, "state", json_string(info.state));
    json_object_set_new(o, "version", json_integer((json_int_t)info.version));
    json_object_set_new(o, "lineage", hex_json(info.lineage, TALOS_LINEAGE_BYTES));
    json_object_set_new(o, "pid", json_integer(info.pid));
    json_object_set_new(o, "mode", json_string(info.mode == TALOS_CALL_SWITCHLESS ? "switchless"
                                                                                  : "passive"));
    json_object_set_new(o, "state_bytes", json_integer((json_int_t)info.state_bytes));
    if (handoff[0]) { /* a handover after a lost channel is under way or gave up */
        json_object_set_new(o, "handoff", json_string(handoff));
        json_object_set_new(o, "handoff_session", json_string(session));
    }
    return o;
}

static int op_ps(struct req *r)
{
    struct ta_entry **v = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    int rc = registry_list(&v, &n);

    if (rc != TALOS_OK || !arr) {
        json_decref(arr);
        return fail(r, TALOS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = n; i-- > 0;) { /* oldest first */
        /* While the lineage arrives (again), its arrival stands in for its
         * old forwarding note: one row per lineage. */
        int superseded = 0;
        for (size_t k = 0; k < n && v[i]->moved_to[0]; k++)
            superseded |= k != i && strcmp(v[k]->id, v[i]->id) == 0 &&
                          __atomic_load_n(&v[k]->pending, __ATOMIC_RELAXED);
        if (!superseded)
            json_array_append_new(arr, ta_json(v[i]));
        registry_put(v[i]);
    }
    free(v);
    json_object_set_new(r->out, "tas", arr);
    return TALOS_OK;
}

static int op_attest(struct req *r)
{
    struct ta_entry *e = get_ta(r);
    const char *nonce_hex = e ? get_str(r, "nonce", 1) : NULL;
    uint8_t nonce[TALOS_NONCE_BYTES];
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t ev_len = sizeof(ev);
    char *hex = NULL;
    int rc = TALOS_OK;

    if (!e || !nonce_hex)
        goto out;
    if (talos_unhex(nonce_hex, nonce, sizeof(nonce)) != TALOS_OK) {
        fail(r, TALOS_ERR_INVALID_ARG, "nonce must be %d hex characters", 2 * TALOS_NONCE_BYTES);
        goto out;
    }
    pthread_mutex_lock(&e->lock);
    if ((rc = still_here(e)) == TALOS_OK)
        rc = talos_ta_attest(e->ta, nonce, ev, &ev_len);
    pthread_mutex_unlock(&e->lock);
    if (op_failed(r, e, rc, "attest"))
        goto out;
    if (!(hex = malloc(2 * ev_len + 1))) {
        fail(r, TALOS_ERR_NOMEM, "out of memory");
        goto out;
    }
    talos_hex(ev, ev_len, hex);
    json_object_set_new(r->out, "evidence", json_string(hex));
    json_object_set_new(r->out, "lineage", json_string(e->id));
out:
    free(hex);
    registry_put(e);
    return r->code;
}

/* The node relays the certificate; the client verifies it (talos verify). */
static int op_state_cert(struct req *r)
{
    struct ta_entry *e = get_ta(r);
    struct talos_result res = {0};
    char *hex = NULL;
    int rc = TALOS_OK;

    if (!e)
        goto out;
    pthread_mutex_lock(&e->lock);
    if ((rc = still_here(e)) == TALOS_OK)
        rc = talos_ta_state_cert(e->ta, &res);
    pthread_mutex_unlock(&e->lock);
    if (op_failed(r, e, rc, "state-cert"))
        goto out;
    if (res.status != TALOS_OK) {
        fail(r, res.status, "%s", res.reason[0] ? res.reason : talos_strerror(res.status));
        goto out;
    }
    if (!(hex = malloc(2 * res.out_len + 1))) {
        fail(r, TALOS_ERR_NOMEM, "out of memory");
        goto out;
    }
    talos_hex(res.out, res.out_len, hex);
    json_object_set_new(r->out, "cert", json_string(hex));
    json_object_set_new(r->out, "version", json_integer((json_int_t)res.version));
out:
    free(hex);
    talos_result_clear(&res);
    registry_put(e);
    return r->code;
}

static void progress(struct req *r, const char *step, const char *detail);

static void note_cb(void *ctx, const char *step, const char *detail)
{
    progress(ctx, step, detail);
}

static json_t *ms(uint64_t ns) { return json_real((double)ns / 1e6); }

static int op_migrate(struct req *r)
{
    struct ta_entry *e = get_ta(r);
    const char *to = e ? get_str(r, "to", 1) : NULL;
    struct talos_migration m;
    char why[300] = "";
    int rc = TALOS_OK;

    json_t *pc = json_object_get(r->in, "precopy"), *mr = json_object_get(r->in, "max_rounds");
    int precopy = -1; /* auto */
    json_int_t rounds = 0;

    if (!e || !to)
        goto out;
    if (pc && !json_is_boolean(pc)) {
        fail(r, TALOS_ERR_MALFORMED, "field 'precopy' must be true or false");
        goto out;
    }
    if (mr && (!json_is_integer(mr) || (rounds = json_integer_value(mr)) < 1 || rounds > 1000)) {
        fail(r, TALOS_ERR_INVALID_ARG, "field 'max_rounds' must be an integer from 1 to 1000");
        goto out;
    }
    if (pc)
        precopy = json_is_true(pc);
    rc = migrate_out(e, to, precopy, (uint32_t)rounds, &m, note_cb, r, why, sizeof(why));
    if (rc != TALOS_OK) {
        fail(r, rc, "%s", why);
        goto out;
    }
    json_t *ph = json_object();
    json_object_set_new(ph, "prepare_ms", ms(m.prepare_ns));
    json_object_set_new(ph, "checkpoint_ms", ms(m.checkpoint_ns));
    json_object_set_new(ph, "transfer_ms", ms(m.transfer_ns));
    json_object_set_new(ph, "restore_ms", ms(m.restore_ns));
    json_object_set_new(ph, "activate_ms", ms(m.activate_ns));
    json_object_set_new(r->out, "phases", ph);
    json_object_set_new(r->out, "downtime_ms", ms(m.downtime_ns));
    json_object_set_new(r->out, "total_ms", ms(m.total_ns));
    json_object_set_new(r->out, "source_cpu_ms", ms(m.cpu_ns));
    json_object_set_new(r->out, "state_bytes", json_integer((json_int_t)m.state_bytes));
    json_object_set_new(r->out, "mode", json_string(m.rounds ? "pre-copy" : "stop-and-copy"));
    json_object_set_new(r->out, "rounds", json_integer((json_int_t)m.rounds));
    json_object_set_new(r->out, "converged", json_string(m.converged));
    json_object_set_new(r->out, "frozen_bytes", json_integer((json_int_t)m.frozen_bytes));
    json_object_set_new(r->out, "write_tracking", json_string(m.wtrack));
    json_object_set_new(r->out, "version", json_integer((json_int_t)m.version));
    json_object_set_new(r->out, "to", json_string(to));
    json_object_set_new(r->out, "id", json_string(e->id));
out:
    registry_put(e);
    return r->code;
}

static int op_resume(struct req *r)
{
    struct ta_entry *e = get_ta(r);
    const char *hex = e ? get_str(r, "token", 0) : NULL;
    uint8_t tok[TALOS_TOKEN_MAX];
    size_t len = 0;
    struct talos_result res = {0};
    int rc = TALOS_OK;

    if (!e || r->code)
        goto out;
    if (hex) {
        len = strlen(hex) / 2;
        if (len > sizeof(tok) || talos_unhex(hex, tok, len) != TALOS_OK) {
            fail(r, TALOS_ERR_INVALID_ARG, "token must be hex, at most %d bytes", TALOS_TOKEN_MAX);
            goto out;
        }
    }
    pthread_mutex_lock(&e->lock);
    rc = e->moved_to[0] ? TALOS_ERR_MOVED : talos_ta_resume(e->ta, tok, len, &res);
    pthread_mutex_unlock(&e->lock);
    if (rc != TALOS_OK)
        fail(r, rc, "resume: %s", rc == TALOS_ERR_MOVED ? "the TA moved away" : talos_strerror(rc));
    else if (res.status != TALOS_OK)
        fail(r, res.status, "the TA refused to resume: %s", res.reason);
    else {
        e->token_len = 0; /* the resend (resend.c) stops */
        TLOG_WARN("TA %s resumed on this node after a failed handoff", e->id);
    }
out:
    talos_result_clear(&res);
    registry_put(e);
    return r->code;
}

/* talos abort: a PREPARED target waiting for a resent HANDOFF gives up now
 * (FAILED + ABORT). The token is no secret (MAC'd under the session key):
 * the operator may carry it to `talos resume` on the source node. */
static int op_abort(struct req *r)
{
    const char *id = get_str(r, "id", 1);
    uint8_t tok[TALOS_TOKEN_MAX];
    size_t len = 0;
    char why[300] = "";
    int rc = TALOS_OK;

    if (!id)
        return r->code;
    if (strlen(id) != TA_ID_LEN || strspn(id, "0123456789abcdef") != TA_ID_LEN)
        return fail(r, TALOS_ERR_INVALID_ARG, "TA id must be %d lower-case hex characters", TA_ID_LEN);
    if ((rc = handoff_abort(id, tok, &len, why, sizeof(why))) != TALOS_OK)
        return fail(r, rc, "abort: %s", why);
    char hex[2 * TALOS_TOKEN_MAX + 1];
    talos_hex(tok, len, hex);
    TLOG_WARN("TA %s: the operator gave up on the PREPARED target (talos abort)", id);
    json_object_set_new(r->out, "id", json_string(id));
    json_object_set_new(r->out, "token", json_string(hex));
    return TALOS_OK;
}

static int op_stop(struct req *r)
{
    const char *id = get_str(r, "id", 1);
    if (!id)
        return r->code;
    if (registry_stop(id) != TALOS_OK)
        return fail(r, TALOS_ERR_NO_SUCH_TA, "no TA %s on this node", id);
    TLOG_INFO("stopped TA %s: its lineage ends", id);
    return TALOS_OK;
}

static const struct {
    const char *op;
    int (*fn)(struct req *r);
} ops[] = {
    {"node", op_node}, {"run", op_run}, {"call", op_call},
    {"ps", op_ps},     {"attest", op_attest}, {"stop", op_stop},
    {"migrate", op_migrate}, {"resume", op_resume}, {"abort", op_abort},
    {"state-cert", op_state_cert},
};

static int send_json(int fd, json_t *o);

static void progress(struct req *r, const char *step, const char *detail)
{
    json_t *o = json_object();
    json_object_set_new(o, "progress", json_string(step));
    if (detail)
        json_object_set_new(o, "detail", json_string(detail));
    (void)send_json(r->fd, o); /* a client that went away only misses progress */
    json_decref(o);
}

static json_t *handle(int fd, const uint8_t *buf, size_t len)
{
    struct req r = {.fd = fd, .code = TALOS_OK};
    json_error_t jerr;
    const char *op = NULL;

    r.out = json_object();
    r.in = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r.in || !json_is_object(r.in))
        fail(&r, TALOS_ERR_MALFORMED, "request is not a JSON object%s%s", r.in ? "" : ": ",
             r.in ? "" : jerr.text);
    else if ((op = get_str(&r, "op", 1))) {
        size_t i = 0;
        for (; i < sizeof(ops) / sizeof(ops[0]); i++)
            if (strcmp(ops[i].op, op) == 0) {
                ops[i].fn(&r);
                break;
            }
        if (i == sizeof(ops) / sizeof(ops[0]))
            fail(&r, TALOS_ERR_PROTOCOL, "unknown op '%s'", op);
    }
    json_decref(r.in);
    json_object_set_new(r.out, "ok", json_boolean(r.code == TALOS_OK));
    if (r.code != TALOS_OK) {
        json_object_set_new(r.out, "error", json_string(talos_errname(r.code)));
        json_object_set_new(r.out, "code", json_integer(r.code));
        /* The message may quote request bytes, and the buffer may cut it
         * inside a UTF-8 sequence: jansson refuses such a string, and the
         * answer would lack its message. Then say it in ASCII. */
        json_t *m = json_string(r.msg);
        for (char *c = r.msg; !m && *c; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
        json_object_set_new(r.out, "message", m ? m : json_string(r.msg));
    }
    return r.out;
}

json_t *control_handle_json(const uint8_t *buf, size_t len)
{
    return handle(-1, buf, len);
}

static int send_json(int fd, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    uint8_t hdr[4];
    int rc = TALOS_ERR_NOMEM;

    if (s) {
        talos_be32_put(hdr, (uint32_t)strlen(s));
        rc = talos_fd_write_full(fd, hdr, 4);
        if (rc == TALOS_OK)
            rc = talos_fd_write_full(fd, s, strlen(s));
        free(s);
    }
    return rc;
}

void control_serve(int fd)
{
    uint8_t hdr[4];
    uint8_t *buf = NULL;
    ssize_t n = 0;

    /* A client session of the node's own user (talos call --secure): its
     * preamble's first byte, 't', is no frame length a request could have
     * (over CONTROL_FRAME_MAX). The relay is the peer port's (clients.c). */
    do
        n = recv(fd, hdr, 1, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n == 1 && hdr[0] == (uint8_t)TALOS_SESS_MAGIC[0]) {
        clients_serve(fd, "control socket");
        return;
    }
    for (;;) {
        uint32_t len = 0;
        json_t *resp = NULL;
        if (talos_fd_read_full(fd, hdr, 4) != TALOS_OK)
            break;
        len = talos_be32_get(hdr);
        if (len > CONTROL_FRAME_MAX) {
            struct req r = {.out = json_object()};
            fail(&r, TALOS_ERR_TOO_LARGE, "request of %u bytes; at most %u", len, CONTROL_FRAME_MAX);
            json_object_set_new(r.out, "ok", json_false());
            json_object_set_new(r.out, "error", json_string("TOO_LARGE"));
            json_object_set_new(r.out, "code", json_integer(r.code));
            json_object_set_new(r.out, "message", json_string(r.msg));
            send_json(fd, r.out);
            json_decref(r.out);
            break; /* the stream cannot be resynchronised */
        }
        free(buf);
        if (!(buf = malloc(len ? len : 1)) || talos_fd_read_full(fd, buf, len) != TALOS_OK)
            break;
        resp = handle(fd, buf, len);
        int rc = resp ? send_json(fd, resp) : TALOS_ERR_NOMEM;
        json_decref(resp);
        if (rc != TALOS_OK)
            break;
    }
    free(buf);
    close(fd);
}
