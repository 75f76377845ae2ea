/* The host frame table of the TA runtime (ta/frames.c), for every frame
 * type and every lifecycle state: a frame reaches its handler exactly in
 * the states its row names; out of them it is refused before the handler
 * with the answer the handler gave there before the table (STATE, MOVED for
 * a moved lineage's certificate, a migration report where the host decodes
 * one), and a descriptor that came with it is closed; a malformed token
 * frame is MALFORMED in any state; a type without a row is dropped. The
 * file is included so that the table's static handlers run unchanged; what
 * they call is stubbed and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ta/frames.c"

/* --- stubs ---------------------------------------------------------------- */
static int handled;     /* the handler (or what it calls) ran */
static int replied;     /* a REPLY went out */
static int last_status; /* its status */
static size_t last_out; /* its output length */
static uint8_t last_bytes[1024];
static char last_reason[256];
static int fd_taken;

const char *talos_rt_state_name(enum talos_rt_state s)
{
    return talos_life_state_name((enum talos_life_state)s);
}
uint64_t talos_rt_state_bytes(void) { return 0; }
int talos_rt_reply(int status, const void *out, size_t out_len, const char *reason)
{
    replied++;
    last_status = status;
    last_out = out ? out_len : 0;
    if (last_out && last_out <= sizeof(last_bytes))
        memcpy(last_bytes, out, last_out);
    snprintf(last_reason, sizeof(last_reason), "%s", reason ? reason : "");
    return TALOS_OK;
}
int talos_xport_send(struct talos_xport *x, uint16_t type, const void *body, size_t len)
{
    (void)x, (void)type, (void)body, (void)len;
    handled++;
    return TALOS_OK;
}
int talos_xport_take_fd(struct talos_xport *x, int *fd)
{
    (void)x;
    fd_taken++;
    *fd = -1; /* close(-1) is harmless */
    return TALOS_OK;
}
int talos_rt_handle_call(const uint8_t *body, size_t len)
{
    (void)body, (void)len;
    return handled++, TALOS_OK;
}
int talos_rt_handle_session(const uint8_t *body, size_t len)
{
    (void)body, (void)len;
    return handled++, TALOS_OK;
}
int talos_rt_state_cert(void) { return handled++, TALOS_OK; }
int talos_rt_mig_start(const uint8_t *body, size_t len)
{
    (void)body, (void)len;
    return handled++, TALOS_OK;
}
int talos_rt_migrate_in(int fd, const uint8_t expected_lineage[TALOS_LINEAGE_BYTES],
                        uint64_t prefault_grant)
{
    (void)fd, (void)expected_lineage, (void)prefault_grant;
    return handled++, TALOS_OK;
}
void talos_rt_cert_adopt(void) {}
void talos_rt_restore_commit(void) {}
int talos_rt_resume(const uint8_t *tok, size_t len, char *why, size_t why_cap)
{
    (void)tok, (void)len, (void)why, (void)why_cap;
    return handled++, TALOS_OK;
}
int talos_rt_receipt(const uint8_t *tok, size_t len, char *why, size_t why_cap)
{
    (void)tok, (void)len, (void)why, (void)why_cap;
    return handled++, TALOS_OK;
}
int talos_rt_handoff(const uint8_t *tok, size_t len)
{
    (void)tok, (void)len;
    return handled++, TALOS_OK;
}
int talos_rt_prefault(uint64_t bytes)
{
    (void)bytes;
    return handled++, TALOS_OK;
}
int talos_rt_give_up(int32_t code)
{
    (void)code;
    return handled++, TALOS_OK;
}
int talos_migration_point(void) { return TALOS_OK; }
static int evidence(const uint8_t rd[TALOS_REPORT_DATA_BYTES], uint8_t *ev, size_t *len)
{
    (void)rd, (void)ev;
    *len = 0;
    return handled++, TALOS_ERR_NOT_IMPLEMENTED;
}
struct talos_rt talos_rt;
const struct talos_tee_ops talos_tee_enclave = {.name = "stub", .evidence = evidence};

