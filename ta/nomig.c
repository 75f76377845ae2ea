/* Migration compiled out (-DTALOS_NO_MIGRATION; bench images only, see the
 * Makefile): these stand in for ta/mig_*.c and ta/chan.c, which such a
 * runtime leaves out, so that the runtime overhead of migration support can
 * be measured against a runtime without it (bench/overhead.c). The host's
 * MIGRATE_* and RESUME frames are answered NOT_IMPLEMENTED. In a normal
 * build this file is empty. */
#ifdef TALOS_NO_MIGRATION
#include <unistd.h>

#include "ta/chan.h"
#include "ta/rt.h"

#define WHY "this TA image was built without migration support (TALOS_NO_MIGRATION)"

int talos_rt_migrate_out(int fd)
{
    (void)close(fd);
    return talos_rt_reply(TALOS_ERR_NOT_IMPLEMENTED, NULL, 0, WHY);
}

int talos_rt_migrate_in(int fd, const uint8_t expected_lineage[16])
{
    (void)expected_lineage;
    (void)close(fd);
    return talos_rt_reply(TALOS_ERR_NOT_IMPLEMENTED, NULL, 0, WHY);
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
