/* The migration control thread of a source TA (UniTEE's control thread).
 *
 * MIGRATE_OUT arrives on the main thread with the migration's own control
 * channel; the migration then runs here, beside the main thread, which goes
 * on serving calls (pre-copy). The two meet at one mutex (talos_rt.freeze):
 * the main thread holds it around each frame it handles while a migration
 * runs, the control thread takes it to freeze — so the freeze falls on a
 * call boundary and no ecall runs while the state is frozen. This trusts
 * nothing the host says about quiescence: the host may go on sending calls,
 * they wait at the mutex. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/msg.h"
#include "core/wire.h"
#include "ta/mig.h"
#include "ta/rt.h"

static struct {
    int running;          /* main thread only: a control thread exists */
    atomic_int done;      /* set by the control thread as it ends */
    pthread_t thread;
    int ctl_fd;
    struct talos_xport x;
    struct talos_wr rx, tx;
    struct talos_bnd bnd;
    struct talos_rt_migopts opts;
} ctl;

static char moved_to[256];

const char *talos_rt_moved_to(void) { return moved_to; }

int talos_rt_mig_busy(void) { return ctl.running; }

static void *ctl_main(void *arg)
{
    uint16_t type = 0;
    int fd = -1, rc = TALOS_OK;

    (void)arg;
    talos_rt_set_bnd(&ctl.bnd);
    /* The socket to the target comes first, on this channel. */
    if ((rc = talos_xport_recv(&ctl.x, &type, &ctl.rx)) == TALOS_OK &&
        type != TALOS_MSG_MIGRATE_SOCK)
        rc = TALOS_ERR_PROTOCOL;
    if (rc == TALOS_OK)
        rc = talos_xport_take_fd(&ctl.x, &fd);
    if (rc == TALOS_OK) {
        /* Named in MOVED answers only once RETIRED (ta/dispatch.c); set
         * before, since queued calls are answered as soon as we thaw. */
        snprintf(moved_to, sizeof(moved_to), "%s", ctl.opts.to);
        (void)talos_rt_migrate_out(fd, &ctl.opts);
    } else {
        TLOG_WARN("migration control channel broke before the target socket came: %s",
                  talos_strerror(rc));
    }
    talos_xport_close(&ctl.x);
    atomic_store(&ctl.done, 1);
    return NULL;
}

void talos_rt_mig_reap(int wait)
{
    if (wait)
        mig_later_join(); /* a target's import tail (ta/mig_common.c) */
    if (!ctl.running || (!wait && !atomic_load(&ctl.done)))
        return;
    pthread_join(ctl.thread, NULL);
    talos_wr_free(&ctl.rx);
    talos_wr_free(&ctl.tx);
    ctl.running = 0;
}

/* MIGRATE_OUT: u8 precopy ‖ u32 max rounds ‖ str target; the control
 * channel rides on the frame. */
int talos_rt_mig_start(const uint8_t *body, size_t len)
{
    struct talos_rt_migopts o;
    struct talos_rd r;
    int fd = -1, rc = talos_xport_take_fd(&talos_rt.x, &fd);

    if (rc != TALOS_OK)
        return rc; /* the host broke the frame protocol */
    memset(&o, 0, sizeof(o));
    talos_rd_init(&r, body, len);
    o.precopy = talos_rd_u8(&r) == 1;
    o.max_rounds = talos_rd_u32(&r);
    talos_rd_str(&r, o.to, sizeof(o.to));
    if (talos_rd_finish(&r) != TALOS_OK || ctl.running) {
        /* Answer on the control channel that came with it; ours is not its. */
        struct talos_xport x;
        struct talos_wr w;
        const struct talos_bnd b = {&x, NULL, &w};
        talos_xport_init(&x, fd, TALOS_MSG_FROM_HOST);
        talos_wr_init(&w, 0);
        talos_rt_set_bnd(&b);
        (void)talos_rt_reply(ctl.running ? TALOS_ERR_BUSY : TALOS_ERR_MALFORMED, NULL, 0,
                             ctl.running ? "a migration of this TA is already running"
                                         : "malformed MIGRATE_OUT");
        talos_rt_set_bnd(NULL);
        talos_wr_free(&w);
        talos_xport_close(&x);
        return TALOS_OK;
    }
    memset(&ctl.x, 0, sizeof(ctl.x));
    talos_xport_init(&ctl.x, fd, TALOS_MSG_FROM_HOST);
    talos_wr_init(&ctl.rx, TALOS_MSG_MAX);
    talos_wr_init(&ctl.tx, 0);
    ctl.bnd = (struct talos_bnd){&ctl.x, &ctl.rx, &ctl.tx};
    ctl.opts = o;
    atomic_store(&ctl.done, 0);
    if (talos_rt_thread_create(&ctl.thread, ctl_main, NULL) != 0) {
        talos_rt_set_bnd(&ctl.bnd);
        (void)talos_rt_reply(TALOS_ERR_NOMEM, NULL, 0, "cannot start the migration thread");
        talos_rt_set_bnd(NULL);
        talos_xport_close(&ctl.x);
        talos_wr_free(&ctl.rx);
        talos_wr_free(&ctl.tx);
        return TALOS_OK;
    }
    ctl.running = 1;
    return TALOS_OK;
}
