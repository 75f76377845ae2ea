/* A relying party's program outside the TALOS tree, built against the
 * installed client library alone (`pkg-config --cflags --libs
 * talos-client`, tests/integration/test_sdk.sh):
 *   client POLICY.json [NODE TA-ID ECALL]
 * loads the policy, and with NODE opens a session with the TA and calls
 * ECALL. Exit 0 on success, 1 with one line on stderr otherwise. */
#include <stdio.h>
#include <string.h>

#include <talos/client.h>

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (sscanf(s + 2 * i, "%2hhx", &out[i]) != 1)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct talos_policy *p = NULL, *built = NULL;
    struct talos_session *s = NULL;
    struct talos_session_result r = {0};
    uint8_t m[TALOS_MEASUREMENT_BYTES] = {0}, lineage[TALOS_LINEAGE_BYTES];
    char why[256] = "";
    int rc = 1, err = 0;

    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: client POLICY.json [NODE TA-ID ECALL]\n");
        return 2;
    }
    /* The API's own policy, then one from a file. */
    if (talos_policy_new(&built) != TALOS_OK || talos_policy_allow_measurement(built, m) != TALOS_OK) {
        fprintf(stderr, "client: cannot build a policy\n");
        goto out;
    }
    if ((err = talos_policy_load(argv[1], &p, why, sizeof(why))) != TALOS_OK) {
        fprintf(stderr, "client: %s (%s)\n", why, talos_errname(err));
        goto out;
    }
    printf("policy ok%s\n", talos_policy_flags(p) & TALOS_VERIFY_ALLOW_SIM ? " (sim allowed)" : "");
    if (argc == 2) {
        rc = 0;
        goto out;
    }
    if (unhex(argv[3], lineage, sizeof(lineage)) != 0) {
        fprintf(stderr, "client: TA-ID must be 32 hex characters\n");
        goto out;
    }
    if ((err = talos_session_open(argv[2], lineage, p, NULL, &s, why, sizeof(why))) != TALOS_OK) {
        fprintf(stderr, "client: open: %s (%s)\n", why, talos_errname(err));
        goto out;
    }
    if ((err = talos_session_call(s, argv[4], 0, NULL, &r)) != TALOS_OK || r.status != TALOS_OK) {
        fprintf(stderr, "client: call: %s (%s)\n", err ? talos_session_error(s) : r.reason,
                talos_errname(err ? err : r.status));
        goto out;
    }
    printf("%s\n", (const char *)r.out);
    rc = 0;
out:
    talos_session_result_clear(&r);
    talos_session_close(s);
    talos_policy_free(p);
    talos_policy_free(built);
    return rc;
}
