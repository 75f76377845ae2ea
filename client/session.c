/* A client session's connections (docs/sessions.md §5): open one, and when
 * it breaks or the TA moves, find the TA again and check that what answers
 * is the same lineage, at no older version, behind evidence the policy
 * accepts — before any byte of a call goes out. */
#include "client/session.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/verify.h"
#include "core/wire.h"

double talos_session_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Node-supplied text in a reason: printable ASCII only. */
static void clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

void talos_session_drop(struct talos_session *s)
{
    talos_conn_close(&s->conn);
}

int talos_session_see_version(struct talos_session *s, uint64_t v, const char *what)
{
    if (v < s->version) {
        snprintf(s->err, sizeof(s->err),
                 "the TA's %s names version %llu, lower than %llu this session saw (rollback)", what,
                 (unsigned long long)v, (unsigned long long)s->version);
        s->dead = TALOS_ERR_ROLLBACK;
        talos_session_drop(s);
        return TALOS_ERR_ROLLBACK;
    }
    s->version = v;
    return TALOS_OK;
}

/* HELLO, then the TA's WELCOME checked against what this session knows. */
static int greet(struct talos_session *s)
{
    struct talos_sess_hello h = {.proto = TALOS_SESS_PROTO};
    struct talos_sess_welcome w;
    struct talos_sess_end e;
    struct talos_wr wr;
    uint8_t type = 0, *body = NULL;
    uint32_t len = 0;
    int rc = TALOS_OK;

    memcpy(h.client_id, s->client_id, sizeof(h.client_id));
    talos_wr_init(&wr, 64);
    talos_sess_hello_encode(&h, &wr);
    if ((rc = wr.err) != TALOS_OK || (rc = talos_conn_send(&s->conn, wr.p, wr.len)) != TALOS_OK ||
        (rc = talos_conn_recv(&s->conn, &type, &body, &len)) != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "HELLO: %s", talos_strerror(rc));
        goto out;
    }
    if (type == TALOS_SESS_END) {
        rc = talos_sess_end_decode(body, len, &e) == TALOS_OK ? e.code : TALOS_ERR_MALFORMED;
        clean(e.reason);
        snprintf(s->err, sizeof(s->err), "the TA ended the session: %.200s", e.reason);
        goto out;
    }
    if (type != TALOS_SESS_WELCOME || talos_sess_welcome_decode(body, len, &w) != TALOS_OK ||
        w.proto != TALOS_SESS_PROTO) {
        rc = TALOS_ERR_PROTOCOL;
        snprintf(s->err, sizeof(s->err), "the TA did not answer HELLO with a WELCOME of protocol 1");
        goto out;
    }
    if (!talos_ct_eq(w.lineage, s->lineage, sizeof(w.lineage))) {
        rc = s->dead = TALOS_ERR_LINEAGE;
        snprintf(s->err, sizeof(s->err), "the instance behind the session holds another lineage");
        goto out;
    }
    rc = talos_session_see_version(s, w.version, "WELCOME");
out:
    if (body)
        talos_wipe(body, len);
    free(body);
    talos_wr_free(&wr);
    return rc;
}

/* One attempt at addr. MOVED from the node's preamble sets moved_to. */
static int connect_once(struct talos_session *s, const char *addr, char *moved_to, size_t cap)
{
    double t0 = talos_session_now_ms();
    char msg[TALOS_SESS_ANSWER_MAX] = "";
    uint8_t pub[TALOS_ED25519_PUB_BYTES];
    size_t pub_len = sizeof(pub);
    struct talos_claims claims;
    X509 *peer = NULL;
    int32_t status = 0;
    int rc = TALOS_OK;

    moved_to[0] = '\0';
    if ((rc = talos_conn_tcp(&s->conn, addr, s->opt.timeout_ms, s->err, sizeof(s->err))) != TALOS_OK)
        return rc;
    if ((rc = talos_conn_preamble(&s->conn, s->lineage, &status, msg, sizeof(msg))) != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "node %.100s: preamble: %s", addr, talos_strerror(rc));
        goto out;
    }
    clean(msg);
    if ((rc = status) == TALOS_ERR_MOVED) {
        size_t n = strlen(msg);
        /* Never a cut address (it could name another host), never a unix: path. */
        if (n == 0 || n >= cap || !talos_conn_hostport_ok(msg)) {
            rc = TALOS_ERR_MALFORMED;
            snprintf(s->err, sizeof(s->err), "node %.100s: MOVED without a usable HOST:PORT", addr);
            goto out;
        }
        memcpy(moved_to, msg, n + 1);
        snprintf(s->err, sizeof(s->err), "node %.100s: the TA moved to %.100s", addr, msg);
        goto out;
    }
    if (rc != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "node %.100s refused: %s (%.100s)", addr,
                 talos_errname(rc), msg);
        goto out;
    }
    if ((rc = talos_conn_tls(&s->conn, s->ctx, &peer)) != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "TLS with the TA via %.100s: %s", addr, talos_strerror(rc));
        goto out;
    }
    /* Before HELLO: nothing of ours goes to an instance the policy refuses. */
    if ((rc = talos_client_verify_cert(s->pol, peer, &claims, s->err, sizeof(s->err))) != TALOS_OK)
        goto out;
    EVP_PKEY *k = X509_get0_pubkey(peer);
    if (!k || EVP_PKEY_get_raw_public_key(k, pub, &pub_len) != 1) {
        rc = TALOS_ERR_CRYPTO;
        snprintf(s->err, sizeof(s->err), "cannot read the TA's key");
        goto out;
    }
    if ((rc = greet(s)) != TALOS_OK)
        goto out;
    if (s->have_pub && !talos_ct_eq(pub, s->ta_pub, sizeof(pub)))
        s->moves++;
    memcpy(s->ta_pub, pub, sizeof(pub));
    s->have_pub = 1;
    s->claims = claims;
    snprintf(s->node, sizeof(s->node), "%s", addr);
    s->setup_ms = talos_session_now_ms() - t0;
    s->err[0] = '\0';
