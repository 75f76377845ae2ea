/* The exactly-once table (ta/once.c, docs/sessions.md §4) on a real state
 * arena: the decision table, recording of failed calls, and eviction by
 * client count and by bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ta/arena.h"
#include "ta/once.h"

/* As test_arena.c: ASan's shadow covers the normal arena address. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#define TEST_BASE ((uintptr_t)0x200000000000ULL)
#else
#define TEST_BASE ((uintptr_t)0x1000000000ULL)
#endif

static int setup(void **st)
{
    (void)st;
    if (talos_arena_map(TEST_BASE, (size_t)1 << 30) != TALOS_OK)
        return -1;
    return talos_arena_format() == TALOS_OK ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    talos_once_detach();
    return talos_arena_unmap() == TALOS_OK ? 0 : -1;
}

static void cid_of(unsigned n, uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES])
{
    memset(cid, 0, TALOS_SESS_CLIENT_ID_BYTES);
    memcpy(cid, &n, sizeof(n));
    cid[15] = 0xc1;
}

static void record_ok(const uint8_t *cid, uint64_t seq, const void *out, size_t n)
{
    const struct talos_once_answer a = {.status = TALOS_OK, .out = out, .out_len = n,
                                        .reason = ""};
    talos_once_record(cid, seq, &a);
}

static int decide(const uint8_t *cid, uint64_t seq, int retry, struct talos_once_answer *rec)
{
    const char *why = NULL;
    int v = talos_once_decide(cid, seq, retry, rec, &why);
    assert_non_null(why);
    if (v == TALOS_ONCE_REPLAY)
        assert_true(strlen(why) > 0);
    return v;
}

static void test_nothing_until_a_call(void **st)
{
    uint8_t c[16];
    (void)st;
    cid_of(1, c);
    assert_int_equal(talos_once_last_seq(c), 0);
    assert_int_equal(talos_arena_in_use(), 0); /* no table for a TA without session calls */
    struct talos_once_answer rec;
    assert_int_equal(decide(c, 1, 1, &rec), TALOS_ONCE_REPLAY); /* unknown + RETRY */
    assert_int_equal(talos_arena_in_use(), 0);
    assert_int_equal(talos_once_clients(), 0);
}

static void test_decision_table(void **st)
{
    uint8_t c[16];
    struct talos_once_answer rec;
    (void)st;
    cid_of(7, c);
    assert_int_equal(decide(c, 5, 0, &rec), TALOS_ONCE_RUN); /* unknown: run */
    assert_true(talos_arena_in_use() > 0);
    record_ok(c, 5, "v1", 2);
    assert_int_equal(talos_once_last_seq(c), 5);
    /* s == last: the record, REPLAYED, with or without RETRY */
    memset(&rec, 0, sizeof(rec));
    assert_int_equal(decide(c, 5, 1, &rec), TALOS_ONCE_REPLAYED);
    assert_int_equal(rec.status, TALOS_OK);
    assert_int_equal(rec.out_len, 2);
    assert_memory_equal(rec.out, "v1", 2);
    assert_true(talos_arena_contains(rec.out)); /* migrated state */
    assert_string_equal(rec.reason, "");
    assert_int_equal(decide(c, 5, 0, &rec), TALOS_ONCE_REPLAYED);
    /* s < last: REPLAY */
    assert_int_equal(decide(c, 4, 0, &rec), TALOS_ONCE_REPLAY);
    assert_int_equal(decide(c, 1, 1, &rec), TALOS_ONCE_REPLAY);
    /* s > last: run, RETRY or not */
    assert_int_equal(decide(c, 6, 1, &rec), TALOS_ONCE_RUN);
    /* A failed call is recorded: its retry sees the same refusal, no output. */
    const struct talos_once_answer fail = {.status = TALOS_ERR_NOT_FOUND, .out = (const uint8_t *)"junk",
                                           .out_len = 4, .reason = "no such key"};
    talos_once_record(c, 6, &fail);
    assert_int_equal(decide(c, 6, 1, &rec), TALOS_ONCE_REPLAYED);
    assert_int_equal(rec.status, TALOS_ERR_NOT_FOUND);
    assert_null(rec.out);
    assert_int_equal(rec.out_len, 0);
    assert_string_equal(rec.reason, "no such key");
    assert_int_equal(talos_once_bytes(), strlen("no such key"));
    /* Another client is independent. */
    uint8_t d[16];
    cid_of(8, d);
    assert_int_equal(decide(d, 1, 0, &rec), TALOS_ONCE_RUN);
    record_ok(d, 1, NULL, 0);
    assert_int_equal(decide(d, 1, 0, &rec), TALOS_ONCE_REPLAYED);
    assert_null(rec.out);
    assert_int_equal(talos_once_clients(), 2);
    assert_int_equal(talos_once_last_seq(c), 6);
}

static void test_evict_by_clients(void **st)
{
    uint8_t c[16];
    struct talos_once_answer rec;
    (void)st;
    for (unsigned i = 0; i < TALOS_ONCE_CLIENTS; i++) {
        cid_of(i, c);
        assert_int_equal(decide(c, 1, 0, &rec), TALOS_ONCE_RUN);
        record_ok(c, 1, "x", 1);
    }
    assert_int_equal(talos_once_clients(), TALOS_ONCE_CLIENTS);
    /* Client 0 calls again: client 1 is now the least recently used. */
    cid_of(0, c);
    assert_int_equal(decide(c, 1, 1, &rec), TALOS_ONCE_REPLAYED);
    cid_of(TALOS_ONCE_CLIENTS, c);
    assert_int_equal(decide(c, 1, 0, &rec), TALOS_ONCE_RUN);
    record_ok(c, 1, "y", 1);
    assert_int_equal(talos_once_clients(), TALOS_ONCE_CLIENTS);
    cid_of(1, c);
    assert_int_equal(talos_once_last_seq(c), 0);
    assert_int_equal(decide(c, 1, 1, &rec), TALOS_ONCE_REPLAY); /* evicted: outcome unknown */
    cid_of(0, c);
    assert_int_equal(talos_once_last_seq(c), 1);
    cid_of(2, c);
    assert_int_equal(talos_once_last_seq(c), 1);
}

static void test_evict_by_bytes(void **st)
{
    size_t big = 3u << 20;
    uint8_t *out = malloc(big);
    uint8_t c[16];
    struct talos_once_answer rec;
    (void)st;
    assert_non_null(out);
    memset(out, 0xab, big);
    for (unsigned i = 0; i < 3; i++) {
        cid_of(i, c);
        assert_int_equal(decide(c, 1, 0, &rec), TALOS_ONCE_RUN);
        record_ok(c, 1, out, big);
    }
    /* 9 MiB > 8 MiB: the oldest went. */
    assert_int_equal(talos_once_clients(), 2);
    assert_true(talos_once_bytes() <= TALOS_ONCE_BYTES);
    cid_of(0, c);
    assert_int_equal(talos_once_last_seq(c), 0);
    cid_of(2, c);
    assert_int_equal(decide(c, 1, 1, &rec), TALOS_ONCE_REPLAYED);
    assert_int_equal(rec.out_len, big);
    assert_memory_equal(rec.out, out, big);
    /* A new answer replaces the old one's bytes. */
    record_ok(c, 2, "s", 1);
    assert_int_equal(talos_once_bytes(), big + 1);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_until_a_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decision_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evict_by_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evict_by_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
