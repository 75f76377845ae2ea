/* The target's helper threads during an import (ta/mig_target.c): the
 * arena pre-faulted while the attestation runs, the memory introspection
 * that overlaps the whole import, and the clock that cuts off a source
 * which is not attested in time. Trusted code. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "ta/arena.h"
#include "ta/mig.h"
#include "ta/rt.h"

/* Pre-fault the arena while the attestation runs: faulting costs ~2 µs a
 * page, 25 ms for 64 MiB (bench). The size is only a hint, bounded by the
 * arena; BEGIN says the real size, checked then. Before the attestation
 * the hint is unauthenticated: bound what anyone who reaches the peer port
 * can make us fault in; BEGIN faults the rest. */
#define PREFAULT_UNAUTH_MAX (256ull << 20)

static void *prefault_run(void *arg)
{
    const struct mig_prefault *p = arg;
    talos_arena_populate(0, p->bytes);
    return NULL;
}

/* The node's grant bounds it too: its budget for all virgin targets at
 * once (node/talosd/peer.c), so many unauthenticated hints cannot add up. */
void mig_prefault_start(struct mig_prefault *p, uint64_t hint, uint64_t grant)
{
    if (hint > grant)
        hint = grant;
    p->bytes = hint > PREFAULT_UNAUTH_MAX ? PREFAULT_UNAUTH_MAX : hint & ~(uint64_t)(TALOS_PAGE - 1);
    p->started = p->bytes && talos_rt_thread_create(&p->thread, prefault_run, p) == 0;
}

int talos_rt_prefault(uint64_t bytes)
{
    talos_arena_populate(0, bytes & ~(uint64_t)(TALOS_PAGE - 1)); /* cut at the arena's end */
    return TALOS_OK;
}

void mig_prefault_rest(const struct mig_prefault *p, uint64_t arena_bytes)
{
    talos_arena_populate(p->bytes, arena_bytes);
}

void mig_prefault_join(struct mig_prefault *p)
{
    if (p->started)
        pthread_join(p->thread, NULL);
    p->started = 0;
}

/* Memory introspection before activation runs on a thread from the start
 * of the import, so that re-hashing the code (milliseconds for a static
 * image) overlaps the handshake and the stream instead of adding to the
 * downtime; it is joined, and its verdict applied, after HANDOFF, right
 * before this TA activates. */

static void *introspect_run(void *arg)
{
    struct mig_introspection *in = arg;
    uint64_t t = mig_clock(CLOCK_THREAD_CPUTIME_ID);
    in->rc = talos_rt_introspect(in->now, in->why, sizeof(in->why));
    in->cpu_ns = mig_clock(CLOCK_THREAD_CPUTIME_ID) - t;
    return NULL;
}

void mig_introspect_start(struct mig_introspection *in)
{
    in->started = talos_rt_thread_create(&in->thread, introspect_run, in) == 0;
    if (!in->started)
        introspect_run(in);
}

void mig_introspect_join(struct mig_introspection *in)
{
    if (in->started)
        pthread_join(in->thread, NULL);
    in->started = 0;
}

/* Until the source is attested it is anyone who reached the peer port: it
 * gets UNATTESTED_S seconds in all (per-read timeouts do not bound a peer
 * that trickles a byte at a time), then its connection is shut down under
 * it. A node's squatter on a lineage holds an arrival no longer than that. */
#define UNATTESTED_S 30


static void *unattested_run(void *arg)
{
    struct mig_unattested *u = arg;
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += UNATTESTED_S;
    pthread_mutex_lock(&u->lock);
    while (!u->done && pthread_cond_timedwait(&u->cond, &u->lock, &until) == 0)
        ;
    if (!u->done) {
        TLOG_WARN("the source was not attested within %d s: closing its connection", UNATTESTED_S);
        (void)shutdown(u->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

void mig_unattested_start(struct mig_unattested *u, int fd)
{
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->cond, NULL);
    /* Our own descriptor of the socket: the channel may close the one it
     * was given before we end, and its number be reused meanwhile. */
    u->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    u->started = u->fd >= 0 && talos_rt_thread_create(&u->thread, unattested_run, u) == 0;
}

void mig_unattested_end(struct mig_unattested *u)
{
    if (!u->started)
        return;
    pthread_mutex_lock(&u->lock);
    u->done = 1;
    pthread_cond_signal(&u->cond);
    pthread_mutex_unlock(&u->lock);
    pthread_join(u->thread, NULL);
    u->started = 0;
    close(u->fd);
}

