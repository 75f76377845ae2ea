#include "core/ratls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "talos/err.h"

static ASN1_OBJECT *oid(void) { return OBJ_txt2obj(TALOS_RATLS_OID, 1); }

X509 *talos_ratls_cert(EVP_PKEY *key, const uint8_t *ev, size_t ev_len)
{
    X509 *x = X509_new();
    X509_NAME *n = NULL;
    ASN1_OBJECT *o = oid();
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    if (!x || !o || !v || !ev || ev_len == 0 || ev_len > INT32_MAX ||
        !ASN1_OCTET_STRING_set(v, ev, (int)ev_len) ||
        !(ext = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v)))
        goto out;
    if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) || !X509_set_pubkey(x, key) ||
        !(n = X509_get_subject_name(x)) ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"talos TA session key", -1, -1, 0) ||
        !X509_set_issuer_name(x, n) || !X509_add_ext(x, ext, -1) || !X509_sign(x, key, NULL))
        goto out;
    ok = 1;
out:
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(v);
    ASN1_OBJECT_free(o);
    ERR_clear_error();
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int talos_ratls_evidence(const X509 *cert, uint8_t *ev, size_t cap, size_t *len)
{
    ASN1_OBJECT *o = oid();
    int rc = TALOS_ERR_MALFORMED;
    int at = -1;

    *len = 0;
    if (!cert || !o)
        goto out;
    at = X509_get_ext_by_OBJ(cert, o, -1);
    /* Exactly one: a second extension of the same OID could say anything. */
    if (at < 0 || X509_get_ext_by_OBJ(cert, o, at) >= 0)
        goto out;
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert, at));
    int n = v ? ASN1_STRING_length(v) : 0;
    if (n <= 0)
        goto out;
    if ((size_t)n > cap) {
        rc = TALOS_ERR_TOO_LARGE;
        goto out;
    }
    memcpy(ev, ASN1_STRING_get0_data(v), (size_t)n);
    *len = (size_t)n;
    rc = TALOS_OK;
out:
    ASN1_OBJECT_free(o);
    ERR_clear_error();
    return rc;
}