/* --- the matrix ------------------------------------------------------------- */
static const struct {
    uint16_t type;
    unsigned states; /* where the handler runs */
    int status;      /* the refusal elsewhere (MOVED: for HANDED_OFF and RETIRED) */
    int report;      /* the refusal carries a migration report */
    int fd;
} want[] = {
    {TALOS_MSG_CALL, TALOS_LIFE_ANY, 0, 0, 0},
    {TALOS_MSG_SESSION, TALOS_LIFE_ANY, 0, 0, 0}, /* answers by state itself (ta/session.c) */
    {TALOS_MSG_ATTEST, TALOS_LIFE_ANY, 0, 0, 0},
    {TALOS_MSG_INFO, TALOS_LIFE_ANY, 0, 0, 0},
    {TALOS_MSG_STATE_CERT, TALOS_LIFE_BIT(TALOS_LIFE_ACTIVE), TALOS_ERR_MOVED, 0, 0},
    {TALOS_MSG_MIGRATE_OUT, TALOS_LIFE_ANY, 0, 0, 1},
    {TALOS_MSG_MIGRATE_IN, TALOS_LIFE_BIT(TALOS_LIFE_EMPTY), TALOS_ERR_STATE, 1, 1},
    {TALOS_MSG_RESUME, TALOS_LIFE_BIT(TALOS_LIFE_HANDED_OFF), TALOS_ERR_STATE, 0, 0},
    {TALOS_MSG_RECEIPT, TALOS_LIFE_BIT(TALOS_LIFE_HANDED_OFF), TALOS_ERR_STATE, 0, 0},
    {TALOS_MSG_HANDOFF, TALOS_LIFE_BIT(TALOS_LIFE_PREPARED), TALOS_ERR_STATE, 1, 0},
    {TALOS_MSG_PREFAULT, TALOS_LIFE_BIT(TALOS_LIFE_EMPTY), TALOS_ERR_STATE, 0, 0},
    {TALOS_MSG_GIVE_UP, TALOS_LIFE_BIT(TALOS_LIFE_PREPARED), TALOS_ERR_STATE, 1, 0},
};

/* A well-formed body of the frame's type. */
static size_t body_of(uint16_t type, uint8_t *b)
{
    memset(b, 0, 64);
    switch (type) {
    case TALOS_MSG_CALL: /* str "get" ‖ u32 0 */
        talos_be32_put(b, 3), memcpy(b + 4, "get", 3);
        return 11;
    case TALOS_MSG_SESSION: /* u32 sid ‖ u8 OPEN */
        b[4] = 1;
        return 5;
    case TALOS_MSG_ATTEST:
        return TALOS_NONCE_BYTES;
    case TALOS_MSG_MIGRATE_OUT:
        return 9;
    case TALOS_MSG_MIGRATE_IN:
        return TALOS_MSG_MIGRATE_IN_BYTES;
    case TALOS_MSG_RESUME:
    case TALOS_MSG_RECEIPT:
    case TALOS_MSG_HANDOFF: /* bytes token of 3 bytes */
        talos_be32_put(b, 3);
        return 7;
    case TALOS_MSG_GIVE_UP:
        return TALOS_MSG_GIVE_UP_BYTES;
    case TALOS_MSG_PREFAULT:
        return TALOS_MSG_PREFAULT_BYTES;
    default:
        return 0;
    }
}

