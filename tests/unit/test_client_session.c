/* The client library's sessions (client/session.c, client/call.c,
 * client/conn.c) against a scripted fake TA on loopback
 * (tests/unit/fake_ta.h) with real sim evidence: open and call, a broken
 * connection retried with the same sequence number and RETRY, MOVED
 * followed, LINEAGE and ROLLBACK ending the session, a policy refusal
 * before HELLO, and REPLAY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/policy.h"
#include "tests/unit/client_fixture.h"
#include "tests/unit/fake_ta.h"

struct fx {
    struct client_fixture cf;
    EVP_PKEY *key;
    X509 *cert;
    struct talos_policy *pol;
    struct fake_ta ta;
    char node[64];
};

static const struct talos_session_options quick = {.timeout_ms = 3000, .follow_ms = 3000};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    cf_open(&f->cf, "clsess");
    f->key = cf_key();
    f->cert = cf_cert(&f->cf, f->key, f->key, cf_meas);
    assert_int_equal(talos_policy_new(&f->pol), TALOS_OK);
    assert_int_equal(talos_policy_allow_measurement(f->pol, cf_meas), TALOS_OK);
    assert_int_equal(talos_policy_set_anchors(f->pol, f->cf.pem, f->cf.pem_len), TALOS_OK);
    talos_policy_set_flags(f->pol, TALOS_VERIFY_ALLOW_SIM);
    memset(f->ta.lineage, 0x5a, sizeof(f->ta.lineage));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    talos_policy_free(f->pol);
    X509_free(f->cert);
    EVP_PKEY_free(f->key);
    cf_close(&f->cf);
    free(f);
    return 0;
}

static void start(struct fx *f)
{
    ft_start(&f->ta, f->key, f->cert);
    snprintf(f->node, sizeof(f->node), "127.0.0.1:%d", f->ta.port);
}

static struct talos_session *open_ok(struct fx *f)
{
    struct talos_session *s = NULL;
    char why[256] = "";
    int rc = talos_session_open(f->node, f->ta.lineage, f->pol, &quick, &s, why, sizeof(why));
    if (rc != TALOS_OK)
        fail_msg("open: %s (%s)", why, talos_errname(rc));
    return s;
}

static void test_open_call(void **state)
{
    struct fx *f = *state;
    struct talos_session_result r;
    struct talos_session_info i;

    f->ta.conn[0] = (struct fake_conn){.version = 7};
    f->ta.n_conn = 1;
    start(f);
    struct talos_session *s = open_ok(f);
    assert_int_equal(talos_session_call(s, "get", 0, NULL, &r), TALOS_OK);
    assert_int_equal(r.status, TALOS_OK);
    assert_string_equal((char *)r.out, "echo");
    assert_int_equal(r.version, 7);
    talos_session_result_clear(&r);
    assert_int_equal(talos_session_call(s, "get", 0, NULL, &r), TALOS_OK);
    talos_session_info(s, &i);
    assert_int_equal(i.seq, 2);
    assert_int_equal(i.version, 7);
    assert_string_equal(i.node, f->node);
    assert_memory_equal(i.claims.measurement, cf_meas, sizeof(cf_meas));
    assert_memory_equal(i.client_id, f->ta.client_id, sizeof(i.client_id));
    assert_true(i.setup_ms > 0);
    talos_session_result_clear(&r);
    talos_session_close(s);
    ft_stop(&f->ta);
    assert_int_equal(f->ta.calls, 2);
    assert_int_equal(f->ta.seq[0], 1);
    assert_int_equal(f->ta.seq[1], 2);
    assert_int_equal(f->ta.call_flags[0], 0);
}

static void test_retry_after_break(void **state)
{
    struct fx *f = *state;
    struct talos_session_result r;
    struct talos_session_info i;

    f->ta.conn[0] = (struct fake_conn){.version = 3, .drop_on_call = 1};
    f->ta.conn[1] = (struct fake_conn){.version = 4, .flags = TALOS_SESS_RESULT_REPLAYED};
    f->ta.n_conn = 2;
    start(f);
    struct talos_session *s = open_ok(f);
    assert_int_equal(talos_session_call(s, "put", 0, NULL, &r), TALOS_OK);
    assert_int_equal(r.replayed, 1);
    talos_session_info(s, &i);
    assert_int_equal(i.replays, 1);
    assert_int_equal(i.moves, 0); /* the same instance (key) */
    assert_int_equal(i.version, 4);
    talos_session_result_clear(&r);
    talos_session_close(s);
    ft_stop(&f->ta);
    assert_int_equal(f->ta.hellos, 2);
    assert_int_equal(f->ta.calls, 2);
    assert_int_equal(f->ta.seq[0], 1);
    assert_int_equal(f->ta.seq[1], 1); /* the same call again */
    assert_int_equal(f->ta.call_flags[0], 0);
    assert_int_equal(f->ta.call_flags[1], TALOS_SESS_CALL_RETRY);
}

