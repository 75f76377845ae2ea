/* The execution-flow check of a migrated thread (docs/cfg.md): part of the
 * CFG model (no ELF, no Capstone), linked into TA images.
 * Every address comes from the migration peer and is hostile: it is only
 * looked up, never followed. */
#include <inttypes.h>
#include <string.h>

#include "core/reason.h"
#include "talos/err.h"
#include "core/cfg/cfg.h"

/* The function holding addr, refused when there is none or when its bytes
 * were not all decoded (its blocks and call sites may be bogus). */
static int func_of(const struct talos_cfg *cfg, uint64_t addr, const char *what,
                   const struct talos_cfg_func **fn, char *why, size_t cap)
{
    *fn = talos_cfg_func_at(cfg, addr);
    if (!*fn)
        return talos_reason(TALOS_ERR_CFG, why, cap,
                            "%s 0x%" PRIx64 " is in no function of the image", what, addr);
    if ((*fn)->undecoded)
        return talos_reason(TALOS_ERR_CFG, why, cap,
                            "%s 0x%" PRIx64 " is in %s, which has undecoded bytes", what, addr,
                            (*fn)->name);
    return TALOS_OK;
}

int talos_cfg_check_thread(const struct talos_cfg *cfg, const struct talos_cfg_thread *t,
                           char *why, size_t cap)
{
    const struct talos_cfg_func *below = NULL, *fn = NULL;
    const struct talos_cfg_call *call = NULL;
    char name[TALOS_CFG_SYNTH_NAME_BYTES] = "";
    int rc = TALOS_OK;

    if (why && cap)
        why[0] = '\0';
    if (!cfg || !t || (t->n_ret && !t->ret))
        return TALOS_ERR_INVALID_ARG;
    if (!talos_cfg_migration_point(cfg, t->resume))
        return talos_reason(TALOS_ERR_CFG, why, cap,
                            "resume address 0x%" PRIx64 " is no migration point", t->resume);
    if ((rc = func_of(cfg, t->resume, "resume address", &below, why, cap)) != TALOS_OK)
        return rc;
    for (size_t i = 0; i < t->n_ret; i++) {
        if (talos_cfg_call_for_return(cfg, t->ret[i], &call) != TALOS_OK)
            return talos_reason(TALOS_ERR_CFG, why, cap,
                                "return address 0x%" PRIx64 " (frame %zu) follows no call site",
                                t->ret[i], i + 1);
        if ((rc = func_of(cfg, t->ret[i], "return address", &fn, why, cap)) != TALOS_OK)
            return rc;
        /* A direct call must call the function of the frame below; a tail
         * call in between is not followed (refused: the safe side). */
        if (!call->indirect &&
            (call->callee == TALOS_CFG_NO_FUNC || talos_cfg_func(cfg, call->callee) != below))
            return talos_reason(TALOS_ERR_CFG, why, cap,
                                "call site 0x%" PRIx64 " calls %s, but the frame below is in %s",
                                call->site, talos_cfg_callee_name(cfg, call, name), below->name);
        below = fn;
    }
    if (strcmp(below->name, TALOS_CFG_ENTRY) != 0)
        return talos_reason(TALOS_ERR_CFG, why, cap,
                            "outermost frame is in %s, not the runtime entry %s", below->name,
                            TALOS_CFG_ENTRY);
    return TALOS_OK;
}
