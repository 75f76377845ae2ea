/* Whether a TA instance is one the client talks to (client/verify.h). The
 * certificate came from the network through an untrusted node: only its
 * evidence, verified here with the client's own anchors, is trusted, and
 * only for the key the evidence binds. */
#include "client/verify.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/migcheck.h"
#include "core/ratls.h"
#include "core/sess.h"

static int in_set(const uint8_t *set, size_t count, const uint8_t *v, size_t n)
{
    int found = 0;
    for (size_t i = 0; i < count; i++)
        found |= talos_ct_eq(set + i * n, v, n);
    return found;
}

static const char *evidence_why(int rc)
{
    switch (rc) {
    case TALOS_ERR_EVIDENCE_SIM:
        return "the TA's evidence is simulated (no hardware isolation) and the policy does not "
               "allow it";
    case TALOS_ERR_EVIDENCE_CHAIN:
        return "the TA's evidence does not chain to the client's trust anchors";
    case TALOS_ERR_EVIDENCE_SIG:
        return "the TA's evidence signature does not verify";
    case TALOS_ERR_MALFORMED:
        return "the TA's evidence does not decode";
    case TALOS_ERR_NOT_IMPLEMENTED:
        return "the TA's evidence is of a backend this client does not know";
    default:
        return talos_strerror(rc);
    }
}

/* The evidence's checks after its signature verified. */
static int check_claims(const struct talos_policy *p, const struct talos_claims *c,
                        const uint8_t pub[TALOS_ED25519_PUB_BYTES], char *why, size_t cap)
{
    struct talos_mig_binding b = {.role = TALOS_SESS_ROLE, .pub = pub, .config = c->config_id};
    char hex[2 * TALOS_MEASUREMENT_BYTES + 1];

    if ((c->flags & TALOS_CLAIM_DEBUG) && !(p->flags & TALOS_VERIFY_ALLOW_DEBUG)) {
        snprintf(why, cap, "the TA runs in a debug-mode TEE and the policy does not allow it");
        return TALOS_ERR_EVIDENCE_SIM;
    }
    if (talos_mig_binding_check(&b, c->report_data, NULL, 0) != TALOS_OK) {
        snprintf(why, cap, "the TA's evidence does not bind its TLS key (relayed or old evidence)");
        return TALOS_ERR_REPORT_DATA;
    }
    if (!in_set((const uint8_t *)p->meas, p->n_meas, c->measurement, TALOS_MEASUREMENT_BYTES)) {
        talos_hex(c->measurement, TALOS_MEASUREMENT_BYTES, hex);
        snprintf(why, cap, "measurement %s is not allowed by the policy", hex);
        return TALOS_ERR_MEASUREMENT;
    }
    if (p->n_cfg == 0)
        return TALOS_OK;
    if (c->flags & TALOS_CLAIM_NO_CFG) {
        snprintf(why, cap, "the policy requires a CFG digest and the platform computed none");
        return TALOS_ERR_CFG_DIGEST;
    }
    if (!in_set((const uint8_t *)p->cfg, p->n_cfg, c->cfg_digest, TALOS_CFG_DIGEST_BYTES)) {
        talos_hex(c->cfg_digest, TALOS_CFG_DIGEST_BYTES, hex);
        snprintf(why, cap, "CFG digest %s is not allowed by the policy", hex);
        return TALOS_ERR_CFG_DIGEST;
    }
    return TALOS_OK;
}

int talos_client_verify_cert(const struct talos_policy *p, const X509 *cert,
                             struct talos_claims *claims, char *why, size_t cap)
{
    uint8_t *ev = malloc(TALOS_EVIDENCE_MAX);
    uint8_t pub[TALOS_ED25519_PUB_BYTES];
    size_t ev_len = 0, pub_len = sizeof(pub);
    EVP_PKEY *key = NULL;
    int rc = TALOS_ERR_NOMEM;

    memset(claims, 0, sizeof(*claims));
    if (!ev) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    if (!p->anchors || p->n_meas == 0) {
        rc = TALOS_ERR_INVALID_ARG;
        snprintf(why, cap, "the policy allows no measurement or has no trust anchors");
        goto out;
    }
    if ((rc = talos_ratls_evidence(cert, ev, TALOS_EVIDENCE_MAX, &ev_len)) != TALOS_OK) {
        snprintf(why, cap, "the TA's certificate carries no evidence%s",
                 rc == TALOS_ERR_TOO_LARGE ? " of a bounded size" : "");
        rc = TALOS_ERR_MALFORMED;
        goto out;
    }
    if ((rc = talos_verify_evidence(ev, ev_len, p->anchors, p->anchors_len, p->flags, claims)) !=
        TALOS_OK) {
        snprintf(why, cap, "%s", evidence_why(rc));
        goto out;
    }
    claims->backend[sizeof(claims->backend) - 1] = '\0';
    /* The binding names the raw Ed25519 key: any other key type cannot be
     * what the TA's evidence binds. */
    key = X509_get_pubkey((X509 *)cert);
    if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 || pub_len != sizeof(pub)) {
        rc = TALOS_ERR_REPORT_DATA;
        snprintf(why, cap, "the TA's certificate key is not Ed25519: its evidence cannot bind it");
        goto out;
    }
    rc = check_claims(p, claims, pub, why, cap);
out:
    EVP_PKEY_free(key);
    ERR_clear_error();
    free(ev);
    if (rc != TALOS_OK)
        memset(claims, 0, sizeof(*claims));
    return rc;
}
