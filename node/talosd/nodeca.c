/* A node's TLS identity when the operator configured none
 * (docs/node-security.md): a local operator CA made on first use, shared by
 * the nodes of this user on this machine, and a node key and certificate
 * in the state dir issued by it. Nodes on one machine then authenticate
 * each other with no set-up; nodes on several hosts need a CA the operator
 * distributes (talosd --node-cert/--node-key/--peer-ca, scripts/node-ca.sh).
 *
 *   CA dir ($TALOS_NODE_CA or ~/.local/state/talos/node-ca), 0700, talosd's
 *   user's alone (os/sdir.h):
 *     ca.key  Ed25519, PEM, 0600;  ca.pem  self-signed CA, 10 years;  .lock
 *   state dir:
 *     node.key  Ed25519, PEM, 0600;  node.pem  issued by the CA, 1 year
 *     (issued again when the CA changed or it expired)
 * Keys found with lax permissions or another owner are refused, never
 * replaced. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/x509.h"
#include "node/talosd/node.h"
#include "os/sdir.h"

#define CA_DAYS 3650
#define NODE_DAYS 365
#define PEM_MAX (64u << 10)

const char *nodeca_default_dir(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("TALOS_NODE_CA"), *home = getenv("HOME");
    struct passwd *pw = NULL;

    if (env && *env)
        return env;
    if (!home || !*home)
        home = (pw = getpwuid(geteuid())) ? pw->pw_dir : NULL;
    if (!home)
        return NULL;
    int n = snprintf(path, sizeof(path), "%s/.local/state/talos/node-ca", home);
    return n > 0 && (size_t)n < sizeof(path) ? path : NULL;
}

/* d/name as an Ed25519 key, made (0600) when missing; *made says which. */
static int key_at(const struct talos_sdir *d, const char *name, EVP_PKEY **key, int *made,
                  char *why, size_t cap)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    int rc = talos_sdir_read(d, name, TALOS_SDIR_SECRET, PEM_MAX, &pem, &len, why, cap);

    *made = 0;
    if (rc == TALOS_ERR_NOT_FOUND) {
        if ((rc = talos_x509_key_new(key)) == TALOS_OK &&
            (rc = talos_x509_key_to_pem(*key, &pem, &len)) == TALOS_OK)
            rc = talos_sdir_write(d, name, pem, len, 0600, why, cap);
        *made = rc == TALOS_OK;
    } else if (rc == TALOS_OK && (rc = talos_x509_key_from_pem(pem, len, key)) != TALOS_OK) {
        snprintf(why, cap, "%s/%s is not an Ed25519 PEM key", talos_sdir_path(d), name);
    }
    talos_x509_pem_free(pem, len);
    if (rc != TALOS_OK) {
        EVP_PKEY_free(*key);
        *key = NULL;
    }
    return rc;
}

/* d/name as a certificate; NULL in *cert when missing or unreadable. */
static X509 *cert_at(const struct talos_sdir *d, const char *name)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    char why[TALOS_SDIR_WHY_BYTES];
    X509 *x = NULL;

    if (talos_sdir_read(d, name, 0, PEM_MAX, &pem, &len, why, sizeof(why)) == TALOS_OK &&
        talos_x509_cert_from_pem(pem, len, &x) != TALOS_OK)
        x = NULL;
    talos_x509_pem_free(pem, len);
    return x;
}

static int store_cert(const struct talos_sdir *d, const char *name, X509 *x, char *why, size_t cap)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    int rc = talos_x509_cert_to_pem(x, &pem, &len);

    if (rc == TALOS_OK)
        rc = talos_sdir_write(d, name, pem, len, 0644, why, cap);
    talos_x509_pem_free(pem, len);
    return rc;
}

/* cert certifies key, was issued by ca, and has not expired. */
static int current(X509 *cert, EVP_PKEY *key, X509 *ca)
{
    return cert && X509_get0_pubkey(cert) && EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1 &&
           X509_check_issued(ca, cert) == X509_V_OK && X509_verify(cert, X509_get0_pubkey(ca)) == 1 &&
           X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
}

