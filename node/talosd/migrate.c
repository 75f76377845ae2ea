/* The source node's part of a migration: reach the target node, get a
 * virgin target started there (sending the image if it lacks it), then hand
 * the socket to the source TA, which does the rest itself. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "node/talosd/handoff.h"
#include "node/talosd/node.h"
#include "node/talosd/peerproto.h"
#include "node/talosd/registry.h"
#include "os/xport.h"
#include "talos/abi.h"

/* Below this much state, stop-and-copy's downtime is already a few ms and
 * its total time is shorter (bench/RESULTS.md). */
#define PRECOPY_AUTO_MIN_BYTES (4ull << 20)

typedef void (*note_fn)(void *ctx, const char *step, const char *detail);

static int send_image(struct peer_link *l, const char *path, uint64_t size)
{
    uint8_t buf[1 << 16];
    int in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = TALOS_OK;

    if (in < 0)
        return TALOS_ERR_IO;
    for (uint64_t left = size; left && rc == TALOS_OK;) {
        ssize_t n = read(in, buf, left < sizeof(buf) ? left : sizeof(buf));
        if (n <= 0)
            rc = TALOS_ERR_IO;
        else if ((rc = peer_link_write(l, buf, (size_t)n)) == TALOS_OK)
            left -= (uint64_t)n;
    }
    close(in);
    return rc;
}

/* The preamble on an authenticated link to `to`, then the data
 * connection its ticket admits: *data is the socket for the TAs. */
static int preamble(struct ta_entry *e, const char *to, int mode, note_fn note, void *ctx,
                    int *data, char *why, size_t cap)
{
    struct peer_offer o = {.mode = (uint8_t)mode};
    struct peer_answer a;
    struct peer_link link = {.fd = -1}, *l = &link;
    struct stat st;
    uint8_t hello[PEER_DATA_HELLO_BYTES];
    char how[200] = "";
    int rc = TALOS_OK;

    if (talos_unhex(e->id, o.lineage, TALOS_LINEAGE_BYTES) != TALOS_OK ||
        images_sha(e->image, o.image_sha) != TALOS_OK || stat(e->image, &st) != 0) {
        snprintf(why, cap, "the image of TA %s is missing from this node's store", e->id);
        return TALOS_ERR_IMAGE;
    }
    o.image_size = (uint64_t)st.st_size;
    o.sig_len = images_sig(o.image_sha, o.sig) ? sizeof(o.sig) : 0;
    if ((rc = peer_link_connect(to, l, how, sizeof(how))) != TALOS_OK) {
        snprintf(why, cap, "cannot reach node %s: %s", to, how);
        return rc;
    }
    TLOG_DEBUG("peer %s: authenticated as %s", to, l->peer);
    if ((rc = peer_send_offer(l, &o)) != TALOS_OK || (rc = peer_recv_answer(l, &a)) != TALOS_OK)
        goto refused;
    if (a.status == TALOS_OK && a.need_image) {
        char detail[64];
        snprintf(detail, sizeof(detail), "%llu bytes", (unsigned long long)o.image_size);
        note(ctx, "sending image", detail);
        if ((rc = send_image(l, e->image, o.image_size)) != TALOS_OK ||
            (rc = peer_recv_answer(l, &a)) != TALOS_OK)
            goto refused;
    }
    if (a.status == TALOS_OK && (rc = peer_recv_answer(l, &a)) != TALOS_OK)
        goto refused;
    if (a.status != TALOS_OK) {
        snprintf(why, cap, "target node refused: %s", a.message);
        rc = a.status;
        goto out;
    }
    if (a.ticket_len != PEER_TICKET_BYTES) {
        rc = TALOS_ERR_PROTOCOL;
        goto refused;
    }
    /* The data connection: to the same address, admitted by the ticket
     * the target node gave us on the authenticated link. */
    peer_data_hello(hello, a.ticket);
    if ((rc = peer_tcp_connect(to, data)) != TALOS_OK ||
        (rc = talos_fd_write_full(*data, hello, sizeof(hello))) != TALOS_OK) {
        snprintf(why, cap, "cannot open the data connection to %s: %s", to, talos_strerror(rc));
        goto out;
    }
    rc = TALOS_OK;
    goto out;
refused:
    if (rc == TALOS_ERR_PEER_AUTH)
        snprintf(why, cap, "target node %s did not accept this node's certificate", to);
    else
        snprintf(why, cap, "target node broke off the preamble: %s", talos_strerror(rc));
out:
    talos_wipe(hello, sizeof(hello));
    talos_wipe(&a, sizeof(a));
    if (rc != TALOS_OK && *data >= 0) {
        close(*data);
        *data = -1;
    }
    peer_link_close(l);
    return rc;
}

