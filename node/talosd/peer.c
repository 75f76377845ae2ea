/* The peer listener: where migrations and resent HANDOFFs arrive.
 *
 * Every connection is one of three kinds, told apart by its first byte:
 *  - a client of a TA ('t': clients.c, docs/sessions.md), handed over to
 *    the client relay's own pool at once;
 *  - a link (TLS 1.3, both nodes certified by a configured CA; peerlink.h):
 *    an OFFER (a migration's preamble) or a RESEND (handoff.c);
 *  - a data connection, which presents a one-time ticket that this node
 *    gave an authenticated peer on its link (peerproto.h). Its bytes from
 *    then on are the two TAs' TLS channel; this node only hands the socket
 *    to its virgin target and waits for the verdict.
 *
 * Bounded (docs/node-security.md): connections in total and per address,
 * a deadline for each phase of a connection (a peer that trickles bytes
 * gains nothing over one that sends none), a cap on concurrent arrivals of
 * one lineage, and a node-wide budget for what virgin targets may pre-fault.
 *
 * One job over 400 lines: the accept loop, the per-connection phases and
 * the bounds that hold across them share one table of slots and one
 * reaper; they are the port's single defence and read best together. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/sess.h"
#include "node/talosd/clients.h"
#include "node/talosd/handoff.h"
#include "node/talosd/node.h"
#include "node/talosd/peerproto.h"
#include "node/talosd/registry.h"
#include "os/xport.h"
#include "talos/abi.h"

/* After an arrival, the TA's first calls go first (node.h pool_fill). */
#define POOL_REFILL_DELAY_MS 300

#define CONN_MAX 64           /* peer connections at once */
#define CONN_PER_ADDR 16      /* ... from one address */
#define HANDSHAKE_S 10        /* accept to an authenticated request (or a data ticket) */
#define PREAMBLE_S 120        /* the whole preamble, an image of PEER_IMAGE_MAX included */
#define DATA_WAIT_S 10        /* target ready to its data connection */
#define IMPORT_S 600          /* data connection to the target's verdict */
#define ARRIVALS_PER_LINEAGE 4
/* What all virgin targets together may pre-fault on their sources'
 * unauthenticated size hints (each at most the runtime's own 256 MiB). */
#define PREFAULT_BUDGET (512ull << 20)
#define PREFAULT_PER_TARGET (256ull << 20)
#define ADMISSIONS_MAX 64

/* --- connection slots: caps and deadlines ------------------------------ */

struct conn {
    int used;
    int fd;                /* our own dup of the socket the deadline shuts down (-1: none) */
    double deadline;       /* monotonic seconds; 0: none */
    char addr[INET6_ADDRSTRLEN];
    struct talos_ta *ta;   /* killed when the deadline passes (an import) */
    const char *phase;     /* what the deadline bounds, for the log */
};

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn conns[CONN_MAX];

/* The slot keeps a duplicate of the socket: shutdown() acts on the socket
 * behind it, and the slot's own descriptor number cannot be reused for
 * another file while the slot holds it (the owner thread closes its copy
 * whenever it likes). */
static int dup_fd(int fd) { return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0); }

static int conn_take(int fd, const char *addr)
{
    int slot = -1, same = 0;

    pthread_mutex_lock(&conn_lock);
    for (int i = 0; i < CONN_MAX; i++) {
        if (!conns[i].used && slot < 0)
            slot = i;
        if (conns[i].used && strcmp(conns[i].addr, addr) == 0)
            same++;
    }
    if (slot >= 0 && same < CONN_PER_ADDR) {
        memset(&conns[slot], 0, sizeof(conns[slot]));
        conns[slot].used = 1;
        conns[slot].fd = dup_fd(fd);
        conns[slot].deadline = handoff_now() + HANDSHAKE_S;
        conns[slot].phase = "handshake";
        snprintf(conns[slot].addr, sizeof(conns[slot].addr), "%s", addr);
    } else {
        slot = -1;
    }
    pthread_mutex_unlock(&conn_lock);
    return slot;
}

