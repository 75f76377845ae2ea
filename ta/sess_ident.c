/* The TA's session identity (docs/sessions.md §2): one Ed25519 key for
 * every client session of this instance, the platform's evidence over it
 * (the binding of D44, role 'C') and a self-signed RA-TLS certificate that
 * carries the evidence (core/ratls.h). Made once, on the main thread
 * before READY, because only then (and inside a host's wait) may the TA
 * ask its platform for evidence; a virgin migration target makes its own
 * then too, so that it serves sessions from the moment it activates.
 *
 * The key never leaves the TA; the certificate's signature and names are
 * trusted by nobody (a client trusts the evidence, and the evidence binds
 * the key). Kept for the process's life. Trusted code. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migcheck.h"
#include "core/ratls.h"
#include "core/sess.h"
#include "ta/rt.h"
#include "ta/sess.h"
#include "tee/tee.h"

static SSL_CTX *ctx; /* holds the key and the certificate */

static int make_ctx(EVP_PKEY *key, X509 *cert, SSL_CTX **out)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());

    if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) || SSL_CTX_use_certificate(c, cert) != 1 ||
        SSL_CTX_use_PrivateKey(c, key) != 1 || SSL_CTX_check_private_key(c) != 1) {
        SSL_CTX_free(c);
        return TALOS_ERR_CRYPTO;
    }
    /* Every session is fresh (no tickets, no resumption: a resumed session
     * would skip the certificate, and with it the evidence). Clients show
     * no certificate: who they are is the application's business, inside
     * the session. An EOF without close_notify is a plain end: records are
     * framed, so a cut inside one is still caught. */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    *out = c;
    return TALOS_OK;
}

static int make_ident(const char **what)
{
    uint8_t pub[TALOS_ED25519_PUB_BYTES], rd[TALOS_REPORT_DATA_BYTES];
    uint8_t ev[TALOS_EVIDENCE_MAX];
    size_t pub_len = sizeof(pub), ev_len = sizeof(ev);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = TALOS_ERR_CRYPTO;

    *what = "cannot make an Ed25519 key";
    if (!(key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) ||
        EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 || pub_len != sizeof(pub))
        goto out;
    const struct talos_mig_binding b = {.role = TALOS_SESS_ROLE, .pub = pub,
                                        .config = talos_rt.config_digest};
    talos_mig_binding_report_data(&b, rd);
    *what = "no evidence from the platform";
    if ((rc = talos_tee_enclave.evidence(rd, ev, &ev_len)) != TALOS_OK)
        goto out;
    *what = "cannot make the certificate";
    rc = TALOS_ERR_CRYPTO;
    if (!(cert = talos_ratls_cert(key, ev, ev_len)))
        goto out;
    *what = "cannot make the TLS context";
    rc = make_ctx(key, cert, &ctx);
out:
    X509_free(cert);     /* the context holds its own references */
    EVP_PKEY_free(key);  /* OpenSSL clears a private key as it frees it */
    ERR_clear_error();
    return rc;
}

void talos_rt_sess_ident_start(void)
{
    const char *what = "";
    int rc = make_ident(&what);

    if (rc != TALOS_OK)
        TLOG_WARN("no session identity (%s: %s): client sessions are refused", what,
                  talos_strerror(rc));
}

SSL_CTX *talos_rt_sess_ctx(void) { return ctx; }

void talos_rt_sess_fini(void)
{
    talos_rt_sess_drop_all();
    SSL_CTX_free(ctx);
    ctx = NULL;
}
