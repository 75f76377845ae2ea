/* tests/lib_state/canary.c: a library's static buffer, for the I4 test. */
#ifndef TALOS_TESTS_LIB_STATE_CANARY_H
#define TALOS_TESTS_LIB_STATE_CANARY_H

void canary_keep(const char *s);
const char *canary_kept(void);

#endif
