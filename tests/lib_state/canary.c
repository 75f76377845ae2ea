/* A static library that keeps a secret in its own static buffer (built as
 * build/tests/lib/libcanary.a and named as a state library of
 * tests/ta_state/heapstress, D47): the I4 test (tests/attacks/i04_canary.sh)
 * plants a canary here and checks it never leaves the TA in plaintext. */
#include <stdio.h>

#include "tests/lib_state/canary.h"

static char kept[64];

void canary_keep(const char *s)
{
    snprintf(kept, sizeof(kept), "%s", s);
}

const char *canary_kept(void)
{
    return kept;
}
