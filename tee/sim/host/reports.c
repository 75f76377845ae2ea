/* Report pipes of sim TAs, host side (reports.h). The record is the TA's
 * own word: a TA could name another call, but it dies either way, and the
 * name only ever reaches a log line. */
#include "tee/sim/host/reports.h"

#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "talos/err.h"
#include "tee/sim/common/report.h"

struct entry {
    int pid, fd;
};

struct sim_reports {
    pthread_mutex_t lock;
    struct entry *e;
    size_t n, cap;
};

int sim_reports_new(struct sim_reports **out)
{
    struct sim_reports *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (!r)
        return TALOS_ERR_NOMEM;
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return TALOS_OK;
}

void sim_reports_free(struct sim_reports *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        close(r->e[i].fd);
    pthread_mutex_destroy(&r->lock);
    free(r->e);
    free(r);
}

int sim_reports_add(struct sim_reports *r, int pid, int fd)
{
    int rc = TALOS_OK;

    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        struct entry *e = realloc(r->e, cap * sizeof(*e));
        if (!e) {
            rc = TALOS_ERR_NOMEM;
            goto out;
        }
        r->e = e;
        r->cap = cap;
    }
    r->e[r->n++] = (struct entry){pid, fd};
    fd = -1;
out:
    pthread_mutex_unlock(&r->lock);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int take(struct sim_reports *r, int pid)
{
    int fd = -1;

    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].pid == pid) {
            fd = r->e[i].fd;
            r->e[i] = r->e[--r->n];
            break;
        }
    pthread_mutex_unlock(&r->lock);
    return fd;
}

void sim_reports_end(struct sim_reports *r, int pid, int signo, char *why, size_t cap)
{
    struct talos_sim_report rec = {0, 0};
    char *name = NULL;
    ssize_t n = 0;
    int fd = take(r, pid);

    if (cap)
        why[0] = '\0';
    if (fd < 0)
        return;
    /* The pipe is non-blocking and the TA is gone: the record is there or
     * never will be. Only a death by SIGSYS is the filter's. */
    do
        n = read(fd, &rec, sizeof(rec));
    while (n < 0 && errno == EINTR);
    close(fd);
    if (signo != SIGSYS || n != (ssize_t)sizeof(rec) || !cap)
        return;
    name = seccomp_syscall_resolve_num_arch(rec.arch, rec.syscall);
    if (name)
        snprintf(why, cap, "forbidden system call %s (sim confinement)", name);
    else
        snprintf(why, cap, "forbidden system call %d, arch 0x%x (sim confinement)",
                 (int)rec.syscall, (unsigned)rec.arch);
    free(name);
}
