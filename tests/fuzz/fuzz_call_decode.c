/* The TA side of a CALL frame (ta/dispatch.c): talos_rt_decode_call, then the
 * whole of talos_rt_handle_call (decode, ecall lookup, shape check, handler,
 * REPLY) against a small ecall table, with the REPLY read back from a
 * socketpair standing for the host.
 *
 * Input: one CALL body (str ecall ‖ u32 argc ‖ argc × bytes). Checked:
 *  - a decoded CALL has a NUL-terminated name without an inner NUL, at most
 *    TALOS_MAX_ARGS arguments, each a NUL-terminated private copy inside
 *    the argument block, and re-encodes to exactly the input;
 *  - a handler only ever sees arguments within its declared shape;
 *  - exactly one well-formed REPLY comes back; its status is a talos_err,
 *    the decoder's when decoding failed; the version moves by one on
 *    success only; output is sent only on success;
 *  - the same CALL to an instance that is not ACTIVE runs nothing and is
 *    refused with MOVED (HANDED_OFF, RETIRED) or STATE (I1). */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/msg.h"
#include "core/wire.h"
#include "os/xport.h"
#include "ta/rt.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

/* ta/entry.c owns these in a TA image (with main()); the harness stands in. */
struct talos_rt talos_rt;
const char *talos_rt_moved_to(void) { return ""; }
/* ta/cert.c's execution record: not under test here. */
void talos_rt_exec_note(uint64_t version, uint32_t ecall);
void talos_rt_exec_note(uint64_t version, uint32_t ecall)
{
    (void)version;
    (void)ecall;
}
const char *talos_rt_state_name(enum talos_rt_state s)
{
    return s == RT_ACTIVE ? "ACTIVE" : "?";
}
/* ta/unmovable.c's baseline of what the TA holds (D46): not under test here. */
int talos_rt_ta_code_ran = 1;
void talos_rt_ta_code_first(void) {}

static int host_fd = -1;
static int handler_ran;

static void check_args(int argc, const struct talos_arg *argv, int min, int max, uint32_t max_len)
{
    FUZZ_CHECK(argc >= min && argc <= max);
    for (int i = 0; i < argc; i++)
        FUZZ_CHECK(argv[i].len <= max_len && argv[i].ptr && argv[i].ptr[argv[i].len] == '\0');
    handler_ran = 1;
}

static int ec_echo(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    check_args(argc, argv, 0, TALOS_MAX_ARGS, TALOS_MAX_ARG_BYTES);
    for (int i = 0; i < argc; i++)
        if (talos_out_write(out, argv[i].ptr, argv[i].len) != TALOS_OK)
            return TALOS_ERR_TOO_LARGE;
    return TALOS_OK;
}

static int ec_put(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    check_args(argc, argv, 2, 2, 64);
    return talos_out_printf(out, "%s=%s", argv[0].ptr, argv[1].ptr);
}

static int ec_get(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    check_args(argc, argv, 1, 1, 16);
    talos_out_reason(out, "no key '%s'\n", argv[0].ptr);
    return TALOS_ERR_NOT_FOUND;
}

static int ec_bad(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    check_args(argc, argv, 0, 3, 8);
    return argc == 0 ? 7 : argc == 1 ? -1000 : TALOS_OK;
}

static const struct talos_ecall table[] = {
    {"echo", ec_echo, 0, TALOS_MAX_ARGS, TALOS_MAX_ARG_BYTES, "ARG..."},
    {"put", ec_put, 2, 2, 64, "KEY VALUE"},
    {"get", ec_get, 1, 1, 16, "KEY"},
    {"bad", ec_bad, 0, 3, 8, NULL},
};

static const struct talos_ta_desc desc = {
    .name = "fuzz", .ecalls = table, .n_ecalls = sizeof(table) / sizeof(table[0])};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int sv[2] = {-1, -1};

    FUZZ_CHECK(talos_rt_check_table(&desc) == TALOS_OK);
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    host_fd = sv[0];
    FUZZ_CHECK(fcntl(host_fd, F_SETFL, O_NONBLOCK) == 0);
    talos_xport_init(&talos_rt.x, sv[1], TALOS_MSG_FROM_HOST);
    talos_wr_init(&talos_rt.tx, 0);
    talos_rt.desc = &desc;
    talos_rt.state = RT_ACTIVE;
    return 0;
}

