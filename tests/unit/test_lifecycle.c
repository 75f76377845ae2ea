/* The lifecycle table (core/lifecycle.c), exhaustively: every (state,
 * event) pair either moves exactly as SECURITY.md allows or is refused with
 * TALOS_ERR_STATE and leaves the state as it was. The expected moves are
 * written out here from SECURITY.md, not derived from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/lifecycle.h"
#include "talos/err.h"

#define NS TALOS_LIFE_N_STATES
#define NE TALOS_LIFE_N_EVENTS
#define NO (-1) /* refused */

enum { EMPTY = TALOS_LIFE_EMPTY, IMPORTING = TALOS_LIFE_IMPORTING, PREPARED = TALOS_LIFE_PREPARED,
       ACTIVE = TALOS_LIFE_ACTIVE, FROZEN = TALOS_LIFE_FROZEN, HANDED_OFF = TALOS_LIFE_HANDED_OFF,
       RETIRED = TALOS_LIFE_RETIRED, FAILED = TALOS_LIFE_FAILED };

/* allowed[state][event]: the state it leads to, or NO. */
static const int allowed[NS][NE] = {
    /*               genesis  freeze  unfreeze handoff     abort_verified receipt  import     prepare   activate fail */
    [EMPTY] =       {ACTIVE,  NO,     NO,      NO,         NO,            NO,      IMPORTING, NO,       NO,      FAILED},
    [IMPORTING] =   {NO,      NO,     NO,      NO,         NO,            NO,      NO,        PREPARED, NO,      FAILED},
    [PREPARED] =    {NO,      NO,     NO,      NO,         NO,            NO,      NO,        NO,       ACTIVE,  FAILED},
    [ACTIVE] =      {NO,      FROZEN, NO,      NO,         NO,            NO,      NO,        NO,       NO,      NO},
    [FROZEN] =      {NO,      NO,     ACTIVE,  HANDED_OFF, NO,            NO,      NO,        NO,       NO,      NO},
    [HANDED_OFF] =  {NO,      NO,     NO,      NO,         ACTIVE,        RETIRED, NO,        NO,       NO,      NO},
    [RETIRED] =     {NO,      NO,     NO,      NO,         NO,            NO,      NO,        NO,       NO,      NO},
    [FAILED] =      {NO,      NO,     NO,      NO,         NO,            NO,      NO,        NO,       NO,      NO},
};

static void every_pair(void **state)
{
    (void)state;
    assert_int_equal(NE, 10); /* a new event needs its column above */
    for (int s = 0; s < NS; s++)
        for (int e = 0; e < NE; e++) {
            enum talos_life_state to = (enum talos_life_state)99, cur = (enum talos_life_state)s;
            int rc = talos_life_next((enum talos_life_state)s, (enum talos_life_event)e, &to);
            int ra = talos_life_apply(&cur, (enum talos_life_event)e);
            if (allowed[s][e] == NO) {
                assert_int_equal(rc, TALOS_ERR_STATE);
                assert_int_equal(to, s);
                assert_int_equal(ra, TALOS_ERR_STATE);
                assert_int_equal(cur, s); /* a refusal changes nothing (I8) */
                assert_false(talos_life_from((enum talos_life_event)e) & TALOS_LIFE_BIT(s));
            } else {
                assert_int_equal(rc, TALOS_OK);
                assert_int_equal(to, allowed[s][e]);
                assert_int_equal(ra, TALOS_OK);
                assert_int_equal(cur, allowed[s][e]);
                assert_true(talos_life_from((enum talos_life_event)e) & TALOS_LIFE_BIT(s));
            }
        }
}

