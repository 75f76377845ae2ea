/* Writing seed corpora: shared by tests/fuzz/gen_seeds.c and every
 * backend's tee/<name>/tests/gen_seeds.c (make fuzz-seeds). */
#ifndef TALOS_TESTS_FUZZ_SEEDS_H
#define TALOS_TESTS_FUZZ_SEEDS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

/* Write n bytes of p to <root>/<harness>/<name>, creating the harness's
 * folder; 0, or -1 after printing why. */
static inline int seed_write(const char *root, const char *harness, const char *name,
                             const void *p, size_t n)
{
    char dir[4096], path[4200];
    FILE *f = NULL;

    snprintf(dir, sizeof(dir), "%s/%s", root, harness);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")) || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

/* A recognisable, deterministic byte pattern. */
static inline void seed_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

#endif
