/* The codec (core/wire.c) and the boundary message table (core/msg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/msg.h"
#include "core/wire.h"
#include "talos/err.h"
#include "talos/ta.h"

static void roundtrip(void **state)
{
    struct talos_wr w;
    struct talos_rd r;
    char s[16];
    uint8_t raw[3];
    size_t n = 0;

    (void)state;
    talos_wr_init(&w, 0);
    talos_wr_u8(&w, 0xab);
    talos_wr_u16(&w, 0xcdef);
    talos_wr_u32(&w, 0x01020304);
    talos_wr_u64(&w, 0x1122334455667788ULL);
    talos_wr_raw(&w, "xyz", 3);
    talos_wr_bytes(&w, "hello", 5);
    talos_wr_str(&w, "talos");
    assert_int_equal(w.err, 0);
    assert_int_equal(w.len, 1 + 2 + 4 + 8 + 3 + 4 + 5 + 4 + 5);
    /* Big-endian on the wire, whatever the host. */
    assert_int_equal(w.p[1], 0xcd);
    assert_int_equal(w.p[3], 0x01);

    talos_rd_init(&r, w.p, w.len);
    assert_int_equal(talos_rd_u8(&r), 0xab);
    assert_int_equal(talos_rd_u16(&r), 0xcdef);
    assert_int_equal(talos_rd_u32(&r), 0x01020304);
    assert_true(talos_rd_u64(&r) == 0x1122334455667788ULL);
    talos_rd_raw(&r, raw, 3);
    assert_memory_equal(raw, "xyz", 3);
    const uint8_t *b = talos_rd_bytes(&r, &n, 100);
    assert_int_equal(n, 5);
    assert_memory_equal(b, "hello", 5);
    talos_rd_str(&r, s, sizeof(s));
    assert_string_equal(s, "talos");
    assert_int_equal(talos_rd_finish(&r), TALOS_OK);
    talos_wr_free(&w);
}

/* Every truncation of a valid encoding is refused, never over-read. */
static void truncation(void **state)
{
    struct talos_wr w;
    (void)state;
    talos_wr_init(&w, 0);
    talos_wr_u32(&w, 7);
    talos_wr_bytes(&w, "abcdef", 6);
    talos_wr_u64(&w, 9);
    for (size_t cut = 0; cut < w.len; cut++) {
        struct talos_rd r;
        size_t n = 0;
        talos_rd_init(&r, w.p, cut);
        talos_rd_u32(&r);
        talos_rd_bytes(&r, &n, 64);
        talos_rd_u64(&r);
        assert_int_equal(talos_rd_finish(&r), TALOS_ERR_MALFORMED);
    }
    talos_wr_free(&w);
}

