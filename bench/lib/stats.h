/* What every benchmark under bench/ needs: a monotonic clock, medians and
 * sizes with K/M/G suffixes. Linked into each bench program (Makefile). */
#ifndef TALOS_BENCH_STATS_H
#define TALOS_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A clock in ns: bench_now_ns is CLOCK_MONOTONIC; bench_clock_ns takes any
 * (CLOCK_THREAD_CPUTIME_ID for a thread's CPU time). */
uint64_t bench_now_ns(void);
uint64_t bench_clock_ns(clockid_t id);
/* qsort comparators. */
int bench_cmp_u64(const void *a, const void *b);
int bench_cmp_double(const void *a, const void *b);
/* Medians (of the two middle values for an even n); sort v in place. */
uint64_t bench_median_u64(uint64_t *v, size_t n);
double bench_median_double(double *v, size_t n);
/* "4096", "64K", "16M", "1G": the bytes; anything else (or 0) prints
 * "PROG: bad size S" and exits 2. */
size_t bench_parse_size(const char *prog, const char *s);
/* Two ends of a fresh TCP connection on 127.0.0.1, TCP_NODELAY on both (as
 * talosd sets them); 0, or -1 with errno set. */
int bench_loopback_pair(int *a, int *b);

/* The transfer sizes limit and migrate measure without SIZE arguments,
 * 64 KiB to 256 MiB, into out (cap entries); returns how many. */
size_t bench_default_sizes(size_t *out, size_t cap);

struct talos_host;
struct talos_host_config;
/* Open a host whose state dir is a fresh mkdtemp(dir) (dir a template,
 * changed in place) with the options of hc. 0, or 1 after printing
 * "PROG: error". */
int bench_host_open(const char *prog, char *dir, struct talos_host_config *hc,
                    struct talos_host **h);

#endif
