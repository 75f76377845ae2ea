#include "bench/lib/stats.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "talos/talos.h"

uint64_t bench_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_now_ns(void)
{
    return bench_clock_ns(CLOCK_MONOTONIC);
}

int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

uint64_t bench_median_u64(uint64_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), bench_cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_median_double(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

size_t bench_parse_size(const char *prog, const char *s)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);

    switch (*end) {
    case 'K': case 'k': v <<= 10; end++; break;
    case 'M': case 'm': v <<= 20; end++; break;
    case 'G': case 'g': v <<= 30; end++; break;
    default: break;
    }
    if (end == s || *end || v == 0) {
        fprintf(stderr, "%s: bad size %s\n", prog, s);
        exit(2);
    }
    return (size_t)v;
}

int bench_loopback_pair(int *a, int *b)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int one = 1, rc = -1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    *a = *b = -1;
    if (l >= 0 && !bind(l, (struct sockaddr *)&sa, sizeof(sa)) && !listen(l, 1) &&
        !getsockname(l, (struct sockaddr *)&sa, &sl) &&
        (*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
        !connect(*a, (struct sockaddr *)&sa, sizeof(sa)) &&
        (*b = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        (void)setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        rc = 0;
    } else if (*a >= 0) {
        close(*a);
        *a = -1;
    }
    if (l >= 0)
        close(l);
    return rc;
}

size_t bench_default_sizes(size_t *out, size_t cap)
{
    static const size_t def[] = {64u << 10, 1u << 20, 16u << 20, 64u << 20, 256u << 20};
    size_t n = sizeof(def) / sizeof(def[0]) < cap ? sizeof(def) / sizeof(def[0]) : cap;

    for (size_t i = 0; i < n; i++)
        out[i] = def[i];
    return n;
}

int bench_host_open(const char *prog, char *dir, struct talos_host_config *hc,
                    struct talos_host **h)
{
    int rc = TALOS_OK;

    if (!mkdtemp(dir)) {
        fprintf(stderr, "%s: %s: cannot make the state dir\n", prog, dir);
        return 1;
    }
    hc->state_dir = dir;
    if ((rc = talos_host_open(hc, h)) != TALOS_OK) {
        fprintf(stderr, "%s: %s\n", prog, talos_strerror(rc));
        return 1;
    }
    return 0;
}