out:
    X509_free(peer);
    if (rc != TALOS_OK)
        talos_session_drop(s);
    return rc;
}

/* Failures that another attempt may cure: the node's transient refusals,
 * the TA ending a session as it moves, and broken connections. */
static int retriable(int rc)
{
    return rc == TALOS_ERR_BUSY || rc == TALOS_ERR_NO_SUCH_TA || rc == TALOS_ERR_STATE ||
           rc == TALOS_ERR_MOVED || rc == TALOS_ERR_IO || rc == TALOS_ERR_TIMEOUT ||
           rc == TALOS_ERR_PEER_CLOSED || rc == TALOS_ERR_MAC;
}

int talos_session_reconnect(struct talos_session *s, int persist)
{
    double deadline = talos_session_now_ms() + (persist ? s->opt.follow_ms : 0);
    char target[sizeof(s->node)], moved[sizeof(s->node)];
    unsigned backoff = 1, hops = 0; /* ms: a TA handing over is back within a few */
    int rc = TALOS_OK;

    talos_session_drop(s);
    if (s->dead)
        return s->dead;
    snprintf(target, sizeof(target), "%s", s->hint[0] ? s->hint : s->node);
    if (s->hint[0])
        hops = 1;
    s->hint[0] = '\0';
    for (;;) {
        rc = connect_once(s, target, moved, sizeof(moved));
        if (rc == TALOS_OK || s->dead)
            return rc;
        if (moved[0]) {
            if (++hops > s->opt.max_hops) {
                snprintf(s->err, sizeof(s->err), "followed %u moves in a row without finding the TA",
                         s->opt.max_hops);
                return TALOS_ERR_MOVED;
            }
            snprintf(target, sizeof(target), "%s", moved);
            continue;
        }
        if (!retriable(rc))
            return rc;
        double left = deadline - talos_session_now_ms();
        if (left <= 0)
            return rc; /* s->err: the last attempt's reason */
        sleep_ms(backoff < left ? backoff : (unsigned)left);
        backoff = backoff * 2 > 500 ? 500 : backoff * 2;
        /* From the session's node again: it names where the TA is now. */
        hops = 0;
        snprintf(target, sizeof(target), "%s", s->node);
    }
}

int talos_session_open(const char *node, const uint8_t lineage[TALOS_LINEAGE_BYTES],
                       const struct talos_policy *p, const struct talos_session_options *opt,
                       struct talos_session **out, char *why, size_t cap)
{
    struct talos_session *s = NULL;
    int rc = TALOS_ERR_INVALID_ARG;
    char scratch[8];

    if (!why || cap == 0) {
        why = scratch;
        cap = sizeof(scratch);
    }
    why[0] = '\0';
    if (out)
        *out = NULL;
    if (!out || !node || !lineage || !p || p->n_meas == 0 || strlen(node) >= sizeof(s->node)) {
        snprintf(why, cap, "a session needs a node HOST:PORT, a lineage and a policy that allows "
                           "a measurement");
        return rc;
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        snprintf(why, cap, "out of memory");
        return TALOS_ERR_NOMEM;
    }
    s->conn.fd = -1;
    s->opt.timeout_ms = opt && opt->timeout_ms ? opt->timeout_ms : 30000;
    s->opt.follow_ms = opt && opt->follow_ms ? opt->follow_ms : 30000;
    s->opt.max_hops = opt && opt->max_hops ? opt->max_hops : 8;
    memcpy(s->lineage, lineage, sizeof(s->lineage));
    snprintf(s->node, sizeof(s->node), "%s", node);
    if ((rc = talos_policy_dup(p, &s->pol)) != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        goto out;
    }
    if ((rc = talos_policy_resolve(s->pol, s->err, sizeof(s->err))) != TALOS_OK)
        goto out;
    rc = TALOS_ERR_CRYPTO;
    if (!(s->ctx = talos_conn_ctx_new()) ||
        talos_random_bytes(s->client_id, sizeof(s->client_id)) != TALOS_OK) {
        snprintf(s->err, sizeof(s->err), "cannot set up TLS or draw a client id");
        goto out;
    }
    /* Once, following MOVED: a node that refuses the first connection
     * (NO_SUCH_TA, a wrong address) is an answer for the caller to see now. */
    rc = talos_session_reconnect(s, 0);
out:
    if (rc != TALOS_OK) {
        snprintf(why, cap, "%s", s->err[0] ? s->err : talos_strerror(rc));
        talos_session_close(s);
        return rc;
    }
    *out = s;
    return TALOS_OK;
}

void talos_session_info(const struct talos_session *s, struct talos_session_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    out->claims = s->claims;
    memcpy(out->lineage, s->lineage, sizeof(out->lineage));
    out->version = s->version;
    snprintf(out->node, sizeof(out->node), "%s", s->node);
    out->moves = s->moves;
    out->replays = s->replays;
    memcpy(out->client_id, s->client_id, sizeof(out->client_id));
    out->seq = s->seq;
    out->setup_ms = s->setup_ms;
}

const char *talos_session_error(const struct talos_session *s)
{
    return s ? s->err : "";
}

void talos_session_close(struct talos_session *s)
{
    if (!s)
        return;
    talos_session_drop(s);
    SSL_CTX_free(s->ctx);
    talos_policy_free(s->pol);
    talos_wipe(s, sizeof(*s));
    free(s);
}
