/* The relay of client sessions (docs/sessions.md §6): a client's TLS
 * session with a TA passes through here as bytes this node cannot read.
 *
 * A connection on the peer port whose first byte is 't' is a client
 * (peer.c hands it over). It names a lineage in a plaintext preamble; the
 * node answers OK and relays, MOVED with where the lineage went, or a
 * refusal. One thread per client, bounded in number (in all and per TA),
 * each holding the TA's lock only for one SESSION exchange: a client that
 * stops reading blocks its own thread, never another client, a call or a
 * migration. A client's next bytes are read only once the TA's answer to
 * the previous ones was written (at most TALOS_SESSION_IO_MAX in flight
 * each way). Untrusted code: it sees only the preamble and ciphertext. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/sess.h"
#include "core/wire.h"
#include "node/talosd/clients.h"
#include "node/talosd/handoff.h"
#include "node/talosd/node.h"
#include "node/talosd/registry.h"
#include "os/xport.h"

#define PREAMBLE_S 10 /* connect to a complete preamble */
#define MOVED_WAIT_MS 2000 /* a handed-over TA to its node's forwarding note */
#define ARRIVAL_WAIT_MS 3000 /* an importing lineage to its first call here */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned total;          /* client connections now (under lock) */
static uint32_t next_sid = 1;   /* unique over the node's life: unique per TA too */
static struct {
    char id[TA_ID_LEN + 1];
    unsigned n;
} per_ta[CLIENTS_TABLE];        /* connections per lineage (under lock) */

struct client_limits clients_limits = {
    .max = CLIENTS_MAX_DEFAULT,
    .per_ta = CLIENTS_PER_TA_DEFAULT,
    .idle_s = CLIENTS_IDLE_S_DEFAULT,
    .write_s = CLIENTS_WRITE_S_DEFAULT,
};

