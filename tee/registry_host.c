/* Host-side backends: one row per line of TALOS_TEE_BACKENDS (tee/tee.h),
 * the default first. */
#include <string.h>

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
