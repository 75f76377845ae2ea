/* X.509 certificates and their keys, over OpenSSL 3: make an Ed25519 key,
 * issue a v3 CA or leaf certificate, and move keys and certificates to and
 * from PEM in memory. No files here: callers store the PEM where they keep
 * it (the sim CA and platform identity in tee/sim/ca.c; node CAs and node
 * TLS certificates next).
 *
 * Keys are Ed25519 (EVP_PKEY, owned by the caller, freed with
 * EVP_PKEY_free); certificates are X509 (freed with X509_free). Every
 * function returns TALOS_OK or a negative enum talos_err; on failure its
 * outputs are NULL / 0 and nothing is left to free. OpenSSL's error queue
 * is left as the failing call set it; callers that care clear it.
 */
#ifndef TALOS_CORE_X509_H
#define TALOS_CORE_X509_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "talos/err.h"

/* A decoded PEM key or certificate larger than this is refused
 * (TALOS_ERR_TOO_LARGE): no real one comes near it. */
#define TALOS_X509_PEM_MAX (64u << 10)

/* Kinds of certificate talos_x509_issue makes. */
enum talos_x509_kind {
    /* basicConstraints critical CA:TRUE; keyUsage critical keyCertSign, cRLSign */
    TALOS_X509_CA = 1,
    /* basicConstraints critical CA:FALSE; keyUsage critical digitalSignature */
    TALOS_X509_LEAF = 2,
};

/* Leaf only: extendedKeyUsage serverAuth, clientAuth (a TLS peer that both
 * accepts and makes connections, like a node). */
#define TALOS_X509_EKU_TLS 0x1u

struct talos_x509_req {
    const char *cn;             /* subject commonName, UTF-8, non-empty */
    EVP_PKEY *key;              /* the subject's key: its public half is certified */
    X509 *issuer;               /* the issuing CA's certificate; NULL: self-signed */
    EVP_PKEY *issuer_key;       /* the issuing CA's private key; NULL when self-signed */
    int days;                   /* validity: from one hour ago (clock skew) to now + days, 1..36500 */
    enum talos_x509_kind kind;
    unsigned flags;             /* TALOS_X509_EKU_TLS (leaf only), else 0 */
};

/* A new Ed25519 key pair in *out. TALOS_ERR_CRYPTO on failure. */
TALOS_MUST_CHECK int talos_x509_key_new(EVP_PKEY **out);

/* Issue an X.509 v3 certificate as req says, with a random positive
 * 128-bit serial, subjectKeyIdentifier, and (when issued by a CA)
 * authorityKeyIdentifier. Only a CA may be self-signed (issuer NULL, and
 * then issuer_key NULL: the subject's own key signs). Ed25519 and Ed448
 * issuer keys sign without a separate digest, others with SHA-256.
 * TALOS_ERR_INVALID_ARG when req breaks its contract (no CN, days out of
 * range, a self-signed leaf, EKU on a CA, unknown flags, an issuer without
 * its key); TALOS_ERR_CRYPTO when OpenSSL fails. */
TALOS_MUST_CHECK int talos_x509_issue(const struct talos_x509_req *req, X509 **out);

/* The private key as unencrypted PKCS#8 PEM in a malloc'd buffer of *len
 * bytes (not NUL-terminated). It holds the secret key: release it with
 * talos_x509_pem_free, which wipes it. */
TALOS_MUST_CHECK int talos_x509_key_to_pem(EVP_PKEY *key, uint8_t **pem, size_t *len);

/* Decode a PEM private key (no passphrase is ever asked for). Anything but
 * one Ed25519 private key is TALOS_ERR_MALFORMED; over TALOS_X509_PEM_MAX
 * bytes TALOS_ERR_TOO_LARGE. The input is not modified or kept. */
TALOS_MUST_CHECK int talos_x509_key_from_pem(const uint8_t *pem, size_t len, EVP_PKEY **out);

/* The certificate as PEM in a malloc'd buffer of *len bytes (not
 * NUL-terminated); release with talos_x509_pem_free. */
TALOS_MUST_CHECK int talos_x509_cert_to_pem(X509 *cert, uint8_t **pem, size_t *len);

/* Decode the first PEM certificate of pem. No certificate:
 * TALOS_ERR_MALFORMED; over TALOS_X509_PEM_MAX bytes TALOS_ERR_TOO_LARGE.
 * Nothing is verified here: the caller checks issuer, validity, keys. */
TALOS_MUST_CHECK int talos_x509_cert_from_pem(const uint8_t *pem, size_t len, X509 **out);

/* Wipe len bytes of pem and free it. NULL ok. */
void talos_x509_pem_free(uint8_t *pem, size_t len);

#endif