static int enter_node(void)
{
    int ok = 0;
    pthread_mutex_lock(&lock);
    if (total < clients_limits.max) {
        total++;
        ok = 1;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

static void leave_node(void)
{
    pthread_mutex_lock(&lock);
    total--;
    pthread_mutex_unlock(&lock);
}

/* A seat for one more client of lineage id, or 0 (per-TA bound reached). */
static int enter_ta(const char *id)
{
    int slot = -1, ok = 0;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < CLIENTS_TABLE; i++) {
        if (per_ta[i].n && strcmp(per_ta[i].id, id) == 0) {
            slot = i;
            break;
        }
        if (!per_ta[i].n && slot < 0)
            slot = i;
    }
    if (slot >= 0 && per_ta[slot].n < clients_limits.per_ta) {
        if (!per_ta[slot].n)
            snprintf(per_ta[slot].id, sizeof(per_ta[slot].id), "%s", id);
        per_ta[slot].n++;
        ok = 1;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

static void leave_ta(const char *id)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < CLIENTS_TABLE; i++)
        if (per_ta[i].n && strcmp(per_ta[i].id, id) == 0) {
            per_ta[i].n--;
            break;
        }
    pthread_mutex_unlock(&lock);
}

static void set_timeout(int fd, int opt, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    (void)setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* The preamble's answer; a failure to send it only ends the connection. */
static void answer(int fd, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void answer(int fd, int status, const char *fmt, ...)
{
    struct talos_wr w;
    char msg[TALOS_SESS_ANSWER_MAX - 16];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    talos_wr_init(&w, TALOS_SESS_ANSWER_MAX + 4);
    talos_sess_answer_encode(status, msg, &w);
    if (!w.err)
        (void)talos_fd_write_full(fd, w.p, w.len);
    talos_wr_free(&w);
}

/* One exchange with the TA under its lock. TALOS_ERR_MOVED (or NO_SUCH_TA)
 * when the lineage left or was stopped meanwhile. */
static int exchange(struct ta_entry *e, uint32_t sid, enum talos_session_op op, const uint8_t *in,
                    size_t n, struct talos_session_io *io)
{
    int rc = TALOS_OK;

    io->out_len = 0;
    io->more = io->closed = 0;
    pthread_mutex_lock(&e->lock);
    if (e->moved_to[0])
        rc = TALOS_ERR_MOVED;
    else if (e->removed)
        rc = TALOS_ERR_NO_SUCH_TA;
    else
        rc = talos_ta_session(e->ta, sid, op, in, n, io);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* One wait of a bounded poll: sleep *step_us (doubling up to max_step_us)
 * unless max_ms have passed already. 1 when it slept, 0 when time is up. */
static int nap(long *step_us, long *waited_us, long max_step_us, long max_ms)
{
    if (*waited_us >= max_ms * 1000L)
        return 0;
    struct timespec ts = {0, *step_us * 1000};
    nanosleep(&ts, NULL);
    *waited_us += *step_us;
    *step_us = *step_us * 2 > max_step_us ? max_step_us : *step_us * 2;
    return 1;
}

/* Where e's lineage went, its TA having said MOVED: the forwarding note,
 * or before the migration's end is recorded (the source node waits for its
 * TA to exit and writes its journal first) the running migration's target.
 * MOVED_WAIT_MS at most: 1 with to filled, 0 if it is not known by then
 * (or the TA was stopped). Untrusted either way: the client verifies
 * whatever answers there. */
static int moved_wait(struct ta_entry *e, char *to, size_t cap)
{
    long step_us = 200, waited_us = 0;

    for (;;) {
        pthread_mutex_lock(&e->lock);
        snprintf(to, cap, "%s", e->moved_to[0] ? e->moved_to : e->moving_to);
        int removed = e->removed;
        pthread_mutex_unlock(&e->lock);
        if (to[0] || removed || !nap(&step_us, &waited_us, 20000, MOVED_WAIT_MS))
            return to[0] != '\0';
    }
}

/* A client that followed its TA here as the migration ends finds the
 * lineage still importing: wait for it to serve (ARRIVAL_WAIT_MS at most)
 * rather than send the client away to retry. The entry, or NULL. */
static struct ta_entry *arrival_wait(const char *id)
{
    long step_us = 200, waited_us = 0;
    struct ta_entry *e = NULL;

    while (!(e = registry_get(id)) && handoff_is_importing(id) &&
           nap(&step_us, &waited_us, 5000, ARRIVAL_WAIT_MS))
        ;
    return e;
}

/* Relay until the client leaves, idles out, stops reading, or the TA ends
 * the session. Returns whether the TA still holds the session (CLOSE it). */
static int relay(int fd, struct ta_entry *e, uint32_t sid, uint8_t *in, uint8_t *out)
{
    struct talos_session_io io = {.out = out};

    /* The idle bound is the socket's receive timeout: one system call per
     * read, not a poll before each. */
    set_timeout(fd, SO_RCVTIMEO, (int)clients_limits.idle_s);
    for (;;) {
        ssize_t n = recv(fd, in, TALOS_SESSION_IO_MAX, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            TLOG_DEBUG("client session %u of %s: idle for %u s: closed", sid, e->id,
                       clients_limits.idle_s);
            return 1;
        }
        if (n <= 0)
            return 1; /* the client left */
        enum talos_session_op op = TALOS_SESSION_DATA;
        size_t len = (size_t)n;
        do {
            int rc = exchange(e, sid, op, in, len, &io);
            if (io.out_len && talos_fd_write_full(fd, io.out, io.out_len) != TALOS_OK)
                return rc == TALOS_OK && !io.closed; /* stopped reading (write timeout) */
            if (rc != TALOS_OK || io.closed) {
                TLOG_DEBUG("client session %u of %s ended: %s", sid, e->id,
                           rc == TALOS_OK ? "by the TA" : talos_strerror(rc));
                return 0;
            }
            len = 0; /* MORE: ask for the rest */
        } while (io.more);
    }
}

/* Serve one client from its preamble on; takes fd. */
static void serve(int fd, const char *addr)
{
    uint8_t pre[TALOS_SESS_PREAMBLE_BYTES], lineage[TALOS_LINEAGE_BYTES];
    char id[TA_ID_LEN + 1];
    uint8_t *in = NULL, *out = NULL;
    struct ta_entry *e = NULL;
    int seated = 0, open = 0, rc = TALOS_OK;
    uint32_t sid = 0;

    set_timeout(fd, SO_RCVTIMEO, PREAMBLE_S);
    set_timeout(fd, SO_SNDTIMEO, (int)clients_limits.write_s);
    if (talos_fd_read_full(fd, pre, sizeof(pre)) != TALOS_OK ||
        talos_sess_preamble_decode(pre, lineage) != TALOS_OK) {
        TLOG_DEBUG("client %s: no valid preamble", addr);
        answer(fd, TALOS_ERR_MALFORMED, "not a client preamble");
        goto out;
    }
    talos_hex(lineage, sizeof(lineage), id);
    if (!(e = registry_get(id)) && handoff_is_importing(id))
        e = arrival_wait(id);
    if (!e) {
        answer(fd, TALOS_ERR_NO_SUCH_TA, "no TA %s on this node", id);
        goto out;
    }
    char to[sizeof(e->moved_to)];
    pthread_mutex_lock(&e->lock);
    rc = e->moved_to[0] ? TALOS_ERR_MOVED : e->removed ? TALOS_ERR_NO_SUCH_TA : TALOS_OK;
    memcpy(to, e->moved_to, sizeof(to));
    pthread_mutex_unlock(&e->lock);
    if (rc == TALOS_ERR_MOVED) {
        answer(fd, rc, "%s", to);
        goto out;
    }
    if (rc != TALOS_OK) {
        answer(fd, rc, "TA %s was stopped", id);
        goto out;
    }
    if (!(seated = enter_ta(id))) {
        answer(fd, TALOS_ERR_BUSY, "TA %s has %u client sessions already", id,
               clients_limits.per_ta);
        goto out;
    }
    if (!(in = malloc(TALOS_SESSION_IO_MAX)) || !(out = malloc(TALOS_SESSION_IO_MAX))) {
        answer(fd, TALOS_ERR_NOMEM, "node out of memory");
        goto out;
    }
    pthread_mutex_lock(&lock);
    sid = next_sid++;
    pthread_mutex_unlock(&lock);
    struct talos_session_io io = {.out = out};
    rc = exchange(e, sid, TALOS_SESSION_OPEN, NULL, 0, &io);
    if (rc == TALOS_ERR_MOVED) {
        /* The TA handed the lineage over; its node learns where it went
         * when the migration ends, a moment later: wait for that rather
         * than send the client back to retry. */
        if (!moved_wait(e, to, sizeof(to)))
            answer(fd, TALOS_ERR_STATE, "TA %s is handing over: try again", id);
        else
            answer(fd, rc, "%s", to);
        goto out;
    }
    if (rc != TALOS_OK || io.closed) {
        answer(fd, rc != TALOS_OK ? rc : TALOS_ERR_STATE, "TA %s refused the session: %s", id,
               talos_strerror(rc != TALOS_OK ? rc : TALOS_ERR_STATE));
        goto out;
    }
    open = 1;
    answer(fd, TALOS_OK, "relaying to TA %s", id);
    TLOG_DEBUG("client %s: session %u with TA %s", addr, sid, id);
    open = relay(fd, e, sid, in, out);
out:
    if (open) {
        struct talos_session_io bye = {.out = out};
        (void)exchange(e, sid, TALOS_SESSION_CLOSE, NULL, 0, &bye);
    }
    if (seated)
        leave_ta(id);
    if (e)
        registry_put(e);
    free(in);
    free(out);
    close(fd);
}

int clients_admit(void) { return enter_node(); }
void clients_unadmit(void) { leave_node(); }

void clients_refuse(int fd, const char *addr)
{
    static double last_warn;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (now - last_warn > 5) { /* one line per 5 s, not per connection */
        TLOG_WARN("client %s: refused: %u client sessions already", addr, clients_limits.max);
        last_warn = now;
    }
    /* A few bytes into a fresh socket's empty buffer: never blocks. */
    answer(fd, TALOS_ERR_BUSY, "node has %u client sessions already", clients_limits.max);
    close(fd);
}

void clients_serve_admitted(int fd, const char *addr)
{
    serve(fd, addr);
    leave_node();
}

void clients_serve(int fd, const char *addr)
{
    if (clients_admit())
        clients_serve_admitted(fd, addr);
    else
        clients_refuse(fd, addr);
}
