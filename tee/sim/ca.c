/* The sim CA and platform identity files (layout and rules in ca.h). */
#include "tee/sim/ca.h"

#include <errno.h>
#include <fcntl.h>
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
#include "talos/talos.h"

#define FILE_MAX (64u << 10)
#define CA_CN "TALOS sim CA (simulation: no hardware isolation)"
#define VALID_DAYS 3650

TALOS_EXPORT const char *talos_sim_ca_default(void)
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

static int path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n > 0 && n < PATH_MAX ? TALOS_OK : TALOS_ERR_INVALID_ARG;
}

static int mkdir_p(const char *dir)
{
    char p[PATH_MAX] = {0};
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p))
        return TALOS_ERR_INVALID_ARG;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            TLOG_ERR("sim: cannot create directory %s: %s", p, strerror(errno));
            return TALOS_ERR_IO;
        }
        p[i] = i < n ? '/' : '\0';
    }
    return TALOS_OK;
}

/* Exclusive flock on dir/name; *fd holds it until closed. */
static int lock_file(const char *dir, const char *name, int *fd)
{
    char p[PATH_MAX] = {0};
    int rc = path_join(p, dir, name);

    if (rc != TALOS_OK)
        return rc;
    *fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0 || flock(*fd, LOCK_EX) != 0) {
        TLOG_ERR("sim: cannot lock %s: %s", p, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return TALOS_ERR_IO;
    }
    return TALOS_OK;
}

