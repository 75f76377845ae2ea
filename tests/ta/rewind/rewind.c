/* rewind: a test TA that can lie about its version, to stand for an older
 * copy of a lineage served where a client saw a newer one (T27). A genuine
 * runtime never serves an old copy (I1, I2): the client's own check exists
 * for a TEE that fails that promise (a cloned or rolled-back enclave; on
 * the sim backend, any host), and this image is how a test reaches it.
 * Its measurement is its own: a client policy that allows it is the test's
 * choice. Test only: never built into a product image. */
#include <stdlib.h>
#include <string.h>

#include "ta/rt.h"
#include "talos/ta.h"

static char note[64] TALOS_PERSIST;

static int r_put(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)out;
    memset(note, 0, sizeof(note));
    memcpy(note, argv[0].ptr, argv[0].len);
    return TALOS_OK;
}

static int r_get(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    return talos_out_write(out, note, strnlen(note, sizeof(note)));
}

/* rewind N: the version goes back N (after this ecall's own commit). */
static int r_rewind(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    unsigned long n = strtoul(argv[0].ptr, NULL, 10);
    (void)argc;
    if (n + 1 > talos_rt.version) {
        talos_out_reason(out, "version %llu is lower than %lu", (unsigned long long)talos_rt.version, n);
        return TALOS_ERR_BAD_ARGS;
    }
    talos_rt.version -= n + 1; /* the runtime adds one back as it commits */
    return TALOS_OK;
}

static const struct talos_ecall rewind_ecalls[] = {
    {"put", r_put, 1, 1, 63, "VALUE"},
    {"get", r_get, 0, 0, 0, ""},
    {"rewind", r_rewind, 1, 1, 20, "N"},
};

TALOS_TA_DEFINE("rewind", rewind_ecalls, NULL);
