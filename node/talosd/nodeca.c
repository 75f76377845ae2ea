/* A node's TLS identity when the operator configured none
 * (docs/node-security.md): a local operator CA made on first use, shared by
 * the nodes of this user on this machine, and a node key and certificate
 * in the state dir issued by it. Nodes on one machine then authenticate
 * each other with no set-up; nodes on several hosts need a CA the operator
 * distributes (talosd --node-cert/--node-key/--peer-ca, scripts/node-ca.sh).
 *
 *   CA dir ($TALOS_NODE_CA or ~/.local/state/talos/node-ca), 0700:
 *     ca.key  Ed25519, PEM, 0600;  ca.pem  self-signed CA, 10 years;  .lock
 *   state dir:
 *     node.key  Ed25519, PEM, 0600;  node.pem  issued by the CA, 1 year
 *     (issued again when the CA changed or it expired) */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "node/talosd/node.h"

#define CA_DAYS 3650
#define NODE_DAYS 365

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

static int mkdir_p(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p))
        return -1;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST)
                return -1;
            p[i] = c;
        }
    return 0;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "re");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return k;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "re");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return x;
}

/* Write PEM through a temporary file, mode `mode`, then rename. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode)
{
    char tmp[PATH_MAX + 16];
    FILE *f = NULL;
    int fd = -1, ok = 0;

    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
        return TALOS_ERR_IO;
    if (fchmod(fd, mode) == 0 && (f = fdopen(fd, "w"))) {
        fd = -1;
        ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1
                 : PEM_write_X509(f, cert) == 1;
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
    }
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return TALOS_ERR_IO;
    }
    return TALOS_OK;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A v3 certificate for key named cn: a CA (self-signed) or a node leaf
 * issued by ca/ca_key, usable as TLS server and client. */
static X509 *issue(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key, int days)
{
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    X509V3_CTX v3;
    uint8_t serial[16];
    int is_ca = ca == NULL, ok = 0;

    if (!x || talos_random_bytes(serial, sizeof(serial)) != TALOS_OK)
        goto out;
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);
    ok = (bn = BN_bin2bn(serial, sizeof(serial), NULL)) &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) && X509_set_version(x, X509_VERSION_3) &&
         X509_gmtime_adj(X509_getm_notBefore(x), -3600) && /* clock skew between nodes */
         X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) &&
         X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_issuer_name(x, is_ca ? X509_get_subject_name(x) : X509_get_subject_name(ca)) &&
         X509_set_pubkey(x, key);
    if (!ok)
        goto out;
    X509V3_set_ctx(&v3, is_ca ? x : ca, x, NULL, NULL, 0);
    ok = add_ext(x, &v3, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
         add_ext(x, &v3, NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign"
                                              : "critical,digitalSignature") &&
         (is_ca || add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth")) &&
         add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
         (is_ca || add_ext(x, &v3, NID_authority_key_identifier, "keyid:always")) &&
         X509_sign(x, is_ca ? key : ca_key, NULL) > 0;
out:
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Key at path, made (Ed25519, 0600) when missing. */
static EVP_PKEY *load_or_make_key(const char *path, int *made)
{
    EVP_PKEY *k = NULL;

    *made = 0;
    if (access(path, F_OK) == 0)
        return read_key(path);
    if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) || write_pem(path, k, NULL, 0600) != TALOS_OK) {
        EVP_PKEY_free(k);
        return NULL;
    }
    *made = 1;
    return k;
}

static int current(X509 *cert, EVP_PKEY *key, X509 *ca)
{
    return cert && X509_get0_pubkey(cert) && EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1 &&
           X509_check_issued(ca, cert) == X509_V_OK && X509_verify(cert, X509_get0_pubkey(ca)) == 1 &&
           X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
}

int nodeca_ensure(const char *ca_dir, char *cert, char *key, char *ca, size_t cap, char *why,
                  size_t why_cap)
{
    char p[PATH_MAX + 32], cn[96];
    EVP_PKEY *ca_key = NULL, *node_key = NULL;
    X509 *ca_cert = NULL, *node_cert = NULL;
    int lock = -1, made = 0, rc = TALOS_ERR_PEER_AUTH;
    uint8_t id[32];
    char hex[17];

    snprintf(cert, cap, "%s/node.pem", node.state_dir);
    snprintf(key, cap, "%s/node.key", node.state_dir);
    snprintf(ca, cap, "%s/ca.pem", ca_dir);
    snprintf(p, sizeof(p), "%s/.lock", ca_dir);
    if (mkdir_p(ca_dir) != 0 || (lock = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
        flock(lock, LOCK_EX) != 0) {
        snprintf(why, why_cap, "node CA %s: %s", ca_dir, strerror(errno));
        goto out;
    }
    snprintf(p, sizeof(p), "%s/ca.key", ca_dir);
    if (!(ca_key = load_or_make_key(p, &made))) {
        snprintf(why, why_cap, "node CA key %s is unreadable or not a private key", p);
        goto out;
    }
    if (made || !(ca_cert = read_cert(ca))) {
        X509_free(ca_cert);
        if (!(ca_cert = issue(ca_key, "TALOS local node CA", NULL, NULL, CA_DAYS)) ||
            write_pem(ca, NULL, ca_cert, 0644) != TALOS_OK) {
            snprintf(why, why_cap, "cannot create the node CA in %s", ca_dir);
            goto out;
        }
        TLOG_INFO("created a local node CA in %s: nodes certified by it trust each other", ca_dir);
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(ca_cert), ca_key) != 1) {
        snprintf(why, why_cap, "%s does not match %s/ca.key", ca, ca_dir);
        goto out;
    }
    if (!(node_key = load_or_make_key(key, &made))) {
        snprintf(why, why_cap, "node key %s is unreadable or not a private key", key);
        goto out;
    }
    node_cert = made ? NULL : read_cert(cert);
    if (!current(node_cert, node_key, ca_cert)) {
        X509_free(node_cert);
        size_t rawlen = sizeof(id);
        if (EVP_PKEY_get_raw_public_key(node_key, id, &rawlen) != 1)
            memset(id, 0, sizeof(id));
        talos_sha256(id, rawlen, id);
        talos_hex(id, 8, hex);
        snprintf(cn, sizeof(cn), "talos node %s", hex);
        if (!(node_cert = issue(node_key, cn, ca_cert, ca_key, NODE_DAYS)) ||
            write_pem(cert, NULL, node_cert, 0644) != TALOS_OK) {
            snprintf(why, why_cap, "cannot issue the node certificate %s", cert);
            goto out;
        }
    }
    rc = TALOS_OK;
out:
    ERR_clear_error();
    X509_free(node_cert);
    X509_free(ca_cert);
    EVP_PKEY_free(node_key);
    EVP_PKEY_free(ca_key);
    if (lock >= 0)
        close(lock);
    return rc;
}
