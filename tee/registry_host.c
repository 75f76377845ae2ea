/* Host-side backends: one row per line of TALOS_TEE_BACKENDS (tee/tee.h),
 * the default first, and what the host API asks of a backend without
 * naming it (its options, its default trust anchors). */
#include <string.h>

#include "core/log.h"
#include "core/reason.h"
#include "tee/tee.h"

/* Each defined in tee/<name>/host/. */
#define DECLARE(name) extern const struct talos_tee_host_ops talos_tee_##name##_host;
TALOS_TEE_BACKENDS(DECLARE)
#undef DECLARE

static const struct talos_tee_host_ops *const host_backends[] = {
#define ROW(name) &talos_tee_##name##_host,
    TALOS_TEE_BACKENDS(ROW)
#undef ROW
};

#define N_BACKENDS (sizeof(host_backends) / sizeof(host_backends[0]))

const struct talos_tee_host_ops *talos_tee_host_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (strcmp(host_backends[i]->name, name) == 0)
            return host_backends[i];
    return NULL;
}

TALOS_EXPORT const char *talos_backend_name(size_t i)
{
    return i < N_BACKENDS ? host_backends[i]->name : NULL;
}

TALOS_EXPORT const char *talos_backend_default(void) { return host_backends[0]->name; }

int talos_tee_check_image(const struct talos_tee_host_ops *ops, struct talos_platform *p, int fd,
                          char *why, size_t cap)
{
    if (!ops)
        return talos_reason(TALOS_ERR_INVALID_ARG, why, cap, "no backend");
    if (!ops->check_image)
        return talos_reason(TALOS_ERR_NOT_IMPLEMENTED, why, cap,
                            "backend %s does not check images before launch", ops->name);
    return ops->check_image(p, fd, why, cap);
}

static int lists_key(const struct talos_tee_host_ops *ops, const char *key)
{
    for (const char *const *k = ops->options; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

int talos_tee_options_for(const struct talos_tee_host_ops *ops, const struct talos_backend_option *in,
                          size_t n_in, struct talos_backend_option *out, size_t *n_out)
{
    size_t name_len = 0, n = 0;

    if (!ops || (n_in && !in) || !out || !n_out)
        return TALOS_ERR_INVALID_ARG;
    *n_out = 0;
    name_len = strlen(ops->name);
    for (size_t i = 0; i < n_in; i++) {
        const char *key = in[i].key, *dot = key ? strchr(key, '.') : NULL;

        if (!dot || dot == key || !dot[1] || !in[i].value) {
            TLOG_ERR("backend option '%s': keys are BACKEND.NAME, with a value",
                     key ? key : "(null)");
            return TALOS_ERR_INVALID_ARG;
        }
        /* Another backend's option: not ours to judge. */
        if ((size_t)(dot - key) != name_len || strncmp(key, ops->name, name_len) != 0)
            continue;
        if (!lists_key(ops, dot + 1)) {
            TLOG_ERR("backend %s has no option '%s'", ops->name, dot + 1);
            return TALOS_ERR_INVALID_ARG;
        }
        if (n == TALOS_BACKEND_OPTIONS_MAX)
            return TALOS_ERR_TOO_LARGE;
        out[n].key = dot + 1;
        out[n].value = in[i].value;
        n++;
    }
    *n_out = n;
    return TALOS_OK;
}

const char *talos_tee_option(const struct talos_platform_config *cfg, const char *key)
{
    const char *value = NULL;

    for (size_t i = 0; cfg && key && i < cfg->n_options; i++)
        if (strcmp(cfg->options[i].key, key) == 0)
            value = cfg->options[i].value;
    return value;
}

TALOS_EXPORT int talos_default_anchors(const char *backend, char *path, size_t cap,
                                       const char **hint)
{
    const struct talos_tee_host_ops *ops =
        talos_tee_host_find(backend ? backend : talos_backend_default());

    if (hint)
        *hint = "";
    if (!ops || !path || !cap || !hint)
        return TALOS_ERR_INVALID_ARG;
    path[0] = '\0';
    if (!ops->default_anchors)
        return TALOS_ERR_NOT_FOUND;
    return ops->default_anchors(path, cap, hint);
}
