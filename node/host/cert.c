/* State certificates from the host side: the node only relays them. A
 * certificate is signed inside the TA with its lineage key; whoever reads
 * it verifies it (talos verify), never the node (docs/state-certs.md). */
#include <string.h>

#include "core/msg.h"
#include "node/host/host.h"

TALOS_EXPORT int talos_ta_state_cert(struct talos_ta *ta, struct talos_result *res)
{
    int rc = TALOS_OK;

    if (!ta || !res)
        return TALOS_ERR_INVALID_ARG;
    memset(res, 0, sizeof(*res));
    if (ta->dead)
        return TALOS_ERR_TA_CRASHED;
    if ((rc = talos_xport_send(&ta->x, TALOS_MSG_STATE_CERT, NULL, 0)) != TALOS_OK)
        return talos_host_lose(ta, rc);
    if ((rc = talos_host_await(ta, TALOS_MSG_REPLY)) != TALOS_OK)
        return rc;
    return talos_host_decode_reply(ta, res);
}
