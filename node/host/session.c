/* Relaying a client session to its TA (docs/sessions.md): one SESSION
 * frame out, its SESSION_RET back. The bytes are TLS between the client
 * and the TA: the host neither reads nor can change them unnoticed. The
 * answer is hostile like every TA frame: bounded by its codec, and a TA
 * that sends a malformed one is stopped. Untrusted code. */
#include <string.h>

#include "core/msg.h"
#include "node/host/host.h"

TALOS_EXPORT int talos_ta_session(struct talos_ta *ta, uint32_t sid, enum talos_session_op op,
                                  const uint8_t *in, size_t in_len, struct talos_session_io *io)
{
    struct talos_msg_session m = {.sid = sid, .op = (uint8_t)op, .data = in, .len = in_len};
    struct talos_msg_session_ret ret;
    int rc = TALOS_OK;

    if (!ta || !io || !io->out || (in_len && !in) || in_len > TALOS_SESSION_IO_MAX ||
        (op != TALOS_SESSION_DATA && in_len) ||
        (op != TALOS_SESSION_OPEN && op != TALOS_SESSION_DATA && op != TALOS_SESSION_CLOSE))
        return TALOS_ERR_INVALID_ARG;
    io->out_len = 0;
    io->more = 0;
    io->closed = 1; /* until the TA says otherwise */
    if (ta->dead)
        return TALOS_ERR_TA_CRASHED;
    talos_wr_reset(&ta->tx);
    talos_msg_session_encode(&m, &ta->tx);
    if (ta->tx.err)
        return ta->tx.err;
    if ((rc = talos_xport_send(&ta->x, TALOS_MSG_SESSION, ta->tx.p, ta->tx.len)) != TALOS_OK)
        return talos_host_lose(ta, rc);
    if ((rc = talos_host_await(ta, TALOS_MSG_SESSION_RET)) != TALOS_OK)
        return rc;
    if (talos_msg_session_ret_decode(ta->rx.p, ta->rx.len, &ret) != TALOS_OK)
        return talos_host_lose(ta, TALOS_ERR_PROTOCOL);
    if (ret.len)
        memcpy(io->out, ret.data, ret.len); /* <= TALOS_SESS_IO_MAX: the codec's bound */
    io->out_len = ret.len;
    io->more = (ret.flags & TALOS_SESS_RET_MORE) != 0;
    io->closed = ret.status != TALOS_OK || (ret.flags & TALOS_SESS_RET_CLOSED) != 0;
    ta->version = ret.version;
    return ret.status;
}
