/* The TA's decoder of the host's answers (ta/hostret.c), SECURITY.md T25:
 * each hostile shape gets its own error, and a refusal writes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/wire.h"
#include "ta/rt.h"
#include "talos/err.h"

#define CAP 16
#define GUARD 0xa5

/* Decode body with capacity CAP into a guarded buffer; check that nothing
 * past what was returned was written. */
static int decode(const struct talos_wr *w, size_t *n, uint8_t out[CAP + 8])
{
    int rc = TALOS_OK;

    memset(out, GUARD, CAP + 8);
    *n = 777;
    rc = talos_rt_decode_host_ret(w->p, w->len, out, CAP, n);
    for (size_t i = rc == TALOS_OK ? *n : 0; i < CAP + 8; i++)
        assert_int_equal(out[i], GUARD);
    if (rc != TALOS_OK)
        assert_int_equal(*n, 0);
    return rc;
}

static void answer(struct talos_wr *w, uint32_t status, uint32_t len, const void *p, size_t n)
{
    talos_wr_reset(w);
    talos_wr_u32(w, status);
    talos_wr_u32(w, len);
    talos_wr_raw(w, p, n);
}

static void shapes(void **state)
{
    struct talos_wr w;
    uint8_t out[CAP + 8], big[CAP + 1];
    size_t n = 0;

    (void)state;
    memset(big, 'x', sizeof(big));
    talos_wr_init(&w, 0);
    answer(&w, 0, 5, "hello", 5);
    assert_int_equal(decode(&w, &n, out), TALOS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    answer(&w, 0, CAP, big, CAP); /* exactly the capacity */
    assert_int_equal(decode(&w, &n, out), TALOS_OK);
    assert_int_equal(n, CAP);
    answer(&w, 0, CAP + 1, big, CAP + 1); /* longer than asked */
    assert_int_equal(decode(&w, &n, out), TALOS_ERR_TOO_LARGE);
    answer(&w, 0, 0xfffffff0u, "abcd", 4); /* length past the frame */
    assert_int_equal(decode(&w, &n, out), TALOS_ERR_MALFORMED);
    answer(&w, 0, 2, "abcdefgh", 8); /* length short of the frame */
    assert_int_equal(decode(&w, &n, out), TALOS_ERR_MALFORMED);
    answer(&w, 5, 1, "x", 1); /* status that is no talos_err */
    assert_int_equal(decode(&w, &n, out), TALOS_ERR_PROTOCOL);
    answer(&w, (uint32_t)(TALOS_ERR_MIN - 1), 0, NULL, 0);
    assert_int_equal(decode(&w, &n, out), TALOS_ERR_PROTOCOL);
    answer(&w, (uint32_t)TALOS_ERR_NOT_FOUND, 3, "xyz", 3); /* the host's refusal */
    assert_int_equal(decode(&w, &n, out), TALOS_ERR_NOT_FOUND);
    talos_wr_reset(&w);
    talos_wr_u16(&w, 0); /* truncated status */
    assert_int_equal(decode(&w, &n, out), TALOS_ERR_MALFORMED);
    talos_wr_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(shapes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