/* Decode alone; returns its status. */
static int check_decode(const uint8_t *data, size_t size)
{
    struct talos_rd r;
    struct talos_rt_call a;
    char name[TALOS_NAME_MAX];
    struct talos_wr w;
    int rc;

    memset(&a, 0, sizeof(a));
    memset(name, 0x5a, sizeof(name));
    talos_rd_init(&r, data, size);
    rc = talos_rt_decode_call(&r, name, &a, NULL);
    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_BAD_ARGS ||
               rc == TALOS_ERR_NOMEM);
    if (rc != TALOS_OK) {
        FUZZ_CHECK(a.block == NULL);
        return rc;
    }
    FUZZ_CHECK(memchr(name, '\0', sizeof(name)) != NULL);
    FUZZ_CHECK(a.argc >= 0 && a.argc <= TALOS_MAX_ARGS && a.block && a.block_len >= 1);
    talos_wr_init(&w, 0);
    talos_wr_str(&w, name);
    talos_wr_u32(&w, (uint32_t)a.argc);
    for (int i = 0; i < a.argc; i++) {
        const struct talos_arg *g = &a.argv[i];
        FUZZ_CHECK(g->len <= TALOS_MAX_ARG_BYTES);
        FUZZ_CHECK(g->ptr >= a.block && g->ptr + g->len < a.block + a.block_len);
        FUZZ_CHECK(g->ptr[g->len] == '\0');
        talos_wr_bytes(&w, g->ptr, g->len);
    }
    FUZZ_CHECK(!w.err && w.len == size && memcmp(w.p, data, size) == 0);
    talos_wr_free(&w);
    free(a.block);
    return rc;
}

/* Read the one REPLY the TA sent; returns its status. */
static int32_t read_reply(uint64_t *version, size_t *out_len)
{
    static uint8_t buf[TALOS_MAX_OUT_BYTES + 8192];
    size_t n = 0;
    ssize_t k;
    struct talos_rd r;
    size_t reason_len = 0;

    while (n < sizeof(buf) && (k = read(host_fd, buf + n, sizeof(buf) - n)) > 0)
        n += (size_t)k;
    FUZZ_CHECK(n >= TALOS_MSG_HDR);
    FUZZ_CHECK(talos_msg_check((uint16_t)(buf[4] << 8 | buf[5]), TALOS_MSG_FROM_TA,
                               fuzz_be32(buf)) == TALOS_OK);
    FUZZ_CHECK((buf[4] << 8 | buf[5]) == TALOS_MSG_REPLY && !buf[6] && !buf[7]);
    FUZZ_CHECK(fuzz_be32(buf) == n - TALOS_MSG_HDR);
    talos_rd_init(&r, buf + TALOS_MSG_HDR, n - TALOS_MSG_HDR);
    int32_t status = (int32_t)talos_rd_u32(&r);
    *version = talos_rd_u64(&r);
    (void)talos_rd_bytes(&r, out_len, TALOS_MAX_OUT_BYTES);
    const uint8_t *reason = talos_rd_bytes(&r, &reason_len, 255);
    FUZZ_CHECK(talos_rd_finish(&r) == TALOS_OK);
    FUZZ_CHECK(!memchr(reason, '\n', reason_len) && !memchr(reason, '\r', reason_len));
    FUZZ_CHECK(status == TALOS_OK || *out_len == 0);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t before = talos_rt.version, version = 0;
    size_t out_len = 0;
    int drc = check_decode(data, size);
    int32_t status;

    handler_ran = 0;
    FUZZ_CHECK(talos_rt_handle_call(data, size) == TALOS_OK);
    status = read_reply(&version, &out_len);
    FUZZ_CHECK(status <= 0 && status >= TALOS_ERR_MIN);
    if (drc != TALOS_OK)
        FUZZ_CHECK(status == drc && !handler_ran);
    if (status == TALOS_OK)
        FUZZ_CHECK(handler_ran && version == before + 1);
    else /* an output overflow is reported after the commit */
        FUZZ_CHECK(version == talos_rt.version &&
                   (version == before || status == TALOS_ERR_TOO_LARGE));

    /* I1 inside the TA: an instance that is not ACTIVE serves nothing,
     * whatever the CALL says. */
    static const enum talos_rt_state idle[] = {RT_EMPTY,      RT_IMPORTING, RT_PREPARED, RT_FROZEN,
                                               RT_HANDED_OFF, RT_RETIRED,   RT_FAILED};
    enum talos_rt_state st = idle[size % (sizeof(idle) / sizeof(idle[0]))];
    before = talos_rt.version;
    handler_ran = 0;
    talos_rt.state = st;
    FUZZ_CHECK(talos_rt_handle_call(data, size) == TALOS_OK);
    talos_rt.state = RT_ACTIVE;
    status = read_reply(&version, &out_len);
    FUZZ_CHECK(!handler_ran && version == before && talos_rt.version == before);
    FUZZ_CHECK(status ==
               ((st == RT_HANDED_OFF || st == RT_RETIRED) ? TALOS_ERR_MOVED : TALOS_ERR_STATE));
    return 0;
}