/* Read a small file. TALOS_ERR_NOT_FOUND when it does not exist. */
static int read_file(const char *dir, const char *name, uint8_t **buf, size_t *len)
{
    char p[PATH_MAX] = {0};
    struct stat st = {0};
    ssize_t got = 0;
    int fd = -1;
    int rc = path_join(p, dir, name);

    *buf = NULL;
    *len = 0;
    if (rc != TALOS_OK)
        return rc;
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? TALOS_ERR_NOT_FOUND : TALOS_ERR_IO;
        goto out;
    }
    rc = TALOS_ERR_BACKEND;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX)
        goto out;
    /* One byte more than expected detects a file that grew meanwhile. */
    *buf = malloc((size_t)st.st_size + 1);
    if (!*buf) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    got = read(fd, *buf, (size_t)st.st_size + 1);
    if (got != st.st_size)
        goto out;
    *len = (size_t)got;
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK && rc != TALOS_ERR_NOT_FOUND)
        TLOG_ERR("sim: cannot read %s (%s); remove it to create a new one", p,
                 talos_strerror(rc));
    if (rc != TALOS_OK && *buf) {
        talos_wipe(*buf, (size_t)st.st_size + 1);
        free(*buf);
        *buf = NULL;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static void free_file(uint8_t *buf, size_t len)
{
    talos_wipe(buf, len);
    free(buf);
}

/* Write via a temporary file and rename, so a crash leaves the old file or
 * the whole new one, never a torn key. */
static int write_file(const char *dir, const char *name, const void *p, size_t n, mode_t mode)
{
    char tmp[PATH_MAX] = {0}, dst[PATH_MAX] = {0};
    int fd = -1;
    int rc = path_join(dst, dir, name);

    if (rc != TALOS_OK || snprintf(tmp, sizeof(tmp), "%s.XXXXXX", dst) >= (int)sizeof(tmp))
        return TALOS_ERR_INVALID_ARG;
    fd = mkostemp(tmp, O_CLOEXEC);
    rc = TALOS_ERR_IO;
    if (fd < 0)
        goto out;
    if (fchmod(fd, mode) != 0 || write(fd, p, n) != (ssize_t)n || fsync(fd) != 0 ||
        rename(tmp, dst) != 0) {
        unlink(tmp);
        goto out;
    }
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK)
        TLOG_ERR("sim: cannot write %s: %s", dst, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Load dir/name as an Ed25519 key, or create and store one if missing. */
static int load_key(const char *dir, const char *name, EVP_PKEY **key, int *created)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(dir, name, &buf, &len);

    *key = NULL;
    *created = 0;
    if (rc == TALOS_ERR_NOT_FOUND) {
        rc = talos_x509_key_new(key);
        if (rc == TALOS_OK)
            rc = talos_x509_key_to_pem(*key, &buf, &len);
        if (rc == TALOS_OK)
            rc = write_file(dir, name, buf, len, 0600);
        *created = rc == TALOS_OK;
        goto out;
    }
    if (rc != TALOS_OK)
        goto out;
    if ((rc = talos_x509_key_from_pem(buf, len, key)) != TALOS_OK) {
        TLOG_ERR("sim: %s/%s is not an Ed25519 PEM key; remove it to create a new one", dir, name);
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

/* Load dir/name as a certificate; NULL in *cert when missing. */
static int load_cert(const char *dir, const char *name, X509 **cert, uint8_t **pem, size_t *len)
{
    int rc = read_file(dir, name, pem, len);

    *cert = NULL;
    if (rc == TALOS_ERR_NOT_FOUND)
        return TALOS_OK;
    if (rc != TALOS_OK)
        return rc;
    if (talos_x509_cert_from_pem(*pem, *len, cert) == TALOS_OK)
        return TALOS_OK;
    TLOG_ERR("sim: %s/%s is not a PEM certificate; remove it to create a new one", dir, name);
    free(*pem);
    *pem = NULL;
    *len = 0;
    return TALOS_ERR_BACKEND;
}

/* Store x as dir/name; *pem (freed first) gets its PEM bytes. */
static int store_cert(X509 *x, const char *dir, const char *name, uint8_t **pem, size_t *len)
{
    int rc = TALOS_OK;

    free(*pem);
    *pem = NULL;
    *len = 0;
    rc = talos_x509_cert_to_pem(x, pem, len);
    if (rc == TALOS_OK)
        rc = write_file(dir, name, *pem, *len, 0644);
    return rc;
}

/* The CA, created once under CA_DIR/.lock. */
static int open_ca(const char *ca_dir, EVP_PKEY **key, X509 **cert, uint8_t **pem, size_t *len)
{
    int lock = -1, created = 0;
    int rc = mkdir_p(ca_dir);

    if (rc == TALOS_OK)
        rc = lock_file(ca_dir, ".lock", &lock);
    if (rc == TALOS_OK)
        rc = load_key(ca_dir, "ca.key", key, &created);
    if (rc == TALOS_OK && !created)
        rc = load_cert(ca_dir, "ca.pem", cert, pem, len);
    if (rc == TALOS_OK && !*cert) {
        rc = make_cert(*key, CA_CN, NULL, NULL, cert);
        if (rc == TALOS_OK)
            rc = store_cert(*cert, ca_dir, "ca.pem", pem, len);
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

static int load_secret(const char *dir, uint8_t secret[TALOS_SIM_SECRET_BYTES])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(dir, "platform.secret", &buf, &len);

    if (rc == TALOS_ERR_NOT_FOUND) {
        rc = talos_random_bytes(secret, TALOS_SIM_SECRET_BYTES);
        if (rc == TALOS_OK)
            rc = write_file(dir, "platform.secret", secret, TALOS_SIM_SECRET_BYTES, 0600);
    } else if (rc == TALOS_OK && len == TALOS_SIM_SECRET_BYTES) {
        memcpy(secret, buf, TALOS_SIM_SECRET_BYTES);
    } else if (rc == TALOS_OK) {
        TLOG_ERR("sim: %s/platform.secret is not %d bytes; refusing to replace it (seal keys "
                 "derive from it)", dir, TALOS_SIM_SECRET_BYTES);
        rc = TALOS_ERR_BACKEND;
    }
    if (buf)
        free_file(buf, len);
    return rc;
}

int talos_sim_identity_open(const char *state_dir, const char *ca_dir,
                            struct talos_sim_identity *id)
{
    EVP_PKEY *ca_key = NULL;
    X509 *ca_cert = NULL, *pc = NULL;
    uint8_t *pc_pem = NULL, *der = NULL;
    uint8_t raw[32] = {0};
    size_t pc_pem_len = 0, raw_len = sizeof(raw);
    char hex[65] = {0}, cn[64] = {0};
    int lock = -1, created = 0, der_len = 0;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!id)
        return TALOS_ERR_INVALID_ARG;
    memset(id, 0, sizeof(*id));
    if (!state_dir || !ca_dir || !*state_dir || !*ca_dir)
        goto out;
    rc = lock_file(state_dir, "platform.lock", &lock);
    if (rc == TALOS_OK)
        rc = open_ca(ca_dir, &ca_key, &ca_cert, &id->ca_pem, &id->ca_pem_len);
    if (rc == TALOS_OK)
        rc = load_key(state_dir, "platform.key", &id->key, &created);
    if (rc == TALOS_OK)
        rc = load_secret(state_dir, id->secret);
    if (rc == TALOS_OK && !created)
        rc = load_cert(state_dir, "platform.pem", &pc, &pc_pem, &pc_pem_len);
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
            rc = store_cert(pc, state_dir, "platform.pem", &pc_pem, &pc_pem_len);
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