#define CONN_SAME_FD (-2)
/* The next phase of slot: the socket the deadline cuts (-1 none,
 * CONN_SAME_FD the one it has), what to kill at the deadline, seconds from
 * now (0: no deadline). */
static void conn_phase(int slot, int fd, struct talos_ta *ta, double seconds, const char *phase)
{
    int mine = fd == CONN_SAME_FD ? CONN_SAME_FD : dup_fd(fd), old = -1;

    pthread_mutex_lock(&conn_lock);
    if (mine != CONN_SAME_FD) {
        old = conns[slot].fd;
        conns[slot].fd = mine;
    }
    conns[slot].ta = ta;
    conns[slot].deadline = seconds > 0 ? handoff_now() + seconds : 0;
    conns[slot].phase = phase;
    pthread_mutex_unlock(&conn_lock);
    if (old >= 0)
        close(old);
}

static void conn_release(int slot)
{
    int old = -1;

    if (slot < 0)
        return;
    pthread_mutex_lock(&conn_lock);
    old = conns[slot].fd;
    memset(&conns[slot], 0, sizeof(conns[slot]));
    pthread_mutex_unlock(&conn_lock);
    if (old >= 0)
        close(old);
}

void peer_reap(void)
{
    double now = handoff_now();

    pthread_mutex_lock(&conn_lock);
    for (int i = 0; i < CONN_MAX; i++) {
        struct conn *c = &conns[i];
        if (!c->used || !c->deadline || now < c->deadline)
            continue;
        TLOG_WARN("peer %s: %s deadline passed: connection cut", c->addr, c->phase);
        /* The owner thread, blocked in a read, wakes up with an error and
         * closes its own descriptor. */
        if (c->fd >= 0)
            (void)shutdown(c->fd, SHUT_RDWR);
        talos_ta_kill(c->ta);
        c->deadline = 0;
    }
    pthread_mutex_unlock(&conn_lock);
}

/* --- data connections: one-time tickets -------------------------------- */

struct admission {
    uint8_t ticket[PEER_TICKET_BYTES];
    int fd; /* the data connection, once it came */
    int used;
};

static pthread_mutex_t adm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t adm_cond = PTHREAD_COND_INITIALIZER;
static struct admission adms[ADMISSIONS_MAX];

static int admission_open(uint8_t ticket[PEER_TICKET_BYTES], int *slot)
{
    int rc = talos_random_bytes(ticket, PEER_TICKET_BYTES);

    if (rc != TALOS_OK)
        return rc;
    pthread_mutex_lock(&adm_lock);
    *slot = -1;
    for (int i = 0; i < ADMISSIONS_MAX && *slot < 0; i++)
        if (!adms[i].used) {
            *slot = i;
            adms[i].used = 1;
            adms[i].fd = -1;
            memcpy(adms[i].ticket, ticket, PEER_TICKET_BYTES);
        }
    pthread_mutex_unlock(&adm_lock);
    return *slot < 0 ? TALOS_ERR_BUSY : TALOS_OK;
}

/* Wait for the data connection of admission `slot`; the ticket is spent
 * either way. -1 when none came in time. */
static int admission_wait(int slot)
{
    struct timespec until;
    int fd = -1;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += DATA_WAIT_S;
    pthread_mutex_lock(&adm_lock);
    while (adms[slot].fd < 0 &&
           pthread_cond_timedwait(&adm_cond, &adm_lock, &until) != ETIMEDOUT)
        ;
    fd = adms[slot].fd;
    talos_wipe(&adms[slot], sizeof(adms[slot]));
    pthread_mutex_unlock(&adm_lock);
    return fd;
}

/* A data connection presents `ticket`: hand fd to the waiting offer. */
static int admission_deliver(const uint8_t ticket[PEER_TICKET_BYTES], int fd)
{
    int found = 0;

    pthread_mutex_lock(&adm_lock);
    for (int i = 0; i < ADMISSIONS_MAX; i++) {
        /* Every slot compared in constant time: the scan does not say
         * how much of a guess was right. */
        int hit = adms[i].used && adms[i].fd < 0 &&
                  talos_ct_eq(adms[i].ticket, ticket, PEER_TICKET_BYTES);
        if (hit && !found) {
            adms[i].fd = fd;
            talos_wipe(adms[i].ticket, PEER_TICKET_BYTES); /* one use */
            found = 1;
        }
    }
    if (found)
        pthread_cond_broadcast(&adm_cond);
    pthread_mutex_unlock(&adm_lock);
    return found ? TALOS_OK : TALOS_ERR_PEER_AUTH;
}

