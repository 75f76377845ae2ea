/* The sim CA and platform identity files (layout and rules in ca.h). */
#include "tee/sim/host/ca.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
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
#include "core/x509.h"
#include "os/sdir.h"
#include "talos/talos.h"

#define FILE_MAX (64u << 10)
#define CA_CN "TALOS sim CA (simulation: no hardware isolation)"
#define VALID_DAYS 3650

const char *talos_sim_ca_default(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("TALOS_SIM_CA");
    const char *home = getenv("HOME");
    struct passwd *pw = NULL;
    int n = 0;

    if (env && *env)
        return env;
    if (!home || !*home) {
        pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return NULL;
    n = snprintf(path, sizeof(path), "%s/.local/state/talos/sim-ca", home);
    return n > 0 && (size_t)n < sizeof(path) ? path : NULL;
}

/* The file helpers below log os/sdir's one-line reason, which names the
 * file and what to do, and keep its code: TALOS_ERR_UNSAFE_FILE for a file
 * or directory another user could control. */
static int sdir_failed(int rc, const char *why)
{
    TLOG_ERR("sim: %s", why);
    return rc;
}

static int open_dir(const char *path, struct talos_sdir **d)
{
    char why[TALOS_SDIR_WHY_BYTES] = "";
    int rc = talos_sdir_open(path, TALOS_SDIR_CREATE, d, why, sizeof(why));

    return rc == TALOS_OK ? rc : sdir_failed(rc, why);
}

/* Exclusive flock on d/name; *fd holds it until closed. */
static int lock_file(const struct talos_sdir *d, const char *name, int *fd)
{
    char why[TALOS_SDIR_WHY_BYTES] = "";
    int rc = talos_sdir_open_file(d, name, TALOS_SDIR_CREATE | TALOS_SDIR_RDWR, 0600, fd, why,
                                  sizeof(why));

    if (rc != TALOS_OK)
        return sdir_failed(rc, why);
    if (flock(*fd, LOCK_EX) != 0) {
        TLOG_ERR("sim: cannot lock %s/%s: %s", talos_sdir_path(d), name, strerror(errno));
        close(*fd);
        *fd = -1;
        return TALOS_ERR_IO;
    }
    return TALOS_OK;
}

/* Read a small file (flags: TALOS_SDIR_SECRET or 0). TALOS_ERR_NOT_FOUND,
 * silently, when it does not exist. */
static int read_file(const struct talos_sdir *d, const char *name, unsigned flags, uint8_t **buf,
                     size_t *len)
{
    char why[TALOS_SDIR_WHY_BYTES] = "";
    int rc = talos_sdir_read(d, name, flags, FILE_MAX, buf, len, why, sizeof(why));

    if (rc == TALOS_OK || rc == TALOS_ERR_NOT_FOUND)
        return rc;
    if (rc != TALOS_ERR_TOO_LARGE && rc != TALOS_ERR_IO)
        return sdir_failed(rc, why);
    /* Too large or changing under us: not a file this code wrote. */
    TLOG_ERR("sim: %s; remove it to create a new one", why);
    return TALOS_ERR_BACKEND;
}

/* Atomic replace (os/sdir): a crash leaves the old file or the whole new
 * one, never a torn key. */
static int write_file(const struct talos_sdir *d, const char *name, const void *p, size_t n,
                      mode_t mode)
{
    char why[TALOS_SDIR_WHY_BYTES] = "";
    int rc = talos_sdir_write(d, name, p, n, mode, why, sizeof(why));

    return rc == TALOS_OK ? rc : sdir_failed(rc, why);
}

/* Load d/name as an Ed25519 key, or create and store one if missing. */
static int load_key(const struct talos_sdir *d, const char *name, EVP_PKEY **key, int *created)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(d, name, TALOS_SDIR_SECRET, &buf, &len);

    *key = NULL;
    *created = 0;
    if (rc == TALOS_ERR_NOT_FOUND) {
        rc = talos_x509_key_new(key);
        if (rc == TALOS_OK)
            rc = talos_x509_key_to_pem(*key, &buf, &len);
        if (rc == TALOS_OK)
            rc = write_file(d, name, buf, len, 0600);
        *created = rc == TALOS_OK;
        goto out;
    }
    if (rc != TALOS_OK)
        goto out;
    if ((rc = talos_x509_key_from_pem(buf, len, key)) != TALOS_OK) {
        TLOG_ERR("sim: %s/%s is not an Ed25519 PEM key; remove it to create a new one",
                 talos_sdir_path(d), name);
        rc = TALOS_ERR_BACKEND;
    }
out:
    if (rc != TALOS_OK) {
        EVP_PKEY_free(*key);
        *key = NULL;
    }
    talos_x509_pem_free(buf, len);
    return rc;
}