static void every_frame_every_state(void **state)
{
    uint8_t b[64];
    (void)state;
    assert_int_equal(sizeof(want) / sizeof(want[0]), sizeof(frames) / sizeof(frames[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        for (int s = 0; s < TALOS_LIFE_N_STATES; s++) {
            size_t n = body_of(want[i].type, b);
            int in = (want[i].states & TALOS_LIFE_BIT(s)) != 0;
            talos_rt.state = (enum talos_rt_state)s;
            handled = replied = fd_taken = 0;
            last_status = 1;
            assert_int_equal(talos_rt_handle_frame(want[i].type, b, n), TALOS_OK);
            assert_int_equal(talos_rt.state, s); /* the table changes no state */
            if (in) {
                assert_int_equal(handled, 1);
                continue;
            }
            /* Refused before the handler, with the handler's answer. */
            int moved = s == TALOS_LIFE_HANDED_OFF || s == TALOS_LIFE_RETIRED;
            assert_int_equal(handled, 0);
            assert_int_equal(replied, 1);
            assert_int_equal(last_status, want[i].status == TALOS_ERR_MOVED && !moved
                                              ? TALOS_ERR_STATE
                                              : want[i].status);
            assert_int_equal(last_out > 0, want[i].report);
            assert_int_equal(fd_taken, want[i].fd);
            assert_non_null(strstr(last_reason, talos_life_state_name((enum talos_life_state)s)));
        }
}

/* A migration refusal's report is one the host decodes (empty). */
static void refusal_report_decodes(void **state)
{
    uint8_t b[64];
    (void)state;
    talos_rt.state = RT_ACTIVE;
    replied = 0;
    assert_int_equal(talos_rt_handle_frame(TALOS_MSG_HANDOFF, b, body_of(TALOS_MSG_HANDOFF, b)),
                     TALOS_OK);
    assert_int_equal(replied, 1);
    assert_string_equal(last_reason, "TA is ACTIVE: " WAITING_ONLY);
    struct talos_mig_report rep, zero;
    memset(&zero, 0, sizeof(zero));
    memset(&rep, 0, sizeof(rep)); /* its padding too: the decoder sets fields only */
    assert_int_equal(talos_mig_report_decode(last_bytes, last_out, &rep), TALOS_OK);
    assert_memory_equal(&rep, &zero, sizeof(rep));
}

static void malformed_tokens(void **state)
{
    static const uint16_t tok[] = {TALOS_MSG_RESUME, TALOS_MSG_RECEIPT, TALOS_MSG_HANDOFF};
    uint8_t b[64];
    (void)state;
    for (size_t i = 0; i < sizeof(tok) / sizeof(tok[0]); i++)
        for (int s = 0; s < TALOS_LIFE_N_STATES; s++) {
            talos_rt.state = (enum talos_rt_state)s;
            /* A length prefix longer than the rest, then one shorter. */
            talos_be32_put(b, 9);
            handled = replied = 0;
            assert_int_equal(talos_rt_handle_frame(tok[i], b, 7), TALOS_OK);
            assert_true(handled == 0 && replied == 1 && last_status == TALOS_ERR_MALFORMED);
            talos_be32_put(b, 1);
            handled = replied = 0;
            assert_int_equal(talos_rt_handle_frame(tok[i], b, 7), TALOS_OK);
            assert_true(handled == 0 && replied == 1 && last_status == TALOS_ERR_MALFORMED);
        }
}

/* Out of the row's bounds (core/msg.c refuses these on receipt already). */
static void out_of_shape(void **state)
{
    uint8_t b[64] = {0};
    (void)state;
    talos_rt.state = RT_PREPARED;
    handled = replied = fd_taken = 0;
    assert_int_equal(talos_rt_handle_frame(TALOS_MSG_GIVE_UP, b, 3), TALOS_OK);
    assert_true(handled == 0 && replied == 1 && last_status == TALOS_ERR_MALFORMED);
    talos_rt.state = RT_EMPTY;
    handled = replied = fd_taken = 0;
    assert_int_equal(talos_rt_handle_frame(TALOS_MSG_MIGRATE_IN, b, 25), TALOS_OK);
    assert_true(handled == 0 && replied == 1 && fd_taken == 1 && last_status == TALOS_ERR_MALFORMED);
}

/* Replies with no request outstanding, a second INIT: dropped, no answer. */
static void no_row_dropped(void **state)
{
    static const uint16_t types[] = {TALOS_MSG_INIT, TALOS_MSG_OCALL_RET, TALOS_MSG_HOST_RET,
                                     TALOS_MSG_MIGRATE_SOCK, 999};
    uint8_t b[64] = {0};
    (void)state;
    talos_rt.state = RT_ACTIVE;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        handled = replied = 0;
        assert_int_equal(talos_rt_handle_frame(types[i], b, 8), TALOS_OK);
        assert_true(handled == 0 && replied == 0);
    }
    assert_true(talos_rt_frame_at_mp(TALOS_MSG_MIGRATE_OUT));
    assert_false(talos_rt_frame_at_mp(TALOS_MSG_CALL));
    assert_false(talos_rt_frame_at_mp(999));
}

int main(void)
{
    talos_wr_init(&talos_rt.tx, 0); /* INFO answers through it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_frame_every_state), cmocka_unit_test(refusal_report_decodes),
        cmocka_unit_test(malformed_tokens),        cmocka_unit_test(out_of_shape),
        cmocka_unit_test(no_row_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
