/* Byte checks the unit tests and fuzz harnesses share. */
#ifndef TALOS_TESTS_BYTES_H
#define TALOS_TESTS_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* 1 when all n bytes at p are zero (a wiped or refused output). */
static inline int test_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

#endif