static void test_follow_moved(void **state)
{
    struct fx *f = *state;
    struct fake_ta old = {0};
    struct talos_session_result r;
    struct talos_session_info i;

    f->ta.conn[0] = (struct fake_conn){.version = 1};
    f->ta.n_conn = 1;
    start(f);
    /* The old node's forwarding note names the new one. */
    memcpy(old.lineage, f->ta.lineage, sizeof(old.lineage));
    old.conn[0].pre_status = TALOS_ERR_MOVED;
    snprintf(old.conn[0].pre_msg, sizeof(old.conn[0].pre_msg), "%s", f->node);
    old.n_conn = 1;
    ft_start(&old, f->key, f->cert);
    char old_node[64];
    snprintf(old_node, sizeof(old_node), "127.0.0.1:%d", old.port);
    struct talos_session *s = NULL;
    char why[256] = "";
    assert_int_equal(talos_session_open(old_node, f->ta.lineage, f->pol, &quick, &s, why, sizeof(why)),
                     TALOS_OK);
    assert_int_equal(talos_session_call(s, "get", 0, NULL, &r), TALOS_OK);
    talos_session_info(s, &i);
    assert_string_equal(i.node, f->node);
    talos_session_result_clear(&r);
    talos_session_close(s);
    ft_stop(&old);
    ft_stop(&f->ta);
    assert_int_equal(old.hellos, 0);
}

static void test_lineage(void **state)
{
    struct fx *f = *state;
    struct talos_session *s = NULL;
    char why[256] = "";

    f->ta.conn[0] = (struct fake_conn){.version = 1, .other_lineage = 1};
    f->ta.n_conn = 1;
    start(f);
    assert_int_equal(talos_session_open(f->node, f->ta.lineage, f->pol, &quick, &s, why, sizeof(why)),
                     TALOS_ERR_LINEAGE);
    assert_null(s);
    assert_non_null(strstr(why, "another lineage"));
    ft_stop(&f->ta);
}

static void test_rollback(void **state)
{
    struct fx *f = *state;
    struct talos_session_result r;

    f->ta.conn[0] = (struct fake_conn){.version = 5, .drop_on_call = 1};
    f->ta.conn[1] = (struct fake_conn){.version = 4}; /* an older copy of the TA */
    f->ta.n_conn = 2;
    start(f);
    struct talos_session *s = open_ok(f);
    assert_int_equal(talos_session_call(s, "get", 0, NULL, &r), TALOS_ERR_ROLLBACK);
    assert_null(r.out);
    assert_non_null(strstr(talos_session_error(s), "rollback"));
    /* Dead: every later call says the same, without a connection. */
    assert_int_equal(talos_session_call(s, "get", 0, NULL, &r), TALOS_ERR_ROLLBACK);
    talos_session_close(s);
    ft_stop(&f->ta);
    assert_int_equal(f->ta.calls, 1);
}

static void test_policy_refusal_before_hello(void **state)
{
    struct fx *f = *state;
    struct talos_policy *p = NULL;
    struct talos_session *s = NULL;
    static const uint8_t other[TALOS_MEASUREMENT_BYTES] = {0x77};
    char why[256] = "";

    f->ta.conn[0] = (struct fake_conn){.version = 1};
    f->ta.n_conn = 1;
    start(f);
    assert_int_equal(talos_policy_new(&p), TALOS_OK);
    assert_int_equal(talos_policy_allow_measurement(p, other), TALOS_OK);
    assert_int_equal(talos_policy_set_anchors(p, f->cf.pem, f->cf.pem_len), TALOS_OK);
    talos_policy_set_flags(p, TALOS_VERIFY_ALLOW_SIM);
    assert_int_equal(talos_session_open(f->node, f->ta.lineage, p, &quick, &s, why, sizeof(why)),
                     TALOS_ERR_MEASUREMENT);
    talos_policy_set_flags(p, 0);
    talos_policy_free(p);
    ft_stop(&f->ta);
    assert_int_equal(f->ta.accepted, 1);
    assert_int_equal(f->ta.hellos, 0);
}

static void test_replay(void **state)
{
    struct fx *f = *state;
    struct talos_session_result r;

    f->ta.conn[0] = (struct fake_conn){.version = 1, .status = TALOS_ERR_REPLAY};
    f->ta.n_conn = 1;
    start(f);
    struct talos_session *s = open_ok(f);
    assert_int_equal(talos_session_call(s, "get", 0, NULL, &r), TALOS_ERR_REPLAY);
    assert_int_equal(r.status, TALOS_ERR_REPLAY);
    talos_session_result_clear(&r);
    talos_session_close(s);
    ft_stop(&f->ta);
}

static void test_refused_open(void **state)
{
    struct fx *f = *state;
    struct talos_session *s = NULL;
    char why[256] = "";

    f->ta.conn[0] = (struct fake_conn){.pre_status = TALOS_ERR_NO_SUCH_TA, .pre_msg = "no such TA"};
    f->ta.n_conn = 1;
    start(f);
    assert_int_equal(talos_session_open(f->node, f->ta.lineage, f->pol, &quick, &s, why, sizeof(why)),
                     TALOS_ERR_NO_SUCH_TA);
    assert_non_null(strstr(why, "no such TA"));
    ft_stop(&f->ta);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_call),  T(test_retry_after_break), T(test_follow_moved),
        T(test_lineage),    T(test_rollback),          T(test_policy_refusal_before_hello),
        T(test_replay),     T(test_refused_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