static void hostile_lengths(void **state)
{
    struct talos_rd r;
    size_t n = 99;
    char s[8];
    /* A length prefix larger than the input, and one over the caller's max. */
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
    const uint8_t over[] = {0, 0, 0, 9, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'};
    const uint8_t nul[] = {0, 0, 0, 3, 'a', 0, 'b'};
    const uint8_t trailing[] = {0, 0, 0, 1, 'a', 'x'};

    (void)state;
    talos_rd_init(&r, huge, sizeof(huge));
    assert_null(talos_rd_bytes(&r, &n, SIZE_MAX));
    assert_int_equal(n, 0);
    assert_int_equal(talos_rd_finish(&r), TALOS_ERR_MALFORMED);

    talos_rd_init(&r, over, sizeof(over));
    assert_null(talos_rd_bytes(&r, &n, 8));
    assert_int_equal(talos_rd_finish(&r), TALOS_ERR_MALFORMED);

    talos_rd_init(&r, over, sizeof(over)); /* string longer than the buffer */
    talos_rd_str(&r, s, sizeof(s));
    assert_int_equal(talos_rd_finish(&r), TALOS_ERR_MALFORMED);
    assert_string_equal(s, "");

    talos_rd_init(&r, nul, sizeof(nul)); /* embedded NUL in a string */
    talos_rd_str(&r, s, sizeof(s));
    assert_int_equal(talos_rd_finish(&r), TALOS_ERR_MALFORMED);

    talos_rd_init(&r, trailing, sizeof(trailing)); /* unread trailing byte */
    talos_rd_str(&r, s, sizeof(s));
    assert_string_equal(s, "a");
    assert_int_equal(talos_rd_finish(&r), TALOS_ERR_MALFORMED);
}

/* Errors are sticky: after the first failure nothing more is read. */
static void sticky(void **state)
{
    const uint8_t in[] = {1, 2};
    struct talos_rd r;
    (void)state;
    talos_rd_init(&r, in, sizeof(in));
    assert_int_equal(talos_rd_u32(&r), 0);
    assert_int_equal(talos_rd_u8(&r), 0); /* would succeed on a fresh reader */
    assert_int_equal(talos_rd_left(&r), 0);
    assert_int_equal(talos_rd_finish(&r), TALOS_ERR_MALFORMED);
}

static void writer_limit(void **state)
{
    struct talos_wr w;
    (void)state;
    talos_wr_init(&w, 16);
    talos_wr_raw(&w, "0123456789", 10);
    talos_wr_bytes(&w, "abcdef", 6); /* 4 + 6 > remaining 6 */
    assert_int_equal(w.err, TALOS_ERR_TOO_LARGE);
    size_t len = w.len; /* the prefix fitted; the body did not */
    talos_wr_u8(&w, 1); /* sticky: nothing more is appended */
    assert_int_equal(w.len, len);
    assert_true(w.len <= 16);
    talos_wr_free(&w);
}

/* A reserved size is allocated once: writing it does not move the buffer;
 * the limit still holds (a reserve beyond it is clamped, not an error). */
static void writer_reserve(void **state)
{
    struct talos_wr w;
    (void)state;
    talos_wr_init(&w, 64);
    talos_wr_reserve(&w, 1000);
    assert_int_equal(w.err, TALOS_OK);
    assert_int_equal(w.cap, 64);
    const uint8_t *p = w.p;
    for (int i = 0; i < 16; i++)
        talos_wr_u32(&w, (uint32_t)i);
    assert_ptr_equal(w.p, p);
    assert_int_equal(w.len, 64);
    assert_int_equal(talos_be32_get(w.p + 60), 15);
    talos_wr_u8(&w, 1);
    assert_int_equal(w.err, TALOS_ERR_TOO_LARGE);
    talos_wr_free(&w);
}

static void msg_table(void **state)
{
    (void)state;
    assert_int_equal(talos_msg_check(TALOS_MSG_CALL, TALOS_MSG_FROM_HOST, 8), TALOS_OK);
    /* Wrong sender: a TA cannot send CALL, a host cannot send REPLY. */
    assert_int_equal(talos_msg_check(TALOS_MSG_CALL, TALOS_MSG_FROM_TA, 8), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_msg_check(TALOS_MSG_REPLY, TALOS_MSG_FROM_HOST, 20), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_msg_check(999, TALOS_MSG_FROM_HOST, 0), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_msg_check(0, TALOS_MSG_FROM_HOST, 0), TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_msg_check(TALOS_MSG_ATTEST, TALOS_MSG_FROM_HOST, 31), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_msg_check(TALOS_MSG_ATTEST, TALOS_MSG_FROM_HOST, 33), TALOS_ERR_TOO_LARGE);
    assert_int_equal(talos_msg_check(TALOS_MSG_STOP, TALOS_MSG_FROM_HOST, 1), TALOS_ERR_TOO_LARGE);
    assert_int_equal(talos_msg_check(TALOS_MSG_CALL, TALOS_MSG_FROM_HOST, UINT32_MAX),
                     TALOS_ERR_TOO_LARGE);
    /* The CALL bound admits the largest call the API allows. */
    assert_true(TALOS_MSG_MAX >= TALOS_MAX_ARGS * (TALOS_MAX_ARG_BYTES + 4) + TALOS_NAME_MAX + 8);
}

static void errors_named(void **state)
{
    (void)state;
    for (int e = 0; e >= TALOS_ERR_MIN; e--)
        assert_non_null(talos_strerror(e));
    assert_string_equal(talos_errname(TALOS_ERR_EVIDENCE_SIM), "EVIDENCE_SIM");
    assert_string_equal(talos_errname(-98), "UNKNOWN");
    assert_string_equal(talos_strerror(12345), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip),    cmocka_unit_test(truncation),
        cmocka_unit_test(hostile_lengths), cmocka_unit_test(sticky),
        cmocka_unit_test(writer_limit), cmocka_unit_test(writer_reserve),
        cmocka_unit_test(msg_table),
        cmocka_unit_test(errors_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