/* --- arrivals per lineage ---------------------------------------------- */

static pthread_mutex_t arr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char id[TA_ID_LEN + 1];
    int n;
} arrivals[CONN_MAX];

static int arrival_enter(const char *id)
{
    int rc = TALOS_ERR_BUSY, free_i = -1;

    pthread_mutex_lock(&arr_lock);
    for (int i = 0; i < CONN_MAX; i++) {
        if (arrivals[i].n && strcmp(arrivals[i].id, id) == 0) {
            if (arrivals[i].n < ARRIVALS_PER_LINEAGE) {
                arrivals[i].n++;
                rc = TALOS_OK;
            }
            free_i = -2;
            break;
        }
        if (!arrivals[i].n && free_i == -1)
            free_i = i;
    }
    if (free_i >= 0) {
        snprintf(arrivals[free_i].id, sizeof(arrivals[free_i].id), "%s", id);
        arrivals[free_i].n = 1;
        rc = TALOS_OK;
    }
    pthread_mutex_unlock(&arr_lock);
    return rc;
}

static uint64_t prefault_used; /* under arr_lock */

static uint64_t prefault_take(void)
{
    uint64_t g = 0;
    pthread_mutex_lock(&arr_lock);
    g = PREFAULT_BUDGET - prefault_used < PREFAULT_PER_TARGET ? PREFAULT_BUDGET - prefault_used
                                                              : PREFAULT_PER_TARGET;
    prefault_used += g;
    pthread_mutex_unlock(&arr_lock);
    return g;
}

static void prefault_give(uint64_t g)
{
    pthread_mutex_lock(&arr_lock);
    prefault_used -= g;
    pthread_mutex_unlock(&arr_lock);
}

static void arrival_leave(const char *id)
{
    pthread_mutex_lock(&arr_lock);
    for (int i = 0; i < CONN_MAX; i++)
        if (arrivals[i].n && strcmp(arrivals[i].id, id) == 0) {
            arrivals[i].n--;
            break;
        }
    pthread_mutex_unlock(&arr_lock);
}

/* --- an OFFER ------------------------------------------------------------- */

/* Whether lineage `id` already serves here (a MOVED note or a CRASHED
 * record does not count). Never waits for an entry's lock: an import of
 * that lineage in progress must not hold this offer up. */
static int serves_here(const char *id)
{
    struct ta_entry *e = registry_get(id);
    int here = 0;

    if (!e)
        return 0;
    if (pthread_mutex_trylock(&e->lock) == 0) {
        struct talos_ta_info info;
        here = !e->moved_to[0] && !e->removed &&
               !(talos_ta_info(e->ta, &info) == TALOS_OK && strcmp(info.state, "CRASHED") == 0);
        pthread_mutex_unlock(&e->lock);
    } else {
        here = !e->moved_to[0]; /* busy with a call or an import: it is here */
    }
    registry_put(e);
    return here;
}

/* The preamble on the link, up to a started target and its data
 * connection. TALOS_OK: *ta runs, *data is the TAs' socket. */
