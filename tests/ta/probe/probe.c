/* probe: a test TA that exercises every runtime path the examples don't:
 * ocalls, seal keys, the persist section, crashes, limits. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "talos/ta.h"
#include "tests/ta/hexout.h"

static uint64_t persist_counter TALOS_PERSIST;

static int p_noop(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    return TALOS_OK;
}

static int p_echo(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    for (int i = 0; i < argc; i++)
        if (talos_out_write(out, argv[i].ptr, argv[i].len) != TALOS_OK ||
            talos_out_write(out, i + 1 < argc ? " " : "", i + 1 < argc) != TALOS_OK)
            return TALOS_ERR_TOO_LARGE;
    return TALOS_OK;
}

/* ocall NAME [ARG]: print the host's answer (hostile input) as hex. */
static int p_ocall(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint8_t resp[256];
    size_t n = 0;
    int rc = talos_call_host(argv[0].ptr, argc > 1 ? argv[1].ptr : NULL,
                             argc > 1 ? argv[1].len : 0, resp, sizeof(resp), &n);
    if (rc != TALOS_OK) {
        talos_out_reason(out, "ocall %s failed", argv[0].ptr);
        return rc;
    }
    return out_hex(out, resp, n);
}

/* seal: print SHA-256 of the seal key (never the key itself). */
static int p_seal(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint8_t key[TALOS_SEAL_KEY_BYTES], h[TALOS_SHA256_BYTES];
    int rc = talos_seal_key(argc ? (enum talos_seal_policy)atoi(argv[0].ptr) : TALOS_SEAL_MEASUREMENT, key);
    (void)argv;
    if (rc != TALOS_OK)
        return rc;
    talos_sha256(key, sizeof(key), h);
    talos_wipe(key, sizeof(key));
    return out_hex(out, h, sizeof(h));
}

static int p_persist(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    persist_counter++;
    return talos_out_printf(out, "%llu", (unsigned long long)persist_counter);
}

static int p_crash(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    raise(SIGKILL);
    return TALOS_OK;
}

/* alloc N: allocate N MiB in the arena and keep it (arena-full tests). */
static int p_alloc(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    size_t mib = strtoul(argv[0].ptr, NULL, 10);
    void *p = talos_alloc(mib << 20);
    (void)argc;
    if (!p) {
        talos_out_reason(out, "arena cannot hold %zu MiB more", mib);
        return TALOS_ERR_ARENA_FULL;
    }
    memset(p, 0xa5, mib << 20);
    return TALOS_OK;
}

/* out N: produce N bytes of output (output-limit tests). */
static int p_out(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    size_t n = strtoul(argv[0].ptr, NULL, 10);
    char buf[4096];
    int rc = TALOS_OK;
    (void)argc;
    memset(buf, 'x', sizeof(buf));
    for (size_t done = 0; done < n && rc == TALOS_OK; done += sizeof(buf))
        rc = talos_out_write(out, buf, n - done < sizeof(buf) ? n - done : sizeof(buf));
    return rc;
}

static int p_badstatus(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    return 7;
}

static int p_version(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    return talos_out_printf(out, "%llu", (unsigned long long)talos_version());
}

static const struct talos_ecall probe_ecalls[] = {
    {"noop", p_noop, 0, 0, 0, ""},
    {"echo", p_echo, 0, TALOS_MAX_ARGS, TALOS_MAX_ARG_BYTES, "[ARG...]"},
    {"ocall", p_ocall, 1, 2, 4096, "NAME [ARG]"},
    {"seal", p_seal, 0, 1, 8, "[POLICY]"},
    {"persist", p_persist, 0, 0, 0, ""},
    {"crash", p_crash, 0, 0, 0, ""},
    {"alloc", p_alloc, 1, 1, 8, "MIB"},
    {"out", p_out, 1, 1, 12, "BYTES"},
    {"badstatus", p_badstatus, 0, 0, 0, ""},
    {"version", p_version, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("probe", probe_ecalls, NULL);