int migrate_out(struct ta_entry *e, const char *to, int precopy, uint32_t max_rounds,
                struct talos_migration *m, note_fn note, void *ctx, char *why, size_t why_cap)
{
    struct talos_migrate_options o = {.precopy = precopy > 0, .max_rounds = max_rounds, .to = to};
    struct talos_migration_op *op = NULL;
    struct talos_ta *retired = NULL;
    struct talos_ta_info info = {0};
    int fd = -1, mode = 0, rc = TALOS_OK, resending = 0;

    memset(m, 0, sizeof(*m));
    /* One migration at a time: a second one waits here, then finds the TA
     * moved (or serves it). Calls are not held up by this lock: during a
     * pre-copy they run; during the freeze they wait inside the TA. */
    pthread_mutex_lock(&e->mig_lock);
    pthread_mutex_lock(&e->lock);
    if (e->moved_to[0] || e->removed) {
        snprintf(why, why_cap, "TA %s %s%s", e->id, e->removed ? "was stopped" : "moved to ",
                 e->removed ? "" : e->moved_to);
        rc = e->removed ? TALOS_ERR_NO_SUCH_TA : TALOS_ERR_MOVED;
        pthread_mutex_unlock(&e->lock);
        goto out;
    }
    /* Only an ACTIVE TA can move: refuse before any target is started. */
    if ((rc = talos_ta_info(e->ta, &info)) != TALOS_OK || strcmp(info.state, "ACTIVE") != 0) {
        snprintf(why, why_cap, "TA %s is %s, not ACTIVE%s", e->id, rc ? "unreachable" : info.state,
                 strcmp(info.state, "HANDED_OFF") == 0 ? " (in doubt: see talos resume)" : "");
        rc = strcmp(info.state, "CRASHED") == 0 ? TALOS_ERR_TA_CRASHED : TALOS_ERR_STATE;
        pthread_mutex_unlock(&e->lock);
        goto out;
    }
    pthread_mutex_unlock(&e->lock);
    mode = info.mode == TALOS_CALL_SWITCHLESS;
    /* Auto: pre-copy where it wins — a state large enough that copying it
     * frozen would cost more than the handshake (docs/precopy.md). */
    if (precopy < 0)
        precopy = info.state_bytes >= PRECOPY_AUTO_MIN_BYTES;
    o.precopy = precopy;
    note(ctx, "connecting", to);
    if ((rc = preamble(e, to, mode, note, ctx, &fd, why, why_cap)) != TALOS_OK)
        goto out;
    note(ctx, "target started", precopy ? "attesting, then pre-copy while the TA serves (TA to TA)"
                                        : "attesting and streaming (TA to TA)");
    pthread_mutex_lock(&e->lock);
    snprintf(e->moving_to, sizeof(e->moving_to), "%s", to);
    rc = talos_ta_migrate_start(e->ta, fd, &o, &op);
    pthread_mutex_unlock(&e->lock);
    fd = -1;
    if (rc == TALOS_OK)
        rc = talos_ta_migrate_wait(op, m);
    /* A call in flight ends first (the TA answers it after the migration). */
    pthread_mutex_lock(&e->lock);
    e->moving_to[0] = '\0';
    if (rc != TALOS_OK) {
        snprintf(why, why_cap, "the source TA failed: %s", talos_strerror(rc));
    } else if (m->status == TALOS_OK) {
        registry_moved(e, to, m->version);
        /* The source retired: stop it now (no zombie while the note
         * lives), after the lock: nothing uses e->ta once the note is set,
         * and clients asking where the lineage went need not wait for the
         * process to exit. What stays here is only the forwarding note. */
        retired = e->ta;
        e->ta = NULL;
        TLOG_INFO("lineage %s moved to %s at version %llu", e->id, to, (unsigned long long)m->version);
        note(ctx, "done", NULL);
    } else {
        if (m->token_kind == TALOS_MIG_HANDOFF && m->token_len <= sizeof(e->token)) {
            /* In doubt: keep the HANDOFF and resend it to the target node
             * (resend.c); the target may be PREPARED and waiting for it. */
            memcpy(e->token, m->token, m->token_len);
            e->token_len = m->token_len;
            resending = resend_start(e, to, m) == TALOS_OK;
        }
        snprintf(why, why_cap, "%s", m->reason);
        rc = m->status;
    }
    pthread_mutex_unlock(&e->lock);
    talos_ta_destroy(retired);
out:
    pthread_mutex_unlock(&e->mig_lock);
    if (fd >= 0)
        close(fd);
    if (resending) {
        /* The resend needs the TA's lock: wait for it with the lock free. */
        char how[300] = "";
        note(ctx, "in doubt", "resending the HANDOFF to the target node");
        rc = resend_await(e, node.handoff_wait + 5, how, sizeof(how));
        if (rc == TALOS_OK) {
            m->status = TALOS_OK;
            note(ctx, "done", "RECEIPT through the nodes");
        } else if (rc == TALOS_ERR_STATE) {
            snprintf(why, why_cap, "%s; %s", m->reason, how); /* still in doubt */
        } else {
            snprintf(why, why_cap, "%s", how); /* the ABORT came back: serving again */
        }
    }
    return rc;
}