static int preamble(struct peer_link *l, int slot, const struct peer_offer *o, const char *id,
                    char *image, size_t image_cap, struct talos_ta **ta, int *data)
{
    struct talos_ta_options opt = {.ocalls = node_ocalls, .n_ocalls = node_n_ocalls,
                                   .mode = o->mode ? TALOS_CALL_SWITCHLESS : TALOS_CALL_PASSIVE};
    uint8_t ticket[PEER_TICKET_BYTES];
    int rc = TALOS_OK, adm = -1;

    if (serves_here(id)) {
        TLOG_WARN("peer %s: refused lineage %s: already here", l->peer, id);
        (void)peer_send_answer(l, TALOS_ERR_EXISTS, 0, "this node already runs that lineage", NULL);
        return TALOS_ERR_EXISTS;
    }
    double t0 = handoff_now();
    if (!images_have(o->image_sha, image, image_cap)) {
        if ((rc = peer_send_answer(l, TALOS_OK, 1, "send the image", NULL)) != TALOS_OK)
            return rc;
        char why[200] = "";
        if ((rc = images_receive(l, o->image_size, o->image_sha, o->sig_len ? o->sig : NULL,
                                 image, image_cap, why, sizeof(why))) != TALOS_OK) {
            TLOG_WARN("peer %s: image for %s refused: %s", l->peer, id, why);
            (void)peer_send_answer(l, rc, 0, why[0] ? why : "image refused", NULL);
            return rc;
        }
        /* A first arrival of this image: what it cost (bench/firstmove.py). */
        TLOG_INFO("peer %s: image for %s received, checked and stored in %.1f ms (%llu bytes)",
                  l->peer, id, (handoff_now() - t0) * 1e3, (unsigned long long)o->image_size);
    }
    (void)peer_send_answer(l, TALOS_OK, 0, "image present", NULL);
    /* A pre-started virgin target if the pool has one (refilled at the end,
     * not now: a launch would compete with this migration for the cores). */
    t0 = handoff_now();
    if (!(*ta = pool_take(o->image_sha, o->mode))) {
        if ((rc = talos_ta_create_target(node.host, image, &opt, ta)) != TALOS_OK) {
            TLOG_WARN("peer %s: cannot start a target for %s: %s", l->peer, id,
                      talos_strerror(rc));
            (void)peer_send_answer(l, rc, 0, "cannot start the target", NULL);
            return rc;
        }
        TLOG_DEBUG("peer %s: no warm target for %s: started one in %.1f ms", l->peer, id,
                   (handoff_now() - t0) * 1e3);
    }
    if ((rc = admission_open(ticket, &adm)) != TALOS_OK) {
        (void)peer_send_answer(l, rc, 0, "too many migrations waiting for their data connection", NULL);
        return rc;
    }
    rc = peer_send_answer(l, TALOS_OK, 0, "target ready", ticket);
    talos_wipe(ticket, sizeof(ticket));
    conn_phase(slot, CONN_SAME_FD, NULL, DATA_WAIT_S + 1, "data connection");
    *data = admission_wait(adm);
    if (rc == TALOS_OK && *data < 0) {
        TLOG_WARN("peer %s: no data connection for %s within %d s", l->peer, id, DATA_WAIT_S);
        rc = TALOS_ERR_TIMEOUT;
    }
    return rc;
}

