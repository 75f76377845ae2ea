/* Migration compiled out (-DTALOS_NO_MIGRATION; bench images only, see the
 * Makefile): these stand in for ta/mig_*.c and ta/chan.c, which such a
 * runtime leaves out, so that the runtime overhead of migration support can
 * be measured against a runtime without it (bench/overhead.c). The host's
 * MIGRATE_* and RESUME frames are answered NOT_IMPLEMENTED. In a normal
 * build this file is empty. */
#ifdef TALOS_NO_MIGRATION
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/mig.h"
#include "core/msg.h"
#include "ta/chan.h"
#include "ta/flow.h"
#include "ta/rt.h"

#define WHY "this TA image was built without migration support (TALOS_NO_MIGRATION)"

/* The host decodes a migration report from every answer to MIGRATE_*,
 * refusals included (ta/mig_common.c mig_reply): an empty one, with the
 * lineage and version of this instance. */
static int refuse_reply(void)
{
    struct talos_mig_report rep;
    struct talos_wr w;
    int rc = TALOS_OK;

    memset(&rep, 0, sizeof(rep));
    memcpy(rep.lineage, talos_rt.lineage, sizeof(rep.lineage));
    rep.version = talos_rt.version;
    talos_wr_init(&w, 4096);
    talos_mig_report_encode(&rep, &w);
    rc = w.err ? w.err : talos_rt_reply(TALOS_ERR_NOT_IMPLEMENTED, w.p, w.len, WHY);
    talos_wr_free(&w);
    return rc;
}

static int refuse(int fd)
{
    (void)close(fd);
    return refuse_reply();
}

/* MIGRATE_OUT: the answer goes on the control channel that came with it
 * (ta/mig_ctl.c in a normal build). */
int talos_rt_mig_start(const uint8_t *body, size_t len)
{
    struct talos_xport x;
    struct talos_wr w;
    const struct talos_bnd b = {&x, NULL, &w};
    int fd = -1, rc = talos_xport_take_fd(&talos_rt.x, &fd);

    (void)body;
    (void)len;
    if (rc != TALOS_OK)
        return rc;
    talos_xport_init(&x, dup(fd), TALOS_MSG_FROM_HOST);
    talos_wr_init(&w, 0);
    talos_rt_set_bnd(&b);
    rc = refuse(fd);
    talos_rt_set_bnd(NULL);
    talos_wr_free(&w);
    talos_xport_close(&x);
    return rc;
}

int talos_rt_mig_busy(void) { return 0; }

void talos_rt_mig_reap(int wait) { (void)wait; }

const char *talos_rt_moved_to(void) { return ""; }

int talos_rt_migrate_in(int fd, const uint8_t expected_lineage[TALOS_LINEAGE_BYTES],
                        uint64_t prefault_grant)
{
    (void)expected_lineage, (void)prefault_grant;
    return refuse(fd);
}

int talos_rt_resume(const uint8_t *tok, size_t len, char *why, size_t why_cap)
{
    (void)tok;
    (void)len;
    (void)why;
    (void)why_cap;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* The handover after a lost channel (ta/mig_handoff.c): none here. */
int talos_rt_handoff(const uint8_t *tok, size_t len)
{
    (void)tok;
    (void)len;
    return refuse_reply();
}

void talos_rt_ident_start(int target)
{
    (void)target;
}

int talos_rt_prefault(uint64_t bytes)
{
    (void)bytes;
    return TALOS_ERR_NOT_IMPLEMENTED;
}

int talos_rt_give_up(int32_t code)
{
    (void)code;
    return refuse_reply();
}

int talos_rt_receipt(const uint8_t *tok, size_t len, char *why, size_t why_cap)
{
    (void)tok;
    (void)len;
    snprintf(why, why_cap, "%s", WHY);
    return TALOS_ERR_NOT_IMPLEMENTED;
}

/* No migration, no thread contexts to record or check (ta/flow.c). */
void talos_flow_set_entry(void *entry_frame) { (void)entry_frame; }
void talos_flow_arm(void) {}
int talos_flow_armed(void) { return 0; }
void talos_flow_capture(void *mp_frame) { (void)mp_frame; }
int talos_flow_load_start(void) { return TALOS_OK; }
void talos_flow_fini(void) {}

void talos_chan_warmup(void)
{
}
#endif