/* The CA in its own directory, made under its lock on first use. */
static int open_ca(const char *dir, EVP_PKEY **key, X509 **cert, char *why, size_t cap)
{
    struct talos_sdir *d = NULL;
    int lock = -1, made = 0;
    int rc = talos_sdir_open(dir, TALOS_SDIR_CREATE, &d, why, cap);

    if (rc == TALOS_OK)
        rc = talos_sdir_check_entries(d, why, cap);
    if (rc == TALOS_OK)
        rc = talos_sdir_open_file(d, ".lock", TALOS_SDIR_CREATE | TALOS_SDIR_RDWR, 0600, &lock,
                                  why, cap);
    if (rc == TALOS_OK && flock(lock, LOCK_EX) != 0)
        rc = TALOS_ERR_IO;
    if (rc == TALOS_OK)
        rc = key_at(d, "ca.key", key, &made, why, cap);
    if (rc == TALOS_OK && !(*cert = made ? NULL : cert_at(d, "ca.pem"))) {
        const struct talos_x509_req req = {.cn = "TALOS local node CA", .key = *key,
                                           .days = CA_DAYS, .kind = TALOS_X509_CA};
        if ((rc = talos_x509_issue(&req, cert)) == TALOS_OK &&
            (rc = store_cert(d, "ca.pem", *cert, why, cap)) == TALOS_OK)
            TLOG_INFO("created a local node CA in %s: nodes certified by it trust each other", dir);
    }
    if (rc == TALOS_OK && EVP_PKEY_eq(X509_get0_pubkey(*cert), *key) != 1) {
        snprintf(why, cap, "%s/ca.pem does not match its ca.key", dir);
        rc = TALOS_ERR_PEER_AUTH;
    }
    if (lock >= 0)
        close(lock);
    talos_sdir_close(d);
    return rc;
}

int nodeca_ensure(const char *ca_dir, char *cert, char *key, char *ca, size_t cap, char *why,
                  size_t why_cap)
{
    EVP_PKEY *ca_key = NULL, *node_key = NULL;
    X509 *ca_cert = NULL, *node_cert = NULL;
    struct talos_sdir *sd = NULL;
    int made = 0, rc = TALOS_OK;

    snprintf(cert, cap, "%s/node.pem", node.state_dir);
    snprintf(key, cap, "%s/node.key", node.state_dir);
    snprintf(ca, cap, "%s/ca.pem", ca_dir);
    if ((rc = open_ca(ca_dir, &ca_key, &ca_cert, why, why_cap)) != TALOS_OK ||
        (rc = talos_sdir_open(node.state_dir, 0, &sd, why, why_cap)) != TALOS_OK ||
        (rc = key_at(sd, "node.key", &node_key, &made, why, why_cap)) != TALOS_OK)
        goto out;
    node_cert = made ? NULL : cert_at(sd, "node.pem");
    if (!current(node_cert, node_key, ca_cert)) {
        uint8_t raw[TALOS_ED25519_PUB_BYTES], id[TALOS_SHA256_BYTES];
        size_t rawlen = sizeof(raw);
        char hex[17], cn[64];
        X509_free(node_cert);
        node_cert = NULL;
        if (EVP_PKEY_get_raw_public_key(node_key, raw, &rawlen) != 1)
            rawlen = 0;
        talos_sha256(raw, rawlen, id);
        talos_hex(id, 8, hex);
        snprintf(cn, sizeof(cn), "talos node %s", hex);
        const struct talos_x509_req req = {.cn = cn, .key = node_key, .issuer = ca_cert,
                                           .issuer_key = ca_key, .days = NODE_DAYS,
                                           .kind = TALOS_X509_LEAF, .flags = TALOS_X509_EKU_TLS};
        if ((rc = talos_x509_issue(&req, &node_cert)) == TALOS_OK)
            rc = store_cert(sd, "node.pem", node_cert, why, why_cap);
    }
out:
    if (rc != TALOS_OK && !why[0])
        snprintf(why, why_cap, "node identity: %s", talos_strerror(rc));
    X509_free(node_cert);
    X509_free(ca_cert);
    EVP_PKEY_free(node_key);
    EVP_PKEY_free(ca_key);
    talos_sdir_close(sd);
    return rc;
}
