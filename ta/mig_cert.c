/* The LINEAGE record of a migration (docs/state-certs.md): the lineage key
 * and execution record, sent by the frozen source right before BEGIN, held
 * aside by the target until it activates (ta/cert.c). Separate from
 * ta/cert.c so that images built without migration (bench) leave it out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cert.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "ta/cert.h"
#include "ta/chan.h"

_Static_assert(TALOS_MIG_LINEAGE_MAX ==
                   TALOS_MIG_LINEAGE_MIN + TALOS_CERT_MAX_LINKS * TALOS_CERT_LINK_BYTES,
               "the LINEAGE record must hold every link a certificate may carry");

int talos_rt_cert_send(struct mig *m)
{
    struct talos_lineage_rec rec;
    struct talos_wr w;
    int rc = talos_rt_cert_export(&rec);

    if (rc != TALOS_OK) {
        snprintf(m->reason, sizeof(m->reason), "this instance holds no lineage key");
        return rc;
    }
    talos_wr_init(&w, TALOS_MIG_LINEAGE_MAX);
    talos_lineage_rec_encode(&rec, &w);
    talos_wipe(&rec, sizeof(rec)); /* the links were borrowed: not freed */
    /* One TLS record whatever the number of links (D28, attack tests). */
    rc = w.err ? w.err : talos_chan_send_one(&m->ch, TALOS_MIG_LINEAGE, w.p, w.len);
    talos_wr_free(&w); /* wipes the seed */
    return rc;
}

int talos_rt_cert_recv(struct mig *m, uint32_t len)
{
    struct talos_lineage_rec rec;
    uint8_t *buf = NULL;
    int rc = TALOS_OK;

    if (len > TALOS_MIG_LINEAGE_MAX) /* the record table bounds it already */
        return TALOS_ERR_TOO_LARGE;
    if (!(buf = malloc(len ? len : 1)))
        return TALOS_ERR_NOMEM;
    if ((rc = talos_chan_read(&m->ch, buf, len)) == TALOS_OK &&
        (rc = talos_lineage_rec_decode(buf, len, &rec)) != TALOS_OK)
        snprintf(m->reason, sizeof(m->reason), "LINEAGE record does not decode");
    if (rc == TALOS_OK)
        talos_rt_cert_import(&rec);
    talos_wipe(buf, len);
    free(buf);
    return rc;
}
