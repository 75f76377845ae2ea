/* The migration policy: a peer is accepted only with this TA's own
 * measurement, launch config and CFG digest; each refusal has its code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/policy.h"

static void claims(struct talos_claims *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->backend, talos_backend_default());
    c->flags = TALOS_CLAIM_SIMULATED;
    memset(c->measurement, 0x11, sizeof(c->measurement));
    memset(c->config_id, 0x22, sizeof(c->config_id));
    memset(c->cfg_digest, 0x33, sizeof(c->cfg_digest));
}

static void test_same_identity_accepted(void **state)
{
    struct talos_claims own, peer;
    char why[128] = "x";

    claims(&own);
    claims(&peer);
    memset(peer.report_data, 0x44, sizeof(peer.report_data)); /* not policy's business */
    assert_int_equal(talos_mig_policy_check(&own, &peer, why, sizeof(why)), TALOS_OK);
    assert_string_equal(why, "");
}

/* Every byte of the CFG digest counts, on either side. */
static void test_cfg_digest_differs(void **state)
{
    struct talos_claims own, peer;
    char why[128];

    claims(&own);
    for (size_t i = 0; i < sizeof(peer.cfg_digest); i++) {
        claims(&peer);
        peer.cfg_digest[i] ^= 0x80;
        assert_int_equal(talos_mig_policy_check(&own, &peer, why, sizeof(why)),
                         TALOS_ERR_CFG_DIGEST);
        assert_non_null(strstr(why, "CFG digest"));
        assert_int_equal(talos_mig_policy_check(&peer, &own, NULL, 0), TALOS_ERR_CFG_DIGEST);
    }
}

/* No CFG digest (zero, TALOS_CLAIM_NO_CFG) on either side, or both: the
 * flow cannot be checked, so no migration. */
static void test_no_cfg_refused(void **state)
{
    struct talos_claims own, peer;
    char why[128];

    claims(&own);
    claims(&peer);
    peer.flags |= TALOS_CLAIM_NO_CFG;
    memset(peer.cfg_digest, 0, sizeof(peer.cfg_digest));
    assert_int_equal(talos_mig_policy_check(&own, &peer, why, sizeof(why)), TALOS_ERR_CFG_DIGEST);
    assert_non_null(strstr(why, "peer"));
    assert_int_equal(talos_mig_policy_check(&peer, &own, why, sizeof(why)), TALOS_ERR_CFG_DIGEST);
    assert_non_null(strstr(why, "this TA"));
    assert_int_equal(talos_mig_policy_check(&peer, &peer, why, sizeof(why)), TALOS_ERR_CFG_DIGEST);
}

/* Measurement and config are checked first and keep their own code. */
static void test_measurement_and_config(void **state)
{
    struct talos_claims own, peer;
    char why[128];

    claims(&own);
    claims(&peer);
    peer.measurement[31] ^= 1;
    peer.cfg_digest[0] ^= 1;
    assert_int_equal(talos_mig_policy_check(&own, &peer, why, sizeof(why)), TALOS_ERR_MEASUREMENT);
    assert_non_null(strstr(why, "measurement"));
    claims(&peer);
    peer.config_id[0] ^= 1;
    assert_int_equal(talos_mig_policy_check(&own, &peer, why, sizeof(why)), TALOS_ERR_MEASUREMENT);
    assert_non_null(strstr(why, "launch config"));
    assert_int_equal(talos_mig_policy_check(NULL, &peer, why, sizeof(why)), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_mig_policy_check(&own, NULL, why, 1), TALOS_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_identity_accepted),
        cmocka_unit_test(test_cfg_digest_differs),
        cmocka_unit_test(test_no_cfg_refused),
        cmocka_unit_test(test_measurement_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
