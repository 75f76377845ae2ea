/* How fast the state's leaves hash (core/merkle.c), one thread, over a
 * resident buffer of SIZE bytes of random pages:
 *
 *   - D41 leaf: what a leaf was before D42, BLAKE3 keyed with
 *     0x00 ‖ u64 BE index ‖ zeros over the page, one page per hasher
 *     (public API; kept here only to measure against);
 *   - leaf, one page a call: talos_merkle_leaf for each page;
 *   - leaves, 64 pages a call: talos_merkle_leaves per CHUNK record's worth
 *     (TALOS_MIG_CHUNK_PAGES), as prehash, the target and pre-copy call it;
 *   - leaves + tree: the same, then talos_merkle_root over them (a root);
 *   - BLAKE3 over the whole buffer: the library's own hash of SIZE bytes,
 *     the ceiling (every lane full, the tree inside BLAKE3).
 *
 *   hash [--runs N] [--tsv] [SIZE...]      default 1M 64M, 7 runs
 *
 * Prints the median throughput in GB/s (10^9 bytes per second of the
 * thread's CPU time). On a shared machine, CPU time is steadier than wall
 * time, but caches and the memory bus are shared too: compare columns of
 * one run, and runs of one session. */
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench/lib/stats.h"
#include "blake3.h"
#include "core/merkle.h"
#include "core/wire.h"
#include "talos/abi.h"

#define MAX_SIZES 8
#define METHODS 5

static const char *const names[METHODS] = {
    "D41 leaf (keyed per page)", "leaf, one page a call", "leaves, 64 pages a call",
    "leaves + tree (a root)", "BLAKE3 over the whole buffer"};

static uint8_t sink; /* keeps the results alive */

static void d41_leaf(uint64_t i, const uint8_t *page, uint8_t out[TALOS_HASH])
{
    uint8_t key[BLAKE3_KEY_LEN] = {0};
    blake3_hasher h;

    talos_be64_put(key + 1, i);
    blake3_hasher_init_keyed(&h, key);
    blake3_hasher_update(&h, page, TALOS_PAGE);
    blake3_hasher_finalize(&h, out, TALOS_HASH);
}

static void run_method(int m, const uint8_t *buf, size_t n_pages, uint8_t *leaves)
{
    blake3_hasher h;

    switch (m) {
    case 0:
        for (size_t i = 0; i < n_pages; i++)
            d41_leaf(i, buf + i * TALOS_PAGE, leaves + i * TALOS_HASH);
        break;
    case 1:
        for (size_t i = 0; i < n_pages; i++)
            talos_merkle_leaf(i, buf + i * TALOS_PAGE, leaves + i * TALOS_HASH);
        break;
    case 2:
    case 3:
        for (size_t i = 0; i < n_pages; i += TALOS_MIG_CHUNK_PAGES) {
            size_t k = n_pages - i < TALOS_MIG_CHUNK_PAGES ? n_pages - i : TALOS_MIG_CHUNK_PAGES;
            talos_merkle_leaves(i, buf + i * TALOS_PAGE, k, leaves + i * TALOS_HASH);
        }
        if (m == 3)
            talos_merkle_root(leaves, n_pages, leaves);
        break;
    default:
        blake3_hasher_init(&h);
        blake3_hasher_update(&h, buf, n_pages * TALOS_PAGE);
        blake3_hasher_finalize(&h, leaves, TALOS_HASH);
        break;
    }
    sink ^= leaves[0];
}

int main(int argc, char **argv)
{
    size_t sizes[MAX_SIZES], n_sizes = 0;
    int runs = 7, tsv = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tsv") == 0)
            tsv = 1;
        else if (n_sizes < MAX_SIZES)
            sizes[n_sizes++] = bench_parse_size("hash", argv[i]);
    }
    if (runs < 1 || runs > 100) {
        fprintf(stderr, "usage: hash [--runs N] [--tsv] [SIZE...]\n");
        return 2;
    }
    if (!n_sizes) {
        sizes[n_sizes++] = 1u << 20;
        sizes[n_sizes++] = 64u << 20;
    }
    if (tsv)
        printf("# size_bytes\tmethod\tgb_per_s\truns\n");
    else
        printf("| size | method | GB/s (median of %d, thread CPU time) |\n|---:|---|---:|\n", runs);
    for (size_t s = 0; s < n_sizes; s++) {
        size_t n_pages = (sizes[s] + TALOS_PAGE - 1) / TALOS_PAGE;
        uint8_t *buf = mmap(NULL, n_pages * TALOS_PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint8_t *leaves = malloc(n_pages * TALOS_HASH);
        if (buf == MAP_FAILED || !leaves) {
            fprintf(stderr, "hash: out of memory\n");
            return 1;
        }
        for (size_t off = 0; off < n_pages * TALOS_PAGE; off += 1u << 20)
            if (RAND_bytes(buf + off, (int)(n_pages * TALOS_PAGE - off < (1u << 20)
                                                ? n_pages * TALOS_PAGE - off
                                                : 1u << 20)) != 1) {
                fprintf(stderr, "hash: RAND_bytes failed\n");
                return 1;
            }
        double gbs[METHODS][100];
        for (int r = 0; r < runs; r++)
            for (int m = 0; m < METHODS; m++) { /* interleaved: drift hits every method */
                if (r == 0)
                    run_method(m, buf, n_pages, leaves); /* warm up */
                uint64_t t = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
                run_method(m, buf, n_pages, leaves);
                t = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID) - t;
                gbs[m][r] = (double)(n_pages * TALOS_PAGE) / (double)(t ? t : 1);
            }
        for (int m = 0; m < METHODS; m++) {
            double med = bench_median_double(gbs[m], (size_t)runs);
            if (tsv)
                printf("%zu\t%s\t%.2f\t%d\n", n_pages * TALOS_PAGE, names[m], med, runs);
            else
                printf("| %zu KiB | %s | %.2f |\n", n_pages * TALOS_PAGE >> 10, names[m], med);
        }
        fflush(stdout);
        munmap(buf, n_pages * TALOS_PAGE);
        free(leaves);
    }
    return sink == 0x5a ? 0 : 0; /* sink read: the work is not optimized away */
}
