#include "core/migctx.h"

#include <string.h>

#include "core/wire.h"
#include "talos/err.h"

int talos_mig_threads_encode(const struct talos_mig_threads *in, struct talos_wr *w)
{
    if (!in || !w || in->n == 0 || in->n > TALOS_MIG_MAX_THREADS)
        return TALOS_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < in->n; i++)
        if (in->t[i].n_ret > TALOS_MIG_MAX_FRAMES)
            return TALOS_ERR_INVALID_ARG;
    talos_wr_u32(w, in->n);
    for (uint32_t i = 0; i < in->n; i++) {
        talos_wr_u64(w, in->t[i].resume);
        talos_wr_u32(w, in->t[i].n_ret);
        for (uint32_t j = 0; j < in->t[i].n_ret; j++)
            talos_wr_u64(w, in->t[i].ret[j]);
    }
    return w->err;
}

int talos_mig_threads_decode(const uint8_t *p, size_t len, struct talos_mig_threads *out)
{
    struct talos_rd r;

    if (!out)
        return TALOS_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (!p || len < TALOS_MIG_THREADS_MIN || len > TALOS_MIG_THREADS_MAX)
        return TALOS_ERR_MALFORMED;
    talos_rd_init(&r, p, len);
    out->n = talos_rd_u32(&r);
    if (out->n == 0 || out->n > TALOS_MIG_MAX_THREADS)
        goto bad;
    for (uint32_t i = 0; i < out->n; i++) {
        struct talos_mig_thread *t = &out->t[i];
        t->resume = talos_rd_u64(&r);
        t->n_ret = talos_rd_u32(&r);
        if (t->n_ret > TALOS_MIG_MAX_FRAMES)
            goto bad;
        for (uint32_t j = 0; j < t->n_ret; j++)
            t->ret[j] = talos_rd_u64(&r);
    }
    if (talos_rd_finish(&r) == TALOS_OK)
        return TALOS_OK;
bad:
    memset(out, 0, sizeof(*out));
    return TALOS_ERR_MALFORMED;
}
