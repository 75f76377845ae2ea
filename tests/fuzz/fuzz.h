/* Shared by the libFuzzer harnesses (docs/fuzzing.md). Each harness feeds
 * one decoder hostile bytes under ASan+UBSan and checks, where it is cheap,
 * what a successful decode promises. A broken promise aborts: libFuzzer
 * saves the input as a crash like any sanitizer report. */
#ifndef TALOS_TESTS_FUZZ_H
#define TALOS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline uint32_t fuzz_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
