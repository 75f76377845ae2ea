/* The TA's one decoder of the host's answers to its requests (OCALL_RET,
 * HOST_RET: i32 status ‖ bytes resp). The body is the private copy
 * os/xport.c made of the frame, so nothing here can change under us; every
 * field is still the host's word and is checked before it is used. */
#include <string.h>

#include "core/wire.h"
#include "ta/rt.h"

int talos_rt_decode_host_ret(const uint8_t *body, size_t len, uint8_t *resp, size_t resp_cap,
                             size_t *resp_len)
{
    struct talos_rd r;
    const uint8_t *p = NULL;
    size_t n = 0;
    int32_t status = 0;
    int rc = TALOS_OK;

    *resp_len = 0;
    talos_rd_init(&r, body, len);
    status = (int32_t)talos_rd_u32(&r);
    p = talos_rd_bytes(&r, &n, len);
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        return rc;
    /* The host may refuse with any talos_err, never with anything else. */
    if (status > 0 || status < TALOS_ERR_MIN)
        return TALOS_ERR_PROTOCOL;
    if (status != TALOS_OK)
        return status;
    /* A returned length never exceeds the requested one (STYLE.md). */
    if (n > resp_cap)
        return TALOS_ERR_TOO_LARGE;
    if (n)
        memcpy(resp, p, n);
    *resp_len = n;
    return TALOS_OK;
}