/* The invariants SECURITY.md states, checked over the table itself. */
static void invariants(void **state)
{
    (void)state;
    for (int e = 0; e < NE; e++) {
        enum talos_life_state to;
        /* RETIRED and FAILED are terminal (I5, I6). */
        assert_int_equal(talos_life_next(TALOS_LIFE_RETIRED, (enum talos_life_event)e, &to),
                         TALOS_ERR_STATE);
        assert_int_equal(talos_life_next(TALOS_LIFE_FAILED, (enum talos_life_event)e, &to),
                         TALOS_ERR_STATE);
        /* HANDED_OFF serves again only through a verified ABORT (I5). */
        if (talos_life_next(TALOS_LIFE_HANDED_OFF, (enum talos_life_event)e, &to) == TALOS_OK &&
            to == TALOS_LIFE_ACTIVE)
            assert_int_equal(e, TALOS_LIFE_ABORT_VERIFIED);
        /* Nothing that served, or froze, fails like a target. */
        if (talos_life_next(TALOS_LIFE_ACTIVE, (enum talos_life_event)e, &to) == TALOS_OK)
            assert_int_not_equal(to, TALOS_LIFE_FAILED);
    }
}

static void out_of_range(void **state)
{
    enum talos_life_state s = TALOS_LIFE_ACTIVE, to;
    (void)state;
    assert_int_equal(talos_life_next((enum talos_life_state)NS, TALOS_LIFE_FREEZE, &to),
                     TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_life_next(TALOS_LIFE_ACTIVE, (enum talos_life_event)NE, &to),
                     TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_life_next((enum talos_life_state)-1, TALOS_LIFE_FREEZE, &to),
                     TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_life_apply(&s, (enum talos_life_event)-1), TALOS_ERR_INVALID_ARG);
    assert_int_equal(s, TALOS_LIFE_ACTIVE);
    assert_int_equal(talos_life_from((enum talos_life_event)NE), 0);
    assert_string_equal(talos_life_state_name((enum talos_life_state)NS), "UNKNOWN");
    assert_string_equal(talos_life_event_name((enum talos_life_event)NE), "unknown");
}

/* The names the TA reports to its host (INFO, `talos ps`) stay as they were. */
static void names(void **state)
{
    static const char *const want[NS] = {"EMPTY",  "IMPORTING",  "PREPARED", "ACTIVE",
                                         "FROZEN", "HANDED_OFF", "RETIRED",  "FAILED"};
    (void)state;
    for (int s = 0; s < NS; s++)
        assert_string_equal(talos_life_state_name((enum talos_life_state)s), want[s]);
    assert_string_equal(talos_life_event_name(TALOS_LIFE_ABORT_VERIFIED), "abort_verified");
    for (int e = 0; e < NE; e++)
        assert_string_not_equal(talos_life_event_name((enum talos_life_event)e), "unknown");
}

/* The two scripts of a migration, and a source resuming, end to end. */
static void scripts(void **state)
{
    static const enum talos_life_event source[] = {TALOS_LIFE_GENESIS, TALOS_LIFE_FREEZE,
                                                   TALOS_LIFE_HANDOFF, TALOS_LIFE_RECEIPT};
    static const enum talos_life_event target[] = {TALOS_LIFE_IMPORT, TALOS_LIFE_PREPARE,
                                                   TALOS_LIFE_ACTIVATE, TALOS_LIFE_FREEZE,
                                                   TALOS_LIFE_UNFREEZE};
    static const enum talos_life_event doubt[] = {TALOS_LIFE_GENESIS, TALOS_LIFE_FREEZE,
                                                  TALOS_LIFE_HANDOFF, TALOS_LIFE_ABORT_VERIFIED};
    enum talos_life_state s = TALOS_LIFE_EMPTY;
    (void)state;
    for (size_t i = 0; i < sizeof(source) / sizeof(source[0]); i++)
        assert_int_equal(talos_life_apply(&s, source[i]), TALOS_OK);
    assert_int_equal(s, TALOS_LIFE_RETIRED);
    s = TALOS_LIFE_EMPTY;
    for (size_t i = 0; i < sizeof(target) / sizeof(target[0]); i++)
        assert_int_equal(talos_life_apply(&s, target[i]), TALOS_OK);
    assert_int_equal(s, TALOS_LIFE_ACTIVE);
    s = TALOS_LIFE_EMPTY;
    for (size_t i = 0; i < sizeof(doubt) / sizeof(doubt[0]); i++)
        assert_int_equal(talos_life_apply(&s, doubt[i]), TALOS_OK);
    assert_int_equal(s, TALOS_LIFE_ACTIVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair), cmocka_unit_test(invariants), cmocka_unit_test(out_of_range),
        cmocka_unit_test(names),      cmocka_unit_test(scripts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
