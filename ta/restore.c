/* The TA's restore hook (include/talos/ta.h, D45): run once on a lineage's
 * new home, on verified state and before the target answers PREPARED, so
 * that a hook that refuses fails the migration (FAILED, ABORT) and the
 * source serves on. A hook that ran commits like an ecall once the target
 * is ACTIVE: its writes to the migrated state then belong to version v + 1,
 * never to the version v whose state root the source certified (a state
 * certificate of v must name that root). Trusted code. */
#include <stdio.h>

#include "core/log.h"
#include "ta/cert.h"
#include "ta/rt.h"

/* Set when the hook ran on the state that is about to be activated. */
static int commit_pending;

static const char *reason_name(enum talos_restore_reason why)
{
    return why == TALOS_RESTORE_MIGRATED    ? "migrated"
           : why == TALOS_RESTORE_RECOVERED ? "recovered"
                                            : "?";
}

int talos_rt_restore_run(enum talos_restore_reason why, uint64_t version, char *reason, size_t cap)
{
    uint64_t was = talos_rt.version;
    int rc = TALOS_OK;

    commit_pending = 0;
    if (!talos_rt.desc->restore)
        return TALOS_OK;
    talos_rt_ta_code_begins();
    /* talos_version() inside the hook: the version the lineage arrives with. */
    talos_rt.version = version;
    rc = talos_rt.desc->restore(why);
    talos_rt.version = was;
    if (rc > 0 || rc < TALOS_ERR_MIN)
        rc = TALOS_ERR_TA_REFUSED;
    if (rc != TALOS_OK) {
        snprintf(reason, cap, "the restore hook of %s refused its new home (%s, version %llu): %s",
                 talos_rt.desc->name, reason_name(why), (unsigned long long)version,
                 talos_strerror(rc));
        TLOG_ERR("%s", reason);
        return TALOS_ERR_RESTORE_HOOK;
    }
    commit_pending = 1;
    TLOG_INFO("restore hook of %s ran (%s, version %llu)", talos_rt.desc->name, reason_name(why),
              (unsigned long long)version);
    return TALOS_OK;
}

void talos_rt_restore_commit(void)
{
    if (!commit_pending || talos_rt.state != RT_ACTIVE)
        return;
    commit_pending = 0;
    talos_rt.version++;
    talos_rt_exec_note(talos_rt.version, TALOS_RT_EXEC_RESTORE);
}