/* A v3 certificate for `key` named cn, signed by issuer (NULL: a
 * self-signed CA). */
static int make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, X509 **out)
{
    const struct talos_x509_req req = {
        .cn = cn,
        .key = key,
        .issuer = issuer,
        .issuer_key = issuer_key,
        .days = VALID_DAYS,
        .kind = issuer ? TALOS_X509_LEAF : TALOS_X509_CA,
    };
    return talos_x509_issue(&req, out);
}

/* Load d/name as a certificate; NULL in *cert when missing. */
static int load_cert(const struct talos_sdir *d, const char *name, X509 **cert, uint8_t **pem,
                     size_t *len)
{
    int rc = read_file(d, name, 0, pem, len);

    *cert = NULL;
    if (rc == TALOS_ERR_NOT_FOUND)
        return TALOS_OK;
    if (rc != TALOS_OK)
        return rc;
    if (talos_x509_cert_from_pem(*pem, *len, cert) == TALOS_OK)
        return TALOS_OK;
    TLOG_ERR("sim: %s/%s is not a PEM certificate; remove it to create a new one",
             talos_sdir_path(d), name);
    free(*pem);
    *pem = NULL;
    *len = 0;
    return TALOS_ERR_BACKEND;
}

/* Store x as d/name; *pem (freed first) gets its PEM bytes. */
static int store_cert(X509 *x, const struct talos_sdir *d, const char *name, uint8_t **pem,
                      size_t *len)
{
    int rc = TALOS_OK;

    free(*pem);
    *pem = NULL;
    *len = 0;
    rc = talos_x509_cert_to_pem(x, pem, len);
    if (rc == TALOS_OK)
        rc = write_file(d, name, *pem, *len, 0644);
    return rc;
}

/* The CA, created once under CA_DIR/.lock. The CA directory is the sim
 * CA's alone: every entry in it is checked, not only those read. */
static int open_ca(const char *ca_dir, EVP_PKEY **key, X509 **cert, uint8_t **pem, size_t *len)
{
    char why[TALOS_SDIR_WHY_BYTES] = "";
    struct talos_sdir *d = NULL;
    int lock = -1, created = 0;
    int rc = open_dir(ca_dir, &d);

    if (rc == TALOS_OK && (rc = talos_sdir_check_entries(d, why, sizeof(why))) != TALOS_OK)
        rc = sdir_failed(rc, why);
    if (rc == TALOS_OK)
        rc = lock_file(d, ".lock", &lock);
    if (rc == TALOS_OK)
        rc = load_key(d, "ca.key", key, &created);
    if (rc == TALOS_OK && !created)
        rc = load_cert(d, "ca.pem", cert, pem, len);
    if (rc == TALOS_OK && !*cert) {
        rc = make_cert(*key, CA_CN, NULL, NULL, cert);
        if (rc == TALOS_OK)
            rc = store_cert(*cert, d, "ca.pem", pem, len);
        if (rc == TALOS_OK)
            TLOG_INFO("sim: created the sim CA in %s (simulation: no hardware isolation)", ca_dir);
    }
    if (rc == TALOS_OK &&
        (!X509_get0_pubkey(*cert) || EVP_PKEY_eq(X509_get0_pubkey(*cert), *key) != 1)) {
        TLOG_ERR("sim: %s/ca.pem does not match ca.key; remove both to create a new CA", ca_dir);
        rc = TALOS_ERR_BACKEND;
    }
    if (lock >= 0)
        close(lock);
    talos_sdir_close(d);
    return rc;
}

/* A platform certificate is kept when it certifies our key, was signed by
 * the current CA and has not expired. */
static int cert_is_current(X509 *pc, EVP_PKEY *key, X509 *ca)
{
    return pc && X509_get0_pubkey(pc) && X509_get0_pubkey(ca) &&
           EVP_PKEY_eq(X509_get0_pubkey(pc), key) == 1 && X509_check_issued(ca, pc) == X509_V_OK && X509_verify(pc, X509_get0_pubkey(ca)) == 1 &&
           X509_cmp_current_time(X509_get0_notAfter(pc)) > 0;
}

/* The secret is created here only; found, it is used as it is or refused,
 * never replaced: every seal key derives from it. */
