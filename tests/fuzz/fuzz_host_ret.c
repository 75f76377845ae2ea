/* The TA's decoder of the host's answers (ta/hostret.c
 * talos_rt_decode_host_ret): OCALL_RET and HOST_RET bodies, i32 status ‖
 * bytes resp, which talos_call_host and the backend's platform requests
 * decode after os/xport.c copied the frame once (SECURITY.md T25).
 *
 * Input: u16 capacity (big-endian, at most 4096) ‖ one answer body.
 * Checked:
 *  - TALOS_OK: the answer is at most the capacity, the body is exactly
 *    u32 0 ‖ u32 n ‖ the n bytes returned (so it re-encodes to the input),
 *    and nothing past n was written;
 *  - a refusal: nothing at all was written, *resp_len is 0, and the code is
 *    MALFORMED (does not decode), PROTOCOL (status not a talos_err),
 *    TOO_LARGE (longer than the capacity) or the host's own status, which
 *    then lies in [TALOS_ERR_MIN, -1]. */
#include <string.h>

#include "core/wire.h"
#include "ta/rt.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

#define CAP_MAX 4096
#define GUARD 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t resp[CAP_MAX + GUARD];
    size_t cap = 0, n = 99999, from = 0;
    int rc = TALOS_OK;

    if (size < 2)
        return 0;
    cap = (size_t)(data[0] << 8 | data[1]) % (CAP_MAX + 1);
    data += 2;
    size -= 2;
    memset(resp, 0xa5, sizeof(resp));
    rc = talos_rt_decode_host_ret(data, size, resp, cap, &n);
    if (rc == TALOS_OK) {
        FUZZ_CHECK(n <= cap && size == 8 + n);
        FUZZ_CHECK(fuzz_be32(data) == 0 && fuzz_be32(data + 4) == n);
        FUZZ_CHECK(n == 0 || memcmp(resp, data + 8, n) == 0);
        from = n;
    } else {
        int32_t status = size >= 4 ? (int32_t)fuzz_be32(data) : 0;
        FUZZ_CHECK(n == 0);
        FUZZ_CHECK(rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_PROTOCOL ||
                   rc == TALOS_ERR_TOO_LARGE || (rc == status && rc < 0 && rc >= TALOS_ERR_MIN));
    }
    for (size_t i = from; i < sizeof(resp); i++)
        FUZZ_CHECK(resp[i] == 0xa5);
    return 0;
}
