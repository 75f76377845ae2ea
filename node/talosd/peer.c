/* The peer listener: where migrations arrive. For each connection: the
 * untrusted preamble (peerproto.h), a virgin target TA in restore mode, and
 * then the socket is the TAs' — this node only waits for its target's
 * verdict and registers it if it activates. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "node/talosd/handoff.h"
#include "node/talosd/node.h"
#include "node/talosd/peerproto.h"

/* After an arrival, the TA's first calls go first (node.h pool_fill). */
#define POOL_REFILL_DELAY_MS 300
#include "node/talosd/registry.h"

static int resolve(const char *hostport, int passive, struct addrinfo **ai)
{
    char host[128];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};

    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host) || !colon[1])
        return TALOS_ERR_INVALID_ARG;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    return getaddrinfo(host, colon + 1, &hints, ai) == 0 ? TALOS_OK : TALOS_ERR_INVALID_ARG;
}

int peer_listen(const char *hostport, int *out)
{
    struct addrinfo *ai = NULL;
    int fd = -1, one = 1, rc = resolve(hostport, 1, &ai);

    if (rc != TALOS_OK)
        return rc;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return e == EADDRINUSE ? TALOS_ERR_EXISTS : TALOS_ERR_IO;
    }
    freeaddrinfo(ai);
    *out = fd;
    return TALOS_OK;
}

int peer_connect(const char *hostport, int *out)
{
    struct addrinfo *ai = NULL;
    int fd = -1, one = 1, rc = resolve(hostport, 0, &ai);

    if (rc != TALOS_OK)
        return rc;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        peer_set_timeouts(fd, PEER_TIMEOUT_S);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = errno == ECONNREFUSED ? TALOS_ERR_PEER_CLOSED : TALOS_ERR_IO;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out = fd;
    return TALOS_OK;
}

static void serve_migration(int fd)
{
    struct peer_offer o;
    struct peer_resend q;
    struct talos_ta_options opt = {.ocalls = node_ocalls, .n_ocalls = node_n_ocalls};
    struct talos_ta *ta = NULL;
    struct talos_migration m;
    struct ta_entry *e = NULL;
    char image[PATH_MAX], id[33] = "";
    int refill = 0, importing = 0, kind = 0, one = 1;
    int rc = peer_recv_request(fd, &kind, &o, &q);

    if (rc == TALOS_OK && kind == PEER_REQ_RESEND) {
        /* Not a migration: a source's node resends a HANDOFF (handoff.c). */
        handoff_serve_resend(fd, &q);
        peer_close(fd);
        return;
    }
    if (rc != TALOS_OK) {
        TLOG_WARN("peer: refused a connection: %s", talos_strerror(rc));
        (void)peer_send_answer(fd, rc, 0, "malformed offer");
        goto out;
    }
    talos_hex(o.lineage, 16, id);
    /* One instance per lineage on this node, whatever the peer says. A
     * forwarding note of a lineage that left (MOVED) does not count. */
    if ((e = registry_get(id))) {
        struct talos_ta_info info;
        int here = !e->moved_to[0], crashed = 0;
        if (here) {
            /* A CRASHED record (a source that died, say after it handed the
             * lineage over) is no running instance: it must not block the
             * lineage from coming back. */
            pthread_mutex_lock(&e->lock);
            crashed = !e->removed && talos_ta_info(e->ta, &info) == TALOS_OK &&
                      strcmp(info.state, "CRASHED") == 0;
            pthread_mutex_unlock(&e->lock);
        }
        registry_put(e);
        e = NULL;
        if (crashed) {
            TLOG_INFO("peer: lineage %s arrives; dropping its CRASHED record here", id);
            (void)registry_remove(id);
            here = 0;
        }
        if (here) {
            TLOG_WARN("peer: refused lineage %s: already here", id);
            (void)peer_send_answer(fd, TALOS_ERR_EXISTS, 0, "this node already runs that lineage");
            goto out;
        }
    }
    if (!images_have(o.image_sha, image, sizeof(image))) {
        if ((rc = peer_send_answer(fd, TALOS_OK, 1, "send the image")) != TALOS_OK)
            goto out;
        if ((rc = images_receive(fd, o.image_size, o.image_sha, image, sizeof(image))) != TALOS_OK) {
            TLOG_WARN("peer: image for %s refused: %s", id, talos_strerror(rc));
            (void)peer_send_answer(fd, rc, 0, "image refused");
            goto out;
        }
    }
    (void)peer_send_answer(fd, TALOS_OK, 0, "image present");
    opt.mode = o.mode ? TALOS_CALL_SWITCHLESS : TALOS_CALL_PASSIVE;
    /* A pre-started virgin target if the pool has one (refilled at the end,
     * not now: a launch would compete with this migration for the cores). */
    ta = pool_take(o.image_sha, o.mode);
    refill = 1;
    if (!ta && (rc = talos_ta_create_target(node.host, image, &opt, &ta)) != TALOS_OK) {
        TLOG_WARN("peer: cannot start a target for %s: %s", id, talos_strerror(rc));
        (void)peer_send_answer(fd, rc, 0, "cannot start the target");
        goto out;
    }
    /* Registered (locked) before the import: a client that follows the
     * lineage here the moment the source reports success must find it. */
    if ((rc = registry_add_arriving(ta, image, id, &e)) != TALOS_OK) {
        (void)peer_send_answer(fd, rc, 0, "this node already runs that lineage");
        goto out;
    }
    ta = NULL;
    handoff_importing(id, 1);
    importing = 1;
    if ((rc = peer_send_answer(fd, TALOS_OK, 0, "target ready")) != TALOS_OK) {
        registry_abandon(e);
        goto out;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* From here the stream is the TAs' TLS channel. */
    rc = talos_ta_migrate_in(e->ta, fd, o.lineage, &m);
    fd = -1;
    if (rc == TALOS_OK && m.status == TALOS_ERR_HANDOFF_WAIT)
        rc = handoff_wait(e, &m, node.handoff_wait);
    /* The RECEIPT or ABORT answers any later resend of this session. */
    if (rc == TALOS_OK && (m.token_kind == 9 || m.token_kind == 10))
        handoff_keep(id, m.token, m.token_len);
    if (rc != TALOS_OK || m.status != TALOS_OK) {
        registry_abandon(e);
        TLOG_WARN("peer: target for %s FAILED: %s", id,
                  rc != TALOS_OK ? talos_strerror(rc) : m.reason);
        if (rc == TALOS_OK && m.token_kind == 10 && m.token_len <= TALOS_TOKEN_MAX) {
            /* Not a secret (MAC'd under the session key): the operator gives
             * it to the source node, whose TA checks it (talos resume). */
            char hex[2 * TALOS_TOKEN_MAX + 1];
            talos_hex(m.token, m.token_len, hex);
            TLOG_WARN("peer: ABORT token for %s: %s", id, hex);
        }
        goto out;
    }
    registry_arrived(e);
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
    if (fd >= 0)
        peer_close(fd);
    if (refill)
        pool_fill(o.image_sha, o.mode, image, POOL_REFILL_DELAY_MS);
}

static void *peer_thread(void *arg)
{
    serve_migration((int)(intptr_t)arg);
    return NULL;
}

void peer_accept_one(int lfd)
{
    pthread_t t;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;
    peer_set_timeouts(fd, PEER_TIMEOUT_S);
    if (pthread_create(&t, NULL, peer_thread, (void *)(intptr_t)fd) != 0) {
        close(fd);
        return;
    }
    pthread_detach(t);
}
