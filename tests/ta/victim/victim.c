/* victim: the TA of the hostile-ocall tests (SECURITY.md T25). It keeps a
 * secret in its state arena and asks a hostile host (build/tests/talosd-hostile,
 * tests/host/hostile.c) for ocall answers, checking what the runtime's
 * talos_call_host promises about them:
 *   - an answer is never longer than the capacity the TA gave;
 *   - no byte is written past that capacity, and none at all on failure;
 *   - a refusal leaves *resp_len at 0.
 * A broken promise is TA_REFUSED with a reason, which the tests reject: they
 * expect the runtime's own specific error for each hostile answer. */
#include <stdlib.h>
#include <string.h>

#include "talos/ta.h"
#include "tests/ta/hexout.h"

#define GUARD 64
#define GUARD_BYTE 0xa5
#define RESP_MAX 4096

struct secret {
    size_t len;
    uint8_t bytes[];
};

/* set VALUE: keep VALUE in the arena (the state the attacks must not change). */
static int v_set(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    struct secret *old = talos_state_root(), *s = talos_alloc(sizeof(*s) + argv[0].len);
    (void)argc;
    if (!s)
        return TALOS_ERR_ARENA_FULL;
    s->len = argv[0].len;
    memcpy(s->bytes, argv[0].ptr, argv[0].len);
    talos_set_state_root(s);
    if (old) {
        talos_wipe(old->bytes, old->len);
        talos_free(old);
    }
    (void)out;
    return TALOS_OK;
}

/* digest: SHA-256 of the state, hex. */
static int v_digest(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    const struct secret *s = talos_state_root();
    uint8_t h[TALOS_SHA256_BYTES];
    (void)argc, (void)argv;
    talos_sha256(s ? s->bytes : NULL, s ? s->len : 0, h);
    return out_hex(out, h, sizeof(h));
}

/* ocall NAME CAP [ARG]: ask the host with a resp buffer of CAP bytes; print
 * the answer as hex. The buffer is followed by guard bytes and pre-filled
 * with them, so writes beyond what the runtime reports are seen. */
static int v_ocall(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    static uint8_t buf[RESP_MAX + GUARD];
    char *end = NULL;
    unsigned long cap = strtoul(argv[1].ptr, &end, 10);
    size_t n = 12345;
    int rc = TALOS_OK;

    if (*end || cap > RESP_MAX) {
        talos_out_reason(out, "CAP must be 0..%d", RESP_MAX);
        return TALOS_ERR_BAD_ARGS;
    }
    memset(buf, GUARD_BYTE, sizeof(buf));
    rc = talos_call_host(argv[0].ptr, argc > 2 ? argv[2].ptr : NULL, argc > 2 ? argv[2].len : 0,
                         buf, cap, &n);
    if (rc == TALOS_OK && n > cap) {
        talos_out_reason(out, "runtime returned %zu bytes for a capacity of %lu", n, cap);
        return TALOS_ERR_TA_REFUSED;
    }
    if (rc != TALOS_OK && n != 0) {
        talos_out_reason(out, "runtime refused (%d) but set resp_len to %zu", rc, n);
        return TALOS_ERR_TA_REFUSED;
    }
    /* Bytes the runtime did not report as written must be untouched: beyond
     * n on success, all of them on failure. */
    for (size_t i = rc == TALOS_OK ? n : 0; i < cap + GUARD; i++)
        if (buf[i] != GUARD_BYTE) {
            talos_out_reason(out, "runtime wrote byte %zu of the resp buffer (answer %zu, cap %lu)",
                             i, rc == TALOS_OK ? n : 0, cap);
            return TALOS_ERR_TA_REFUSED;
        }
    if (rc != TALOS_OK) {
        talos_out_reason(out, "ocall %s refused", argv[0].ptr);
        return rc;
    }
    return out_hex(out, buf, n);
}

/* seal: SHA-256 of the seal key, hex (never the key). A refusal must leave
 * the key buffer wiped: no half-written key from a hostile answer. */
static int v_seal(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint8_t key[TALOS_SEAL_KEY_BYTES], h[TALOS_SHA256_BYTES];
    int rc = TALOS_OK;

    (void)argc, (void)argv;
    memset(key, GUARD_BYTE, sizeof(key));
    if ((rc = talos_seal_key(TALOS_SEAL_MEASUREMENT, key)) != TALOS_OK) {
        for (size_t i = 0; i < sizeof(key); i++)
            if (key[i] != 0) {
                talos_out_reason(out, "a refused seal key was not wiped");
                return TALOS_ERR_TA_REFUSED;
            }
        return rc;
    }
    talos_sha256(key, sizeof(key), h);
    talos_wipe(key, sizeof(key));
    return out_hex(out, h, sizeof(h));
}

static const struct talos_ecall victim_ecalls[] = {
    {"set", v_set, 1, 1, 1024, "VALUE"},
    {"digest", v_digest, 0, 0, 0, ""},
    {"ocall", v_ocall, 2, 3, 4096, "NAME CAP [ARG]"},
    {"seal", v_seal, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("victim", victim_ecalls, NULL);
