#include "core/migcheck.h"

#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "talos/err.h"

#define BINDING_TAG "talos-ratls-v1"
#define BIND_TAG "talos-bind-v1"

static int refuse(int rc, char *why, size_t cap, const char *reason)
{
    if (why && cap)
        snprintf(why, cap, "%s", reason);
    return rc;
}

void talos_mig_binding_report_data(const struct talos_mig_binding *b,
                                   uint8_t out[TALOS_REPORT_DATA_BYTES])
{
    uint8_t buf[sizeof(BINDING_TAG) - 1 + 1 + TALOS_ED25519_PUB_BYTES + TALOS_SHA256_BYTES];
    uint8_t *p = buf;

    memcpy(p, BINDING_TAG, sizeof(BINDING_TAG) - 1), p += sizeof(BINDING_TAG) - 1;
    *p++ = b->role;
    memcpy(p, b->pub, TALOS_ED25519_PUB_BYTES), p += TALOS_ED25519_PUB_BYTES;
    memcpy(p, b->config, TALOS_SHA256_BYTES);
    memset(out, 0, TALOS_REPORT_DATA_BYTES);
    talos_sha256(buf, sizeof(buf), out);
}

int talos_mig_binding_check(const struct talos_mig_binding *b,
                            const uint8_t report_data[TALOS_REPORT_DATA_BYTES], char *why,
                            size_t cap)
{
    uint8_t want[TALOS_REPORT_DATA_BYTES];

    talos_mig_binding_report_data(b, want);
    if (!talos_ct_eq(want, report_data, sizeof(want)))
        return refuse(TALOS_ERR_REPORT_DATA, why, cap,
                      "peer evidence is not bound to this channel, key, session and lineage");
    return TALOS_OK;
}

int talos_mig_bind_mac(const struct talos_mig_bind *b, uint8_t mac[TALOS_MIG_BIND_MAC_BYTES])
{
    uint8_t buf[sizeof(BIND_TAG) - 1 + 1 + TALOS_SESSION_BYTES + TALOS_LINEAGE_BYTES +
                TALOS_NONCE_BYTES + 2 * TALOS_ED25519_PUB_BYTES];
    uint8_t *p = buf;

    memcpy(p, BIND_TAG, sizeof(BIND_TAG) - 1), p += sizeof(BIND_TAG) - 1;
    *p++ = b->role;
    memcpy(p, b->session, TALOS_SESSION_BYTES), p += TALOS_SESSION_BYTES;
    memcpy(p, b->lineage, TALOS_LINEAGE_BYTES), p += TALOS_LINEAGE_BYTES;
    memcpy(p, b->nonce, TALOS_NONCE_BYTES), p += TALOS_NONCE_BYTES;
    memcpy(p, b->speaker_pub, TALOS_ED25519_PUB_BYTES), p += TALOS_ED25519_PUB_BYTES;
    memcpy(p, b->listener_pub, TALOS_ED25519_PUB_BYTES);
    return talos_hmac_sha256(b->exporter, TALOS_MIG_KEY_BYTES, buf, sizeof(buf), mac);
}

int talos_mig_bind_check(const struct talos_mig_bind *b,
                         const uint8_t mac[TALOS_MIG_BIND_MAC_BYTES], char *why, size_t cap)
{
    uint8_t want[TALOS_MIG_BIND_MAC_BYTES];
    int rc = talos_mig_bind_mac(b, want), same = 0;

    if (rc != TALOS_OK)
        return refuse(rc, why, cap, "cannot compute the binding MAC");
    same = talos_ct_eq(want, mac, sizeof(want));
    talos_wipe(want, sizeof(want));
    if (!same)
        return refuse(TALOS_ERR_REPORT_DATA, why, cap,
                      "peer evidence is not bound to this session and lineage");
    return TALOS_OK;
}

int talos_mig_hello_lineage_check(const struct talos_mig_hello *h,
                                  const uint8_t expected[TALOS_LINEAGE_BYTES], char *why,
                                  size_t cap)
{
    if (!talos_ct_eq(h->lineage, expected, TALOS_LINEAGE_BYTES))
        return refuse(TALOS_ERR_PROTOCOL, why, cap,
                      "the source offers another lineage than its node announced");
    return TALOS_OK;
}

/* A pending session's token of `kind` (ABORT or RECEIPT), shown to a source
 * in `state`: the state, then the token under the session's key. */
static int pending_token(enum talos_life_state state, const struct talos_mig_pending *p,
                         const uint8_t lineage[TALOS_LINEAGE_BYTES], uint8_t kind,
                         const uint8_t *tok, size_t len, struct talos_token *t, char *why,
                         size_t cap)
{
    const char *name = kind == TALOS_MIG_ABORT ? "ABORT" : "RECEIPT";
    int rc = TALOS_OK;

    memset(t, 0, sizeof(*t));
    if (state != TALOS_LIFE_HANDED_OFF || !p->live) {
        if (why && cap)
            snprintf(why, cap, "TA is %s: only a HANDED_OFF source %s", talos_life_state_name(state),
                     kind == TALOS_MIG_ABORT ? "can resume" : "takes a RECEIPT");
        return TALOS_ERR_STATE;
    }
    if ((rc = talos_token_open(tok, len, p->k_tok, kind, p->session, lineage, t)) != TALOS_OK) {
        if (why && cap)
            snprintf(why, cap, "not a valid %s of the pending session: %s", name,
                     talos_strerror(rc));
        return rc;
    }
    return TALOS_OK;
}

int talos_mig_resume_check(enum talos_life_state state, const struct talos_mig_pending *p,
                           const uint8_t lineage[TALOS_LINEAGE_BYTES], const uint8_t *tok,
                           size_t len, struct talos_token *t, char *why, size_t cap)
{
    return pending_token(state, p, lineage, TALOS_MIG_ABORT, tok, len, t, why, cap);
}

int talos_mig_receipt_check(enum talos_life_state state, const struct talos_mig_pending *p,
                            const uint8_t lineage[TALOS_LINEAGE_BYTES], const uint8_t *tok,
                            size_t len, struct talos_token *t, char *why, size_t cap)
{
    int rc = pending_token(state, p, lineage, TALOS_MIG_RECEIPT, tok, len, t, why, cap);

    if (rc != TALOS_OK)
        return rc;
    if (t->version != p->version || !talos_ct_eq(t->head, p->head, TALOS_MIG_HASH_BYTES))
        return refuse(TALOS_ERR_PROTOCOL, why, cap,
                      "the RECEIPT names another version or chain head");
    return TALOS_OK;
}
