/* Execution-flow checks (core/cfg/check.c) on a fixture CFG, and the
 * THREADS record codec (core/migctx.c). Every refusal is TALOS_ERR_CFG and
 * names what is wrong. The fixture is built, serialized and parsed back,
 * so the checks run on a model that came through the hostile-input parser:
 *
 *   main     0x1000: call serve @0x100b (ret 0x1010), call mp @0x101b (ret 0x1020)
 *   serve    0x2000: call mp @0x200b (ret 0x2010), indirect @0x201e (ret 0x2020),
 *                    call helper @0x202b (ret 0x2030)
 *   talos_migration_point 0x3000
 *   handler  0x4000 (an ecall entry): call mp @0x400b (ret 0x4010)
 *   helper   0x5000: call mp @0x500b (ret 0x5010)
 *   undec    0x6000 (3 undecoded bytes): call mp @0x600b (ret 0x6010)
 *   other    0x7000: call helper @0x700b (ret 0x7010)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/migctx.h"
#include "core/wire.h"
#include "talos/err.h"
#include "core/cfg/internal.h"

#define MP 0x3000

struct call {
    uint64_t site, ret, target;
    uint8_t indirect;
};

static void add_func(struct talos_cfg *c, const char *name, uint64_t addr, uint64_t size,
                     const struct call *calls, size_t n)
{
    assert_int_equal(cfg_func_begin(c, name, strlen(name), addr, size), TALOS_OK);
    assert_int_equal(cfg_add_block(c, addr), TALOS_OK);
    for (size_t i = 0; i < n; i++)
        if (calls[i].ret < addr + size)
            assert_int_equal(cfg_add_block(c, calls[i].ret), TALOS_OK);
    for (size_t i = 0; i < n; i++) {
        uint64_t from = i ? calls[i - 1].ret : addr;
        if (calls[i].ret < addr + size)
            assert_int_equal(cfg_add_edge(c, from, calls[i].ret, TALOS_CFG_EDGE_FALL), TALOS_OK);
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cfg_add_call(c, calls[i].site, calls[i].ret, calls[i].target,
                                      calls[i].indirect),
                         TALOS_OK);
}

static int setup(void **state)
{
    struct talos_cfg *c = NULL, *parsed = NULL;
    uint8_t *file = NULL;
    size_t len = 0;
    const struct call c_main[] = {{0x100b, 0x1010, 0x2000, 0}, {0x101b, 0x1020, MP, 0}};
    const struct call c_serve[] = {
        {0x200b, 0x2010, MP, 0}, {0x201e, 0x2020, 0, 1}, {0x202b, 0x2030, 0x5000, 0}};
    const struct call c_handler[] = {{0x400b, 0x4010, MP, 0}};
    const struct call c_helper[] = {{0x500b, 0x5010, MP, 0}};
    const struct call c_undec[] = {{0x600b, 0x6010, MP, 0}};
    const struct call c_other[] = {{0x700b, 0x7010, 0x5000, 0}};

    assert_int_equal(cfg_new(62, &c), TALOS_OK);
    add_func(c, "main", 0x1000, 0x30, c_main, 2);
    add_func(c, "serve", 0x2000, 0x40, c_serve, 3);
    add_func(c, "talos_migration_point", MP, 0x10, NULL, 0);
    add_func(c, "handler", 0x4000, 0x20, c_handler, 1);
    add_func(c, "helper", 0x5000, 0x20, c_helper, 1);
    add_func(c, "undec", 0x6000, 0x20, c_undec, 1);
    c->funcs[c->n_funcs - 1].undecoded = 3;
    add_func(c, "other", 0x7000, 0x20, c_other, 1);
    assert_int_equal(cfg_add_ecall(c, 0x4000), TALOS_OK);
    assert_int_equal(cfg_finalize(c), TALOS_OK);
    assert_int_equal(talos_cfg_serialize(c, &file, &len), TALOS_OK);
    assert_int_equal(talos_cfg_parse(file, len, &parsed), TALOS_OK);
    talos_cfg_free(c);
    free(file);
    *state = parsed;
    return 0;
}

static int teardown(void **state)
{
    talos_cfg_free(*state);
    return 0;
}

/* Check a context; on refusal, the reason must contain `want`. */
static int check(const struct talos_cfg *cfg, uint64_t resume, const uint64_t *ret, size_t n,
                 const char *want)
{
    struct talos_cfg_thread t = {.resume = resume, .ret = ret, .n_ret = n};
    char why[200] = "unset";
    int rc = talos_cfg_check_thread(cfg, &t, why, sizeof(why));

    if (rc == TALOS_OK)
        assert_string_equal(why, "");
    else if (want && !strstr(why, want))
        fail_msg("reason '%s' lacks '%s'", why, want);
    return rc;
}

