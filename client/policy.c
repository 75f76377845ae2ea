/* A client's policy (include/talos/client.h): which TA instances it talks
 * to. Sets are small (a few measurements), kept as arrays. */
#include "client/policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/crypto.h"

int talos_policy_new(struct talos_policy **out)
{
    if (!out)
        return TALOS_ERR_INVALID_ARG;
    *out = calloc(1, sizeof(**out));
    return *out ? TALOS_OK : TALOS_ERR_NOMEM;
}

/* Append v (n bytes) to the set *set of *count entries, once. */
static int set_add(uint8_t **set, size_t *count, const uint8_t *v, size_t n)
{
    uint8_t *grown = NULL;

    for (size_t i = 0; i < *count; i++)
        if (memcmp(*set + i * n, v, n) == 0)
            return TALOS_OK;
    if (*count >= TALOS_POLICY_SET_MAX)
        return TALOS_ERR_TOO_LARGE;
    if (!(grown = realloc(*set, (*count + 1) * n)))
        return TALOS_ERR_NOMEM;
    memcpy(grown + *count * n, v, n);
    *set = grown;
    (*count)++;
    return TALOS_OK;
}

int talos_policy_allow_measurement(struct talos_policy *p, const uint8_t m[TALOS_MEASUREMENT_BYTES])
{
    if (!p || !m)
        return TALOS_ERR_INVALID_ARG;
    return set_add((uint8_t **)&p->meas, &p->n_meas, m, TALOS_MEASUREMENT_BYTES);
}

int talos_policy_allow_cfg_digest(struct talos_policy *p, const uint8_t d[TALOS_CFG_DIGEST_BYTES])
{
    if (!p || !d)
        return TALOS_ERR_INVALID_ARG;
    return set_add((uint8_t **)&p->cfg, &p->n_cfg, d, TALOS_CFG_DIGEST_BYTES);
}

void talos_policy_set_flags(struct talos_policy *p, unsigned verify_flags)
{
    if (p)
        p->flags = verify_flags & (TALOS_VERIFY_ALLOW_SIM | TALOS_VERIFY_ALLOW_DEBUG);
}

unsigned talos_policy_flags(const struct talos_policy *p)
{
    return p ? p->flags : 0;
}

int talos_policy_set_anchors(struct talos_policy *p, const uint8_t *pem, size_t len)
{
    uint8_t *copy = NULL;

    if (!p || !pem || len == 0)
        return TALOS_ERR_INVALID_ARG;
    if (len > TALOS_POLICY_ANCHORS_MAX)
        return TALOS_ERR_TOO_LARGE;
    /* One NUL after the PEM: PEM readers may treat it as a C string. */
    if (!(copy = malloc(len + 1)))
        return TALOS_ERR_NOMEM;
    memcpy(copy, pem, len);
    copy[len] = '\0';
    free(p->anchors);
    p->anchors = copy;
    p->anchors_len = len;
    return TALOS_OK;
}

void talos_policy_free(struct talos_policy *p)
{
    if (!p)
        return;
    free(p->meas);
    free(p->cfg);
    free(p->anchors);
    talos_wipe(p, sizeof(*p));
    free(p);
}

static void *dup_bytes(const void *src, size_t n, int *bad)
{
    void *d = NULL;
    if (!src || n == 0)
        return NULL;
    if (!(d = malloc(n)))
        *bad = 1;
    else
        memcpy(d, src, n);
    return d;
}

int talos_policy_dup(const struct talos_policy *p, struct talos_policy **out)
{
    struct talos_policy *c = calloc(1, sizeof(*c));
    int bad = !c;

    *out = NULL;
    if (bad)
        return TALOS_ERR_NOMEM;
    c->flags = p->flags;
    c->n_meas = p->n_meas;
    c->meas = dup_bytes(p->meas, p->n_meas * TALOS_MEASUREMENT_BYTES, &bad);
    c->n_cfg = p->n_cfg;
    c->cfg = dup_bytes(p->cfg, p->n_cfg * TALOS_CFG_DIGEST_BYTES, &bad);
    c->anchors_len = p->anchors_len;
    c->anchors = dup_bytes(p->anchors, p->anchors ? p->anchors_len + 1 : 0, &bad);
    if (bad) {
        talos_policy_free(c);
        return TALOS_ERR_NOMEM;
    }
    *out = c;
    return TALOS_OK;
}

int talos_policy_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, char *why,
                           size_t cap)
{
    FILE *f = fopen(path, "rbe");
    uint8_t *b = NULL;
    struct stat st;
    size_t n = 0;
    int rc = TALOS_ERR_IO;

    *buf = NULL;
    *len = 0;
    if (!f) {
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        return TALOS_ERR_IO;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "%s: not a regular file", path);
        goto out;
    }
    if (!(b = malloc(max + 2))) {
        rc = TALOS_ERR_NOMEM;
        snprintf(why, cap, "out of memory reading %s", path);
        goto out;
    }
    n = fread(b, 1, max + 1, f);
    if (ferror(f)) {
        snprintf(why, cap, "cannot read %s: read error", path);
        goto out;
    }
    if (n > max) {
        rc = TALOS_ERR_TOO_LARGE;
        snprintf(why, cap, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
    rc = TALOS_OK;
out:
    free(b);
    fclose(f);
    return rc;
}

/* talos_default_anchors lives with the backends' host sides
 * (tee/registry_host.c), which a relying party's program need not link
 * (pkg-config talos-client does not: they pull in the whole platform).
 * Referenced weakly: a program that links them (the talos CLI) gets the
 * default; any other must name its anchors. */
#pragma weak talos_default_anchors

int talos_policy_resolve(struct talos_policy *p, char *why, size_t cap)
{
    char path[PATH_MAX] = "";
    const char *hint = "";
    uint8_t *pem = NULL;
    size_t len = 0;
    int rc = TALOS_OK;

    if (p->anchors)
        return TALOS_OK;
    if (!talos_default_anchors) {
        snprintf(why, cap, "no trust anchors: the policy must name them (talos_policy_set_anchors "
                           "or \"anchors\" in its file)");
        return TALOS_ERR_INVALID_ARG;
    }
    if (talos_default_anchors(NULL, path, sizeof(path), &hint) != TALOS_OK) {
        snprintf(why, cap, "no trust anchors in the policy and no default%s%s",
                 *hint ? ": " : "", hint ? hint : "");
        return TALOS_ERR_INVALID_ARG;
    }
    rc = talos_policy_read_file(path, TALOS_POLICY_ANCHORS_MAX, &pem, &len, why, cap);
    if (rc == TALOS_OK && len == 0) {
        snprintf(why, cap, "trust anchors %s: empty file", path);
        rc = TALOS_ERR_MALFORMED;
    }
    if (rc == TALOS_OK) {
        p->anchors = pem; /* NUL-terminated by talos_policy_read_file */
        p->anchors_len = len;
        pem = NULL;
    }
    free(pem);
    return rc;
}