static void serve_offer(struct peer_link *l, int slot, const struct peer_offer *o)
{
    struct talos_ta *ta = NULL;
    struct talos_migration m;
    struct ta_entry *e = NULL;
    char image[PATH_MAX] = "", id[33] = "";
    int importing = 0, entered = 0, data = -1, one = 1, rc = TALOS_OK;

    talos_hex(o->lineage, TALOS_LINEAGE_BYTES, id);
    if ((rc = arrival_enter(id)) != TALOS_OK) {
        TLOG_WARN("peer %s: refused lineage %s: %d arrivals of it under way", l->peer, id,
                  ARRIVALS_PER_LINEAGE);
        (void)peer_send_answer(l, rc, 0, "too many arrivals of that lineage at once; retry", NULL);
        peer_close(l);
        return;
    }
    entered = 1;
    rc = preamble(l, slot, o, id, image, sizeof(image), &ta, &data);
    if (rc != TALOS_OK) {
        peer_close(l);
        goto out;
    }
    peer_link_close(l); /* the link's work is done: the rest is the TAs' */
    /* Pending until its target activates (registry.h): then, before the
     * source hears RECEIPT, it is the lineage's entry — locked by us until
     * the import ends, so a client that follows the lineage here the moment
     * the source reports success waits for it. */
    if ((rc = registry_add_arriving(ta, image, id, &e)) != TALOS_OK)
        goto out;
    ta = NULL;
    handoff_importing(id, 1);
    importing = 1;
    (void)setsockopt(data, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn_phase(slot, -1, e->ta, IMPORT_S, "import");
    uint64_t grant = prefault_take();
    talos_ta_set_prefault_grant(e->ta, grant);
    rc = talos_ta_migrate_in(e->ta, data, o->lineage, &m);
    prefault_give(grant);
    data = -1;
    if (rc == TALOS_OK && m.status == TALOS_ERR_HANDOFF_WAIT) {
        conn_phase(slot, -1, NULL, 0, "handoff wait"); /* bounded by --handoff-wait */
        rc = handoff_wait(e, &m, node.handoff_wait);
    }
    conn_phase(slot, -1, NULL, 0, "done");
    /* The RECEIPT or ABORT answers any later resend of this session. */
    if (rc == TALOS_OK && (m.token_kind == TALOS_MIG_RECEIPT || m.token_kind == TALOS_MIG_ABORT))
        handoff_keep(id, m.token, m.token_len);
    registry_abandon(e); /* unless it activated */
    if (rc != TALOS_OK || m.status != TALOS_OK) {
        TLOG_WARN("peer: target for %s FAILED: %s", id,
                  rc != TALOS_OK ? talos_strerror(rc) : m.reason);
        if (rc == TALOS_OK && m.token_kind == TALOS_MIG_ABORT && m.token_len <= TALOS_TOKEN_MAX) {
            /* Not a secret (MAC'd under the session key): the operator gives
             * it to the source node, whose TA checks it (talos resume). */
            char hex[2 * TALOS_TOKEN_MAX + 1];
            talos_hex(m.token, m.token_len, hex);
            TLOG_WARN("peer: ABORT token for %s: %s", id, hex);
        }
        goto out;
    }
    TLOG_INFO("lineage %s arrived at version %llu and serves here", e->id,
              (unsigned long long)m.version);
out:
    if (importing)
        handoff_importing(id, 0);
    if (e) {
        pthread_mutex_unlock(&e->lock);
        registry_put(e);
    }
    talos_ta_destroy(ta);
    if (data >= 0)
        close(data);
    if (entered)
        arrival_leave(id);
    if (image[0])
        pool_fill(o->image_sha, o->mode, image, POOL_REFILL_DELAY_MS);
}

/* --- one connection ------------------------------------------------------- */

static void serve_link(int fd, int slot)
{
    struct peer_link l;
    struct peer_offer o;
    struct peer_resend q;
    char why[200] = "";
    int kind = 0, rc = peer_link_accept(fd, &l, why, sizeof(why));

    if (rc != TALOS_OK) {
        TLOG_WARN("peer %s: refused (%s): %s", conns[slot].addr, talos_errname(rc), why);
        return; /* peer_link_accept closed fd */
    }
    conn_phase(slot, CONN_SAME_FD, NULL, PREAMBLE_S, "preamble");
    if ((rc = peer_recv_request(&l, &kind, &o, &q)) != TALOS_OK) {
        TLOG_WARN("peer %s: refused a request: %s", l.peer, talos_strerror(rc));
        (void)peer_send_answer(&l, rc, 0, "malformed request", NULL);
        peer_close(&l);
        return;
    }
    if (kind == PEER_REQ_RESEND) {
        /* Not a migration: a source's node resends a HANDOFF (handoff.c). */
        handoff_serve_resend(&l, &q);
        peer_close(&l);
        return;
    }
    serve_offer(&l, slot, &o);
}

static void serve_data(int fd, int slot)
{
    uint8_t hello[PEER_DATA_HELLO_BYTES], ticket[PEER_TICKET_BYTES];
    int rc = talos_fd_read_full(fd, hello, sizeof(hello));

    if (rc == TALOS_OK)
        rc = peer_data_ticket(hello, ticket);
    if (rc == TALOS_OK) {
        /* The fd belongs to the waiting offer from now on; this slot
         * must not cut it. */
        conn_phase(slot, -1, NULL, 0, "handed over");
        rc = admission_deliver(ticket, fd);
        talos_wipe(ticket, sizeof(ticket));
        if (rc == TALOS_OK)
            return;
    }
    TLOG_WARN("peer %s: refused a data connection: %s", conns[slot].addr,
              rc == TALOS_ERR_PEER_AUTH ? "no such ticket (tickets are one-time)"
                                        : talos_strerror(rc));
    /* A clean end (FIN), not a reset: the peer reads no byte of ours. */
    struct peer_link l;
    peer_link_plain(&l, fd);
    conn_phase(slot, CONN_SAME_FD, NULL, 3, "closing");
    peer_close(&l);
}

struct conn_arg {
    int fd;
    int slot;
};

static void *peer_thread(void *arg)
{
    struct conn_arg a = *(struct conn_arg *)arg;
    uint8_t first = 0;
    ssize_t n = 0;

    free(arg);
    /* The first byte says which kind (waits at most the socket timeout;
     * the slot's deadline cuts a peer that never sends one). */
    do
        n = recv(a.fd, &first, 1, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n == 1 && first == (uint8_t)TALOS_SESS_MAGIC[0]) {
        /* A client, not a peer: its own pool and bounds (clients.c), so
         * that clients cannot take the slots migrations need. */
        char addr[INET6_ADDRSTRLEN];
        pthread_mutex_lock(&conn_lock);
        snprintf(addr, sizeof(addr), "%s", conns[a.slot].addr);
        pthread_mutex_unlock(&conn_lock);
        conn_release(a.slot);
        clients_serve(a.fd, addr);
        return NULL;
    }
    if (n == 1 && first == (uint8_t)PEER_MAGIC_DATA[0])
        serve_data(a.fd, a.slot);
    else if (n == 1)
        serve_link(a.fd, a.slot);
    else
        close(a.fd);
    conn_release(a.slot);
    return NULL;
}

struct client_arg {
    int fd;
    char addr[INET6_ADDRSTRLEN];
};

static void *client_thread(void *arg)
{
    struct client_arg c = *(struct client_arg *)arg;

    free(arg);
    clients_serve_admitted(c.fd, c.addr);
    return NULL;
}

static void addr_of(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    snprintf(out, cap, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)cap);
}

