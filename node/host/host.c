/* Opening a backend and building the measured launch configuration. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/wire.h"
#include "node/host/host.h"

#define CONFIG_VERSION 1

/* The launch configuration is what a TA needs from outside its code: the
 * trust anchors it verifies peers against. The platform signs its hash as
 * config_id in every piece of evidence, so a host that hands a TA other
 * anchors changes the TA's identity (SGX CONFIGID, TDX MRCONFIGID). */
int talos_host_make_config(struct talos_host *h)
{
    const uint8_t *pem = NULL;
    size_t pem_len = 0;
    struct talos_wr w;
    int rc = h->ops->anchors(h->plat, &pem, &pem_len);

    if (rc != TALOS_OK)
        return rc;
    talos_wr_init(&w, 1u << 20);
    talos_wr_u32(&w, CONFIG_VERSION);
    talos_wr_str(&w, h->ops->name);
    talos_wr_bytes(&w, pem, pem_len);
    /* A simulated platform can only produce simulated TAs: their peers are
     * simulated too. */
    talos_wr_u32(&w, (h->ops->claims & TALOS_CLAIM_SIMULATED) ? TALOS_VERIFY_ALLOW_SIM : 0);
    if (w.err) {
        rc = w.err;
        talos_wr_free(&w);
        return rc;
    }
    h->config = w.p;
    h->config_len = w.len;
    talos_sha256(h->config, h->config_len, h->config_id);
    return TALOS_OK;
}

TALOS_EXPORT int talos_host_open(const struct talos_host_config *cfg, struct talos_host **out)
{
    struct talos_host *h = NULL;
    struct talos_platform_config pc = {0};
    struct talos_backend_option opts[TALOS_BACKEND_OPTIONS_MAX];
    const char *name = cfg && cfg->backend ? cfg->backend : talos_backend_default();
    int rc = TALOS_OK;

    if (!cfg || !cfg->state_dir || !out)
        return TALOS_ERR_INVALID_ARG;
    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return TALOS_ERR_NOMEM;
    if (!(h->ops = talos_tee_host_find(name))) {
        rc = TALOS_ERR_INVALID_ARG;
        goto out;
    }
    /* Only the backend reads its options; here they are only sorted out. */
    if ((rc = talos_tee_options_for(h->ops, cfg->options, cfg->n_options, opts, &pc.n_options)) !=
        TALOS_OK)
        goto out;
    pc.options = opts;
    pc.state_dir = cfg->state_dir;
    pc.ta_user = cfg->ta_user;
    if ((rc = h->ops->open(&pc, &h->plat)) != TALOS_OK)
        goto out;
    if ((rc = talos_host_make_config(h)) != TALOS_OK)
        goto out;
    *out = h;
    h = NULL;
out:
    talos_host_close(h);
    return rc;
}

TALOS_EXPORT void talos_host_close(struct talos_host *h)
{
    if (!h)
        return;
    if (h->plat)
        h->ops->close(h->plat);
    free(h->config);
    free(h);
}

TALOS_EXPORT int talos_host_check_image(struct talos_host *h, const char *path,
                                        uint8_t measurement[TALOS_MEASUREMENT_BYTES], char *why,
                                        size_t why_cap)
{
    int fd = -1, rc = TALOS_ERR_INVALID_ARG;

    if (why && why_cap)
        why[0] = '\0';
    if (!h || !path || !measurement || !why || !why_cap)
        return rc;
    /* O_NONBLOCK: a FIFO named here must not hang the caller; it is then
     * refused as not a regular file. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
        snprintf(why, why_cap, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? TALOS_ERR_NOT_FOUND : TALOS_ERR_IMAGE;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_cap, "not a regular file");
        rc = TALOS_ERR_IMAGE;
        goto out;
    }
    if ((rc = talos_tee_check_image(h->ops, h->plat, fd, why, why_cap)) != TALOS_OK)
        goto out;
    rc = h->ops->measure_image(h->plat, path, measurement);
    if (rc != TALOS_OK)
        snprintf(why, why_cap, "cannot measure: %s", talos_strerror(rc));
out:
    close(fd);
    return rc;
}

TALOS_EXPORT const char *talos_host_backend(const struct talos_host *h) { return h->ops->name; }

TALOS_EXPORT uint32_t talos_host_claims(const struct talos_host *h) { return h->ops->claims; }

TALOS_EXPORT int talos_host_anchors(const struct talos_host *h, const uint8_t **pem, size_t *len)
{
    return h->ops->anchors(h->plat, pem, len);
}