static void test_genuine_contexts(void **state)
{
    const struct talos_cfg *cfg = *state;

    /* The serve loop's call boundary, serve inlined into main (the v1 case). */
    assert_int_equal(check(cfg, 0x1020, NULL, 0, NULL), TALOS_OK);
    /* One frame: serve called by main. */
    assert_int_equal(check(cfg, 0x2010, (uint64_t[]){0x1010}, 1, NULL), TALOS_OK);
    /* Two frames: helper called by serve called by main. */
    assert_int_equal(check(cfg, 0x5010, (uint64_t[]){0x2030, 0x1010}, 2, NULL), TALOS_OK);
    /* Through an indirect call (the ecall dispatch): callee unknown, accepted. */
    assert_int_equal(check(cfg, 0x4010, (uint64_t[]){0x2020, 0x1010}, 2, NULL), TALOS_OK);
    /* At an ecall handler's entry (kind ECALL). */
    assert_int_equal(talos_cfg_migration_point(cfg, 0x4000), TALOS_CFG_MP_ECALL);
    assert_int_equal(check(cfg, 0x4000, (uint64_t[]){0x2020, 0x1010}, 2, NULL), TALOS_OK);
}

static void test_resume_not_a_migration_point(void **state)
{
    const struct talos_cfg *cfg = *state;

    /* In the middle of a function, mid-instruction, a return address that is
     * no migration point, a function entry that is no ecall, outside code. */
    assert_int_equal(check(cfg, 0x1021, NULL, 0, "no migration point"), TALOS_ERR_CFG);
    assert_int_equal(check(cfg, 0x101f, NULL, 0, "no migration point"), TALOS_ERR_CFG);
    assert_int_equal(check(cfg, 0x1010, NULL, 0, "no migration point"), TALOS_ERR_CFG);
    assert_int_equal(check(cfg, 0x5000, (uint64_t[]){0x2030, 0x1010}, 2, "no migration point"),
                     TALOS_ERR_CFG);
    assert_int_equal(check(cfg, 0x9000, NULL, 0, "no migration point"), TALOS_ERR_CFG);
    assert_int_equal(check(cfg, 0, NULL, 0, "no migration point"), TALOS_ERR_CFG);
}

static void test_return_address_without_call_site(void **state)
{
    const struct talos_cfg *cfg = *state;
    const uint64_t bad[] = {0x100f, 0x1011, 0x1000, 0x2000, 0x3000, 0x9000, UINT64_MAX};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(check(cfg, 0x2010, (uint64_t[]){bad[i]}, 1, "follows no call site"),
                         TALOS_ERR_CFG);
    /* Deeper in the stack too. */
    assert_int_equal(check(cfg, 0x5010, (uint64_t[]){0x2030, 0x100f}, 2, "frame 2"),
                     TALOS_ERR_CFG);
}

static void test_callee_does_not_match(void **state)
{
    const struct talos_cfg *cfg = *state;

    /* main's call site calls serve, but the frame below is helper. */
    assert_int_equal(check(cfg, 0x5010, (uint64_t[]){0x1010}, 1, "calls serve"), TALOS_ERR_CFG);
    /* A call to talos_migration_point returns into no frame of the caller. */
    assert_int_equal(check(cfg, 0x2010, (uint64_t[]){0x2010, 0x1010}, 2, "calls talos_migration_point"),
                     TALOS_ERR_CFG);
    /* serve calls helper, not handler. */
    assert_int_equal(check(cfg, 0x4010, (uint64_t[]){0x2030, 0x1010}, 2, "frame below is in handler"),
                     TALOS_ERR_CFG);
}

