/* The one-way lifecycle of a TA instance (SECURITY.md, "Lifecycle"), as one
 * const transition table.
 *
 *   source: ACTIVE -> FROZEN -> HANDED_OFF -> RETIRED; FROZEN -> ACTIVE on
 *           its own (nothing was promised yet); HANDED_OFF -> ACTIVE only
 *           with a verified ABORT of the target of that session.
 *   target: EMPTY -> IMPORTING -> PREPARED -> ACTIVE, or -> FAILED before
 *           ACTIVE (terminal; only then does it seal the ABORT).
 *   launch: EMPTY -> ACTIVE for a fresh instance, which starts a lineage.
 * RETIRED and FAILED are terminal; an ACTIVE target is an ACTIVE instance
 * like any other and may become a source.
 *
 * The TA runtime changes its state only through talos_life_apply (ta/rt.h
 * talos_rt_enter), so that no code path can make a move the table does not
 * name. What makes an event legitimate (a MAC that verifies, a stream that
 * checks out) is its caller's to establish before applying it.
 * Trusted code; no OS dependency. */
#ifndef TALOS_CORE_LIFECYCLE_H
#define TALOS_CORE_LIFECYCLE_H

enum talos_life_state {
    TALOS_LIFE_EMPTY = 0, /* a virgin instance: no lineage, no state */
    TALOS_LIFE_IMPORTING, /* target: attested its source, taking the state */
    TALOS_LIFE_PREPARED,  /* target: holds verified state, waits for HANDOFF */
    TALOS_LIFE_ACTIVE,    /* serves its lineage */
    TALOS_LIFE_FROZEN,    /* source: quiescent, streaming its state */
    TALOS_LIFE_HANDED_OFF, /* source: sent HANDOFF; serves again only with an ABORT */
    TALOS_LIFE_RETIRED,   /* source: the target serves; state and keys wiped */
    TALOS_LIFE_FAILED,    /* target: refused before ACTIVE */
    TALOS_LIFE_N_STATES
};

/* A set of states, as bits (the frame tables' allowed states). */
#define TALOS_LIFE_BIT(s) (1u << (s))
#define TALOS_LIFE_ANY ((1u << TALOS_LIFE_N_STATES) - 1)

enum talos_life_event {
    TALOS_LIFE_GENESIS = 0,      /* EMPTY -> ACTIVE: a fresh launch starts a lineage */
    TALOS_LIFE_FREEZE,           /* ACTIVE -> FROZEN: a source stops to stream its state */
    TALOS_LIFE_UNFREEZE,         /* FROZEN -> ACTIVE: it serves on, nothing was promised */
    TALOS_LIFE_HANDOFF,          /* FROZEN -> HANDED_OFF: the point of no return */
    TALOS_LIFE_ABORT_VERIFIED,   /* HANDED_OFF -> ACTIVE: the target's ABORT verified */
    TALOS_LIFE_RECEIPT,          /* HANDED_OFF -> RETIRED: the target's RECEIPT verified */
    TALOS_LIFE_IMPORT,           /* EMPTY -> IMPORTING: a target attested its source */
    TALOS_LIFE_PREPARE,          /* IMPORTING -> PREPARED: the state verified */
    TALOS_LIFE_ACTIVATE,         /* PREPARED -> ACTIVE: a valid HANDOFF, the node recorded it */
    TALOS_LIFE_FAIL,             /* EMPTY, IMPORTING, PREPARED -> FAILED */
    TALOS_LIFE_N_EVENTS
};

/* The state `ev` moves `from` to: TALOS_OK and *to; TALOS_ERR_STATE when the
 * lifecycle does not allow that event in that state (*to = from);
 * TALOS_ERR_INVALID_ARG for a state or event out of range. */
int talos_life_next(enum talos_life_state from, enum talos_life_event ev,
                    enum talos_life_state *to);

/* talos_life_next applied to *s: changed only on TALOS_OK. */
int talos_life_apply(enum talos_life_state *s, enum talos_life_event ev);

/* The states in which `ev` may happen (TALOS_LIFE_BIT set; 0 out of range). */
unsigned talos_life_from(enum talos_life_event ev);

/* "ACTIVE", "freeze", ...; "UNKNOWN" / "unknown" out of range. */
const char *talos_life_state_name(enum talos_life_state s);
const char *talos_life_event_name(enum talos_life_event ev);

#endif
