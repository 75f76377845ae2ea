#include "core/lifecycle.h"

#include <stddef.h>

#include "talos/err.h"

#define B(s) TALOS_LIFE_BIT(TALOS_LIFE_##s)

/* Every legal move, one row per event: the states it may happen in and
 * the state it leads to. Anything not here is refused. */
static const struct transition {
    const char *name;
    unsigned from;
    enum talos_life_state to;
} table[TALOS_LIFE_N_EVENTS] = {
    [TALOS_LIFE_GENESIS] = {"genesis", B(EMPTY), TALOS_LIFE_ACTIVE},
    [TALOS_LIFE_FREEZE] = {"freeze", B(ACTIVE), TALOS_LIFE_FROZEN},
    [TALOS_LIFE_UNFREEZE] = {"unfreeze", B(FROZEN), TALOS_LIFE_ACTIVE},
    [TALOS_LIFE_HANDOFF] = {"handoff", B(FROZEN), TALOS_LIFE_HANDED_OFF},
    [TALOS_LIFE_ABORT_VERIFIED] = {"abort_verified", B(HANDED_OFF), TALOS_LIFE_ACTIVE},
    [TALOS_LIFE_RECEIPT] = {"receipt", B(HANDED_OFF), TALOS_LIFE_RETIRED},
    [TALOS_LIFE_IMPORT] = {"import", B(EMPTY), TALOS_LIFE_IMPORTING},
    [TALOS_LIFE_PREPARE] = {"prepare", B(IMPORTING), TALOS_LIFE_PREPARED},
    [TALOS_LIFE_ACTIVATE] = {"activate", B(PREPARED), TALOS_LIFE_ACTIVE},
    /* Before ACTIVE only: a target that served once is the lineage. */
    [TALOS_LIFE_FAIL] = {"fail", B(EMPTY) | B(IMPORTING) | B(PREPARED), TALOS_LIFE_FAILED},
};

static const char *const state_names[TALOS_LIFE_N_STATES] = {
    [TALOS_LIFE_EMPTY] = "EMPTY",       [TALOS_LIFE_IMPORTING] = "IMPORTING",
    [TALOS_LIFE_PREPARED] = "PREPARED", [TALOS_LIFE_ACTIVE] = "ACTIVE",
    [TALOS_LIFE_FROZEN] = "FROZEN",     [TALOS_LIFE_HANDED_OFF] = "HANDED_OFF",
    [TALOS_LIFE_RETIRED] = "RETIRED",   [TALOS_LIFE_FAILED] = "FAILED",
};

int talos_life_next(enum talos_life_state from, enum talos_life_event ev,
                    enum talos_life_state *to)
{
    *to = from;
    if ((unsigned)from >= TALOS_LIFE_N_STATES || (unsigned)ev >= TALOS_LIFE_N_EVENTS)
        return TALOS_ERR_INVALID_ARG;
    if (!(table[ev].from & TALOS_LIFE_BIT(from)))
        return TALOS_ERR_STATE;
    *to = table[ev].to;
    return TALOS_OK;
}

int talos_life_apply(enum talos_life_state *s, enum talos_life_event ev)
{
    enum talos_life_state to = *s;
    int rc = talos_life_next(*s, ev, &to);

    if (rc == TALOS_OK)
        *s = to;
    return rc;
}

unsigned talos_life_from(enum talos_life_event ev)
{
    return (unsigned)ev < TALOS_LIFE_N_EVENTS ? table[ev].from : 0;
}

const char *talos_life_state_name(enum talos_life_state s)
{
    return (unsigned)s < TALOS_LIFE_N_STATES ? state_names[s] : "UNKNOWN";
}

const char *talos_life_event_name(enum talos_life_event ev)
{
    return (unsigned)ev < TALOS_LIFE_N_EVENTS ? table[ev].name : "unknown";
}
