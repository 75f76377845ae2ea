/* sockrtt: the floor under a call's round trip on this machine — one
 * 64-byte ping and its pong between two processes, over a Unix socket
 * (what the plain path and a local secure call use to reach talosd) and
 * over TCP loopback (what a remote secure client uses). No TALOS code:
 * only the kernel and the scheduler, measured in the same run as
 * bench/secure.py so that the two can be compared.
 *
 *   sockrtt [N]   -> {"bench": "sockrtt", "unix_us": ..., "tcp_us": ...} (medians)
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int full(int fd, char *b, int writing)
{
    for (size_t d = 0; d < MSG;) {
        ssize_t r = writing ? write(fd, b + d, MSG - d) : read(fd, b + d, MSG - d);
        if (r <= 0)
            return -1;
        d += (size_t)r;
    }
    return 0;
}

static void echo(int fd)
{
    char b[MSG];
    while (full(fd, b, 0) == 0 && full(fd, b, 1) == 0)
        ;
    _exit(0);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_rtt(int fd, int n)
{
    char b[MSG] = {0};
    double *t = calloc((size_t)n, sizeof(double)), m = -1;
    for (int i = 0; t && i < n; i++) {
        double a = now_us();
        if (full(fd, b, 1) || full(fd, b, 0))
            break;
        t[i] = now_us() - a;
        if (i == n - 1) {
            qsort(t, (size_t)n, sizeof(double), cmp);
            m = t[n / 2];
        }
    }
    free(t);
    return m;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000, one = 1, sv[2];
    double u = -1, tcp = -1;

    if (n < 10)
        n = 10;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
        if (fork() == 0) {
            close(sv[0]);
            echo(sv[1]);
        }
        close(sv[1]);
        u = median_rtt(sv[0], n);
        close(sv[0]);
        wait(NULL);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0 &&
        getsockname(l, (struct sockaddr *)&sa, &sl) == 0) {
        if (fork() == 0) {
            int c = accept(l, NULL, NULL);
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            echo(c);
        }
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            tcp = median_rtt(c, n);
        }
        if (c >= 0)
            close(c);
        wait(NULL);
    }
    if (l >= 0)
        close(l);
    printf("{\"bench\": \"sockrtt\", \"rounds\": %d, \"unix_us\": %.1f, \"tcp_us\": %.1f}\n", n, u, tcp);
    return u < 0 || tcp < 0;
}
