/* The ocalls a node offers its TAs. Their answers are, to the TA, hostile
 * input from an untrusted host: a TA must treat them as such. */
#include <string.h>
#include <time.h>

#include "core/wire.h"
#include "node/talosd/node.h"

/* "time": u64 big-endian wall-clock nanoseconds (the host may lie). */
static int ocall_time(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                      size_t resp_cap, size_t *resp_len)
{
    struct timespec ts;
    uint64_t ns = 0;

    (void)ctx, (void)req, (void)req_len;
    if (resp_cap < 8)
        return TALOS_ERR_TOO_LARGE;
    clock_gettime(CLOCK_REALTIME, &ts);
    ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    talos_be32_put(resp, (uint32_t)(ns >> 32));
    talos_be32_put(resp + 4, (uint32_t)ns);
    *resp_len = 8;
    return TALOS_OK;
}

/* "echo": returns the request (tests and benchmarks of the ocall path). */
static int ocall_echo(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                      size_t resp_cap, size_t *resp_len)
{
    (void)ctx;
    if (req_len > resp_cap)
        return TALOS_ERR_TOO_LARGE;
    memcpy(resp, req, req_len);
    *resp_len = req_len;
    return TALOS_OK;
}

const struct talos_ocall node_ocalls[] = {
    {"time", ocall_time, NULL},
    {"echo", ocall_echo, NULL},
};
const size_t node_n_ocalls = sizeof(node_ocalls) / sizeof(node_ocalls[0]);