static int load_secret(const struct talos_sdir *d, uint8_t secret[TALOS_SIM_SECRET_BYTES])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(d, "platform.secret", TALOS_SDIR_SECRET, &buf, &len);

    if (rc == TALOS_ERR_NOT_FOUND) {
        rc = talos_random_bytes(secret, TALOS_SIM_SECRET_BYTES);
        if (rc == TALOS_OK)
            rc = write_file(d, "platform.secret", secret, TALOS_SIM_SECRET_BYTES, 0600);
    } else if (rc == TALOS_OK && len == TALOS_SIM_SECRET_BYTES) {
        memcpy(secret, buf, TALOS_SIM_SECRET_BYTES);
    } else if (rc == TALOS_OK) {
        TLOG_ERR("sim: %s/platform.secret is not %d bytes; refusing to replace it (seal keys "
                 "derive from it)", talos_sdir_path(d), TALOS_SIM_SECRET_BYTES);
        rc = TALOS_ERR_BACKEND;
    }
    talos_sdir_free(buf, len);
    return rc;
}

int talos_sim_identity_open(const char *state_dir, const char *ca_dir,
                            struct talos_sim_identity *id)
{
    EVP_PKEY *ca_key = NULL;
    X509 *ca_cert = NULL, *pc = NULL;
    uint8_t *pc_pem = NULL, *der = NULL;
    uint8_t raw[TALOS_ED25519_PUB_BYTES] = {0};
    size_t pc_pem_len = 0, raw_len = sizeof(raw);
    char hex[65] = {0}, cn[64] = {0};
    struct talos_sdir *sd = NULL;
    int lock = -1, created = 0, der_len = 0;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!id)
        return TALOS_ERR_INVALID_ARG;
    memset(id, 0, sizeof(*id));
    if (!state_dir || !ca_dir || !*state_dir || !*ca_dir)
        goto out;
    rc = open_dir(state_dir, &sd);
    if (rc == TALOS_OK)
        rc = lock_file(sd, "platform.lock", &lock);
    if (rc == TALOS_OK)
        rc = open_ca(ca_dir, &ca_key, &ca_cert, &id->ca_pem, &id->ca_pem_len);
    /* The secret first: one refused leaves no new key behind. */
    if (rc == TALOS_OK)
        rc = load_secret(sd, id->secret);
    if (rc == TALOS_OK)
        rc = load_key(sd, "platform.key", &id->key, &created);
    if (rc == TALOS_OK && !created)
        rc = load_cert(sd, "platform.pem", &pc, &pc_pem, &pc_pem_len);
    if (rc != TALOS_OK)
        goto out;
    rc = TALOS_ERR_CRYPTO;
    if (EVP_PKEY_get_raw_public_key(id->key, raw, &raw_len) != 1 || raw_len != sizeof(raw))
        goto out;
    talos_sha256(raw, sizeof(raw), id->platform_id);
    if (!cert_is_current(pc, id->key, ca_cert)) {
        if (pc)
            TLOG_WARN("sim: %s/platform.pem was issued by another CA or expired; re-issuing it "
                      "from %s", state_dir, ca_dir);
        X509_free(pc);
        pc = NULL;
        talos_hex(id->platform_id, 8, hex);
        snprintf(cn, sizeof(cn), "talos sim platform %s", hex);
        rc = make_cert(id->key, cn, ca_cert, ca_key, &pc);
        if (rc == TALOS_OK)
            rc = store_cert(pc, sd, "platform.pem", &pc_pem, &pc_pem_len);
        if (rc != TALOS_OK)
            goto out;
    }
    rc = TALOS_ERR_CRYPTO;
    der_len = i2d_X509(pc, &der);
    if (der_len <= 0)
        goto out;
    rc = TALOS_ERR_NOMEM;
    id->cert_der = malloc((size_t)der_len);
    if (!id->cert_der)
        goto out;
    memcpy(id->cert_der, der, (size_t)der_len);
    id->cert_der_len = (size_t)der_len;
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK)
        talos_sim_identity_close(id);
    OPENSSL_free(der);
    free(pc_pem);
    X509_free(pc);
    X509_free(ca_cert);
    EVP_PKEY_free(ca_key);
    if (lock >= 0)
        close(lock);
    talos_sdir_close(sd);
    ERR_clear_error();
    return rc;
}

void talos_sim_identity_close(struct talos_sim_identity *id)
{
    if (!id)
        return;
    EVP_PKEY_free(id->key);
    free(id->cert_der);
    free(id->ca_pem);
    talos_wipe(id, sizeof(*id));
}
