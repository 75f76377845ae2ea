/* The host's decoders of the frames a TA sends (node/host/ta.c), as talosd
 * runs them: talos_host_await serving OCALL (with the node's own ocall
 * table, node/talosd/ocalls.c) and HOST_REQ (a stub platform) until the
 * frame it waits for comes, then talos_host_decode_reply (REPLY),
 * talos_host_decode_ready (READY) or talos_host_decode_info (INFO_RET).
 * A TA is untrusted code to the host: every frame is hostile.
 *
 * Input: u8 what (0 REPLY, 1 READY, 2 INFO_RET) ‖ the byte stream a TA
 * sends, fed through a socketpair. Checked:
 *  - a decoded REPLY has a talos_err status, at most TALOS_MAX_OUT_BYTES of
 *    output (NUL-terminated) and a NUL-terminated reason; a decoded READY a
 *    NUL-terminated name; INFO_RET a NUL-terminated state;
 *  - a refusal other than a timeout marks the TA lost (dead), never leaves
 *    it half-alive;
 *  - every answer the host wrote back is an OCALL_RET or HOST_RET frame
 *    that the TA's decoder (talos_rt_decode_host_ret) accepts or that
 *    carries a talos_err: the host never sends a malformed answer. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/msg.h"
#include "core/wire.h"
#include "node/host/host.h"
#include "node/talosd/node.h"
#include "os/xport.h"
#include "ta/rt.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

#define STREAM_MAX (64u << 10)

static int stub_quote(struct talos_platform *p, const uint8_t m[TALOS_MEASUREMENT_BYTES],
                      const uint8_t config_id[TALOS_CONFIG_ID_BYTES],
                      const uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES],
                      const uint8_t rd[TALOS_REPORT_DATA_BYTES], uint8_t *ev, size_t *len)
{
    (void)p, (void)m, (void)config_id, (void)cfg_digest;
    if (*len < TALOS_REPORT_DATA_BYTES)
        return TALOS_ERR_TOO_LARGE;
    memcpy(ev, rd, TALOS_REPORT_DATA_BYTES);
    *len = TALOS_REPORT_DATA_BYTES;
    return TALOS_OK;
}

static int stub_seal_key(struct talos_platform *p, const uint8_t m[TALOS_MEASUREMENT_BYTES],
                         enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES])
{
    (void)p, (void)m;
    if (policy != TALOS_SEAL_MEASUREMENT)
        return TALOS_ERR_INVALID_ARG;
    memset(key, 0x5e, TALOS_SEAL_KEY_BYTES);
    return TALOS_OK;
}

static const struct talos_tee_host_ops stub_ops = {
    .name = "stub", .quote = stub_quote, .seal_key = stub_seal_key};
static struct talos_host host = {.ops = &stub_ops};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    talos_log_init("fuzz_host_frames", TALOS_LOG_ERROR);
    return 0;
}

static int nul_in(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* The host's answers, read back as the TA reads them. */
static void check_answers(int fd)
{
    struct talos_xport x;
    struct talos_wr body;
    static uint8_t resp[1u << 20];

    talos_xport_init(&x, fd, TALOS_MSG_FROM_HOST);
    talos_wr_init(&body, 0);
    for (;;) {
        uint16_t type = 0;
        size_t n = 0;
        int rc = talos_xport_recv(&x, &type, &body);
        if (rc == TALOS_ERR_PEER_CLOSED)
            break;
        FUZZ_CHECK(rc == TALOS_OK);
        FUZZ_CHECK(type == TALOS_MSG_OCALL_RET || type == TALOS_MSG_HOST_RET);
        rc = talos_rt_decode_host_ret(body.p, body.len, resp, sizeof(resp), &n);
        FUZZ_CHECK(rc <= 0 && rc >= TALOS_ERR_MIN && rc != TALOS_ERR_MALFORMED &&
                   rc != TALOS_ERR_PROTOCOL);
    }
    talos_wr_free(&body);
    talos_xport_close(&x); /* closes fd */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct talos_ta *ta = NULL;
    struct talos_result res;
    char state[TALOS_STATE_NAME_MAX];
    uint16_t type = 0;
    int sv[2] = {-1, -1}, rc = TALOS_OK;
    int buf = (int)(4 * STREAM_MAX);

    if (size < 1 || size - 1 > STREAM_MAX)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1)) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    /* The TA has said all it says; the host's answers still reach it. */
    shutdown(sv[1], SHUT_WR);
    FUZZ_CHECK((ta = calloc(1, sizeof(*ta))) != NULL);
    ta->host = &host;
    ta->opt.ocalls = node_ocalls;
    ta->opt.n_ocalls = node_n_ocalls;
    talos_wr_init(&ta->rx, 0);
    talos_wr_init(&ta->tx, 0);
    talos_xport_init(&ta->x, sv[0], TALOS_MSG_FROM_TA);

    switch (data[0] % 3) {
    case 0:
        memset(&res, 0, sizeof(res));
        if ((rc = talos_host_await(ta, TALOS_MSG_REPLY)) == TALOS_OK &&
            (rc = talos_host_decode_reply(ta, &res)) == TALOS_OK) {
            FUZZ_CHECK(res.status <= 0 && res.status >= TALOS_ERR_MIN);
            FUZZ_CHECK(res.out_len <= TALOS_MAX_OUT_BYTES && res.out && res.out[res.out_len] == '\0');
            FUZZ_CHECK(nul_in(res.reason, sizeof(res.reason)));
            FUZZ_CHECK(ta->version == res.version);
        }
        talos_result_clear(&res);
        break;
    case 1:
        if ((rc = talos_xport_recv(&ta->x, &type, &ta->rx)) == TALOS_OK &&
            type == TALOS_MSG_READY && (rc = talos_host_decode_ready(ta)) == TALOS_OK)
            FUZZ_CHECK(nul_in(ta->name, sizeof(ta->name)));
        rc = TALOS_OK; /* the handshake's refusal ends create(), not the TA record */
        break;
    default:
        if ((rc = talos_host_await(ta, TALOS_MSG_INFO_RET)) == TALOS_OK &&
            (rc = talos_host_decode_info(ta, state, sizeof(state))) == TALOS_OK)
            FUZZ_CHECK(nul_in(state, sizeof(state)));
        break;
    }
    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_TIMEOUT || rc == TALOS_ERR_NOMEM || ta->dead);
    talos_xport_close(&ta->x);
    check_answers(sv[1]);
    talos_wr_free(&ta->rx);
    talos_wr_free(&ta->tx);
    free(ta);
    return 0;
}
