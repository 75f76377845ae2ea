/* restore: a test TA with a restore hook (include/talos/ta.h, D45). The
 * hook counts arrivals in the persist section, notes the reason, the
 * version it saw and how many calls this process had served (0: it ran
 * before the first call), and rebuilds a process-local value that would
 * otherwise be stale on the target. `arm` makes the next arrival's hook
 * refuse. */
#include <string.h>
#include <unistd.h>

#include "talos/ta.h"
#include "tests/ta/hexout.h"

static struct {
    uint64_t restores;     /* hooks that ran, over the lineage */
    uint64_t last_reason;  /* enum talos_restore_reason of the last one */
    uint64_t hook_version; /* talos_version() inside the last hook */
    uint64_t calls_before; /* calls this process served before the last hook */
    uint64_t fail_next;    /* 1: the next hook refuses */
    uint64_t value;        /* ordinary state */
} st TALOS_PERSIST;

/* Process-local, not migrated: a fresh process starts with 0. */
static uint64_t calls_here;
static pid_t local_pid; /* what the hook (or init) rebuilds */

static int r_init(void)
{
    local_pid = getpid();
    return TALOS_OK;
}

static int r_restore(enum talos_restore_reason why)
{
    if (st.fail_next)
        return TALOS_ERR_TA_REFUSED;
    st.restores++;
    st.last_reason = (uint64_t)why;
    st.hook_version = talos_version();
    st.calls_before = calls_here;
    local_pid = getpid();
    return TALOS_OK;
}

static int r_status(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    calls_here++;
    return talos_out_printf(out,
                            "restores=%llu reason=%llu hook_version=%llu calls_before=%llu "
                            "local=%s",
                            (unsigned long long)st.restores, (unsigned long long)st.last_reason,
                            (unsigned long long)st.hook_version,
                            (unsigned long long)st.calls_before,
                            local_pid == getpid() ? "fresh" : "stale");
}

static int r_arm(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)out;
    calls_here++;
    st.fail_next = argc ? (uint64_t)(argv[0].ptr[0] == '1') : 1;
    return TALOS_OK;
}

static int r_put(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)out;
    calls_here++;
    st.value = 0;
    for (size_t i = 0; i < argv[0].len; i++)
        st.value = st.value * 10 + (uint64_t)(argv[0].ptr[i] - '0');
    return TALOS_OK;
}

/* SHA-256 of the whole persist struct: the migrated state, as hex. */
static int r_digest(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint8_t h[TALOS_SHA256_BYTES];
    (void)argc, (void)argv;
    calls_here++;
    talos_sha256(&st, sizeof(st), h);
    return out_hex(out, h, sizeof(h));
}

static const struct talos_ecall restore_ecalls[] = {
    {"status", r_status, 0, 0, 0, ""},
    {"arm", r_arm, 0, 1, 1, "[0|1]"},
    {"put", r_put, 1, 1, 18, "NUMBER"},
    {"digest", r_digest, 0, 0, 0, ""},
};

TALOS_TA_DEFINE_RESTORE("restore", restore_ecalls, r_init, r_restore);
