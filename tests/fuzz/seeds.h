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

/* main's start: the one argument, CORPUS_DIR, created if missing, into
 * *root. 0, or the exit status after printing why (2: usage). */
static inline int seed_root(int argc, char **argv, const char *prog, const char **root)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", prog);
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
        perror(argv[1]);
        return 1;
    }
    *root = argv[1];
    return 0;
}

/* A recognisable, deterministic byte pattern. */
static inline void seed_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

#endif
