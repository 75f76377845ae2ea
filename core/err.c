/* The one table behind talos_strerror/talos_errname. */
#include "talos/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "core/reason.h"

struct err_entry {
    int code;
    const char *name;
    const char *text;
};

static const struct err_entry errs[] = {
    {TALOS_OK, "OK", "success"},
    {TALOS_ERR_INVALID_ARG, "INVALID_ARG", "invalid argument"},
    {TALOS_ERR_NOMEM, "NOMEM", "out of memory"},
    {TALOS_ERR_TOO_LARGE, "TOO_LARGE", "size exceeds limit"},
    {TALOS_ERR_MALFORMED, "MALFORMED", "malformed input"},
    {TALOS_ERR_PROTOCOL, "PROTOCOL", "protocol violation"},
    {TALOS_ERR_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", "not implemented by this backend"},
    {TALOS_ERR_IO, "IO", "I/O error"},
    {TALOS_ERR_TIMEOUT, "TIMEOUT", "timed out"},
    {TALOS_ERR_PEER_CLOSED, "PEER_CLOSED", "peer closed the connection"},
    {TALOS_ERR_EXISTS, "EXISTS", "already exists"},
    {TALOS_ERR_BUSY, "BUSY", "busy"},
    {TALOS_ERR_UNSAFE_FILE, "UNSAFE_FILE", "file or directory not private to this user"},
    {TALOS_ERR_NO_SUCH_TA, "NO_SUCH_TA", "no such TA on this node"},
    {TALOS_ERR_NO_SUCH_ECALL, "NO_SUCH_ECALL", "no such ecall"},
    {TALOS_ERR_BAD_ARGS, "BAD_ARGS", "ecall arguments do not match its shape"},
    {TALOS_ERR_NOT_FOUND, "NOT_FOUND", "not found"},
    {TALOS_ERR_TA_REFUSED, "TA_REFUSED", "refused by the TA"},
    {TALOS_ERR_TA_CRASHED, "TA_CRASHED", "TA crashed; its lineage is lost"},
    {TALOS_ERR_ARENA_FULL, "ARENA_FULL", "state arena full"},
    {TALOS_ERR_STATE, "STATE", "not allowed in the current lifecycle state"},
    {TALOS_ERR_IMAGE, "IMAGE", "not a valid TA image"},
    {TALOS_ERR_MOVED, "MOVED", "TA has migrated to another node"},
    {TALOS_ERR_RESTORE_HOOK, "RESTORE_HOOK", "the TA's restore hook failed on the target"},
    {TALOS_ERR_UNMOVABLE, "UNMOVABLE", "the TA holds state that cannot migrate"},
    {TALOS_ERR_CRYPTO, "CRYPTO", "cryptographic operation failed"},
    {TALOS_ERR_EVIDENCE_SIG, "EVIDENCE_SIG", "evidence signature invalid"},
    {TALOS_ERR_EVIDENCE_CHAIN, "EVIDENCE_CHAIN", "platform certificate not issued by a trust anchor"},
    {TALOS_ERR_EVIDENCE_SIM, "EVIDENCE_SIM", "simulated evidence refused (no hardware isolation)"},
    {TALOS_ERR_REPORT_DATA, "REPORT_DATA", "report data does not match"},
    {TALOS_ERR_MEASUREMENT, "MEASUREMENT", "measurement not allowed by policy"},
    {TALOS_ERR_BACKEND, "BACKEND", "TEE backend failure"},
    {TALOS_ERR_MAC, "MAC", "authentication tag mismatch"},
    {TALOS_ERR_HANDOFF_WAIT, "HANDOFF_WAIT", "prepared target waits for a HANDOFF from its node"},
    {TALOS_ERR_NO_SUCH_SESSION, "NO_SUCH_SESSION", "no such migration session on this node"},
    {TALOS_ERR_ABORTED, "ABORTED", "an operator gave up on the migration"},
    {TALOS_ERR_CFG, "CFG", "execution flow does not match the CFG"},
    {TALOS_ERR_CFG_DIGEST, "CFG_DIGEST", "CFG digest not allowed by policy"},
    {TALOS_ERR_PEER_AUTH, "PEER_AUTH", "peer node not authenticated by a configured CA"},
    {TALOS_ERR_POLICY, "POLICY", "image not allowed by the node's image policy"},
    {TALOS_ERR_ROLLBACK, "ROLLBACK", "the TA showed a version lower than this client saw"},
    {TALOS_ERR_LINEAGE, "LINEAGE", "the TA behind the session is of another lineage"},
    {TALOS_ERR_REPLAY, "REPLAY", "call sequence number already used; its answer is no longer recorded"},
    {TALOS_ERR_CERT, "CERT", "state certificate does not verify"},
    {TALOS_ERR_CERT_FORK, "CERT_FORK", "state certificates show a fork of the lineage"},
    {TALOS_ERR_CERT_ROLLBACK, "CERT_ROLLBACK", "version or key epoch goes back in the certificate chain"},
    {TALOS_ERR_CERT_LINEAGE, "CERT_LINEAGE", "state certificate of another lineage"},
    {TALOS_ERR_CERT_LINK, "CERT_LINK", "lineage key not certified by the previous key"},
};

static const struct err_entry *find(int err)
{
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        if (errs[i].code == err)
            return &errs[i];
    return NULL;
}

const char *talos_strerror(int err)
{
    const struct err_entry *e = find(err);
    return e ? e->text : "unknown error";
}

const char *talos_errname(int err)
{
    const struct err_entry *e = find(err);
    return e ? e->name : "UNKNOWN";
}

int talos_reason(int rc, char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (why && cap) {
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}