void peer_accept_one(int lfd)
{
    static double last_warn;
    char addr[INET6_ADDRSTRLEN];
    struct conn_arg *a = NULL;
    pthread_t t;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), slot = -1;

    if (fd < 0)
        return;
    addr_of(fd, addr, sizeof(addr));
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* A client whose preamble is here already skips the peer slots. */
    uint8_t first = 0;
    if (recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
        first == (uint8_t)TALOS_SESS_MAGIC[0]) {
        /* Admitted before a thread is spent on it (clients.c's bound). */
        if (!clients_admit()) {
            clients_refuse(fd, addr);
            return;
        }
        struct client_arg *c = malloc(sizeof(*c));
        if (!c || (c->fd = fd, snprintf(c->addr, sizeof(c->addr), "%s", addr),
                   pthread_create(&t, NULL, client_thread, c) != 0)) {
            free(c);
            close(fd);
            clients_unadmit();
            return;
        }
        pthread_detach(t);
        return;
    }
    if ((slot = conn_take(fd, addr)) < 0) {
        if (handoff_now() - last_warn > 5) { /* one line per 5 s, not per connection */
            TLOG_WARN("peer %s: connection refused: at most %d peer connections (%d per address)",
                      addr, CONN_MAX, CONN_PER_ADDR);
            last_warn = handoff_now();
        }
        close(fd);
        return;
    }
    peer_set_timeouts(fd, PEER_TIMEOUT_S);
    /* TCP_NODELAY is set above: as on the connecting side
     * (peer_tcp_connect), the preamble's answers are small records written
     * back to back, and Nagle would hold the second until the source's
     * delayed ACK, 40 ms, in every migration; a client's records alike. */
    if (!(a = malloc(sizeof(*a))) ||
        (a->fd = fd, a->slot = slot, pthread_create(&t, NULL, peer_thread, a) != 0)) {
        free(a);
        conn_release(slot);
        close(fd);
        return;
    }
    pthread_detach(t);
}
