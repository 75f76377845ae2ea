/* The test TAs' one output format for bytes: lower-case hex, so that the
 * integration tests compare answers as text. */
#ifndef TALOS_TESTS_TA_HEXOUT_H
#define TALOS_TESTS_TA_HEXOUT_H

#include <stddef.h>
#include <stdint.h>

#include "talos/ta.h"

/* Append n bytes of p to out as hex; TALOS_ERR_TOO_LARGE when out is full. */
static inline int out_hex(struct talos_out *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (talos_out_printf(out, "%02x", p[i]) != TALOS_OK)
            return TALOS_ERR_TOO_LARGE;
    return TALOS_OK;
}

#endif