static void test_outermost_frame_is_the_entry(void **state)
{
    const struct talos_cfg *cfg = *state;

    assert_int_equal(check(cfg, 0x2010, NULL, 0, "not the runtime entry"), TALOS_ERR_CFG);
    assert_int_equal(check(cfg, 0x5010, (uint64_t[]){0x7010}, 1, "is in other"), TALOS_ERR_CFG);
    assert_int_equal(check(cfg, 0x5010, (uint64_t[]){0x2030}, 1, "serve"), TALOS_ERR_CFG);
}

static void test_undecoded_function_refused(void **state)
{
    const struct talos_cfg *cfg = *state;

    assert_true(talos_cfg_migration_point(cfg, 0x6010) != 0);
    assert_int_equal(check(cfg, 0x6010, (uint64_t[]){0x1010}, 1, "undecoded"), TALOS_ERR_CFG);
    struct talos_cfg_thread t = {.resume = 0x1020, .ret = NULL, .n_ret = 1};
    assert_int_equal(talos_cfg_check_thread(cfg, &t, NULL, 0), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_cfg_check_thread(NULL, &t, NULL, 0), TALOS_ERR_INVALID_ARG);
}

static void test_threads_record(void **state)
{
    struct talos_mig_threads in, out;
    struct talos_wr w;

    (void)state;
    memset(&in, 0, sizeof(in));
    in.n = 2;
    in.t[0].resume = 0x1020;
    in.t[1].resume = 0x5010;
    in.t[1].n_ret = TALOS_MIG_MAX_FRAMES;
    for (uint32_t i = 0; i < TALOS_MIG_MAX_FRAMES; i++)
        in.t[1].ret[i] = 0x1000 + i;
    talos_wr_init(&w, TALOS_MIG_THREADS_MAX);
    assert_int_equal(talos_mig_threads_encode(&in, &w), TALOS_OK);
    assert_int_equal(talos_mig_threads_decode(w.p, w.len, &out), TALOS_OK);
    assert_memory_equal(&in, &out, sizeof(in));
    /* Every truncation and one trailing byte are malformed, *out zeroed. */
    for (size_t n = 0; n < w.len; n++) {
        memset(&out, 0xa5, sizeof(out));
        assert_int_equal(talos_mig_threads_decode(w.p, n, &out), TALOS_ERR_MALFORMED);
        assert_int_equal(out.n, 0);
    }
    talos_wr_u8(&w, 0);
    assert_int_equal(talos_mig_threads_decode(w.p, w.len, &out), TALOS_ERR_MALFORMED);
    /* Counts out of range, in the bytes and at the encoder. */
    talos_wr_reset(&w);
    talos_wr_u32(&w, 0);
    talos_wr_u64(&w, 0x1020);
    talos_wr_u32(&w, 0);
    assert_int_equal(talos_mig_threads_decode(w.p, w.len, &out), TALOS_ERR_MALFORMED);
    w.p[3] = TALOS_MIG_MAX_THREADS + 1;
    assert_int_equal(talos_mig_threads_decode(w.p, w.len, &out), TALOS_ERR_MALFORMED);
    w.p[3] = 1;
    assert_int_equal(talos_mig_threads_decode(w.p, w.len, &out), TALOS_OK);
    w.p[15] = TALOS_MIG_MAX_FRAMES + 1;
    assert_int_equal(talos_mig_threads_decode(w.p, w.len, &out), TALOS_ERR_MALFORMED);
    talos_wr_reset(&w);
    in.n = 0;
    assert_int_equal(talos_mig_threads_encode(&in, &w), TALOS_ERR_INVALID_ARG);
    in.n = 1;
    in.t[0].n_ret = TALOS_MIG_MAX_FRAMES + 1;
    assert_int_equal(talos_mig_threads_encode(&in, &w), TALOS_ERR_INVALID_ARG);
    assert_int_equal(w.len, 0);
    talos_wr_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_contexts),
        cmocka_unit_test(test_resume_not_a_migration_point),
        cmocka_unit_test(test_return_address_without_call_site),
        cmocka_unit_test(test_callee_does_not_match),
        cmocka_unit_test(test_outermost_frame_is_the_entry),
        cmocka_unit_test(test_undecoded_function_refused),
        cmocka_unit_test(test_threads_record),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
