/* Migration compiled out (-DTALOS_NO_MIGRATION; bench images only, see the
 * Makefile): these stand in for ta/mig_*.c and ta/chan.c, which such a
 * runtime leaves out, so that the runtime overhead of migration support can
 * be measured against a runtime without it (bench/overhead.c). The host's
 * MIGRATE_* and RESUME frames are answered NOT_IMPLEMENTED. In a normal
 * build this file is empty. */
#ifdef TALOS_NO_MIGRATION
#include <string.h>
#include <unistd.h>

#include "core/mig.h"
#include "ta/chan.h"
#include "ta/rt.h"

#define WHY "this TA image was built without migration support (TALOS_NO_MIGRATION)"

/* The host decodes a migration report from every answer to MIGRATE_*,
 * refusals included (ta/mig_common.c mig_reply): an empty one, with the
 * lineage and version of this instance. */
static int refuse(int fd)
{
    struct talos_mig_report rep;
    struct talos_wr w;
    int rc = TALOS_OK;

    (void)close(fd);
    memset(&rep, 0, sizeof(rep));
    memcpy(rep.lineage, talos_rt.lineage, sizeof(rep.lineage));
    rep.version = talos_rt.version;
    talos_wr_init(&w, 4096);
    talos_mig_report_encode(&rep, &w);
    rc = w.err ? w.err : talos_rt_reply(TALOS_ERR_NOT_IMPLEMENTED, w.p, w.len, WHY);
    talos_wr_free(&w);
    return rc;
}

int talos_rt_migrate_out(int fd)
{
    return refuse(fd);
}

int talos_rt_migrate_in(int fd, const uint8_t expected_lineage[16])
{
    (void)expected_lineage;
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

void talos_chan_warmup(void)
{
}
#endif
