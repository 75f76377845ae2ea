/* TALOS error vocabulary: one enum for every layer.
 *
 * 0 is success; every failure is a distinct negative code so that tests can
 * assert the exact refusal. Foreign codes (errno, OpenSSL, a TEE's status)
 * are converted once, where they enter TALOS. The numbers are part of the
 * wire format (they travel in replies) and never change meaning.
 */
#ifndef TALOS_ERR_H
#define TALOS_ERR_H

#include "talos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum talos_err {
    TALOS_OK = 0,
    /* caller and input errors */
    TALOS_ERR_INVALID_ARG = -1,     /* a parameter is out of its documented range */
    TALOS_ERR_NOMEM = -2,           /* allocation failed */
    TALOS_ERR_TOO_LARGE = -3,       /* a size exceeds a documented limit */
    TALOS_ERR_MALFORMED = -4,       /* bytes do not decode as the expected format */
    TALOS_ERR_PROTOCOL = -5,        /* a well-formed message at the wrong moment */
    TALOS_ERR_NOT_IMPLEMENTED = -6, /* this backend or build does not provide it */
    TALOS_ERR_IO = -7,              /* an OS read/write/connect failed */
    TALOS_ERR_TIMEOUT = -8,         /* the peer did not answer in time */
    TALOS_ERR_PEER_CLOSED = -9,     /* the peer closed the connection */
    TALOS_ERR_EXISTS = -10,         /* the object already exists */
    TALOS_ERR_BUSY = -11,           /* resource in use; retry later */
    TALOS_ERR_UNSAFE_FILE = -12,    /* a file or directory another user could control: foreign
                                       owner, group/other-writable, a symlink, wrong type */
    /* TA and ecall errors */
    TALOS_ERR_NO_SUCH_TA = -20,     /* no TA with this id on this node */
    TALOS_ERR_NO_SUCH_ECALL = -21,  /* the TA exports no ecall of that name */
    TALOS_ERR_BAD_ARGS = -22,       /* ecall argument count or length outside its shape */
    TALOS_ERR_NOT_FOUND = -23,      /* the TA looked for something that is not there */
    TALOS_ERR_TA_REFUSED = -24,     /* the TA's own logic refused the request */
    TALOS_ERR_TA_CRASHED = -25,     /* the TA process died; its lineage is lost */
    TALOS_ERR_ARENA_FULL = -26,     /* the state arena cannot grow further */
    TALOS_ERR_STATE = -27,          /* not allowed in the TA's current lifecycle state */
    TALOS_ERR_IMAGE = -28,          /* not a loadable TA image */
    TALOS_ERR_MOVED = -29,          /* the TA migrated away from this node */
    TALOS_ERR_RESTORE_HOOK = -30,   /* the TA's restore hook refused its new home (D45) */
    TALOS_ERR_UNMOVABLE = -31,      /* the TA holds state the runtime cannot move (D46) */
    /* cryptography and attestation */
    TALOS_ERR_CRYPTO = -40,         /* a cryptographic library call failed */
    TALOS_ERR_EVIDENCE_SIG = -41,   /* evidence signature does not verify */
    TALOS_ERR_EVIDENCE_CHAIN = -42, /* platform certificate does not chain to a trust anchor */
    TALOS_ERR_EVIDENCE_SIM = -43,   /* simulated evidence refused by this verifier */
    TALOS_ERR_REPORT_DATA = -44,    /* report data does not bind what it must */
    TALOS_ERR_MEASUREMENT = -45,    /* measurement not allowed by the policy */
    TALOS_ERR_BACKEND = -46,        /* the TEE backend failed */
    TALOS_ERR_MAC = -47,            /* authentication tag or MAC mismatch */
    /* state certificates (docs/state-certs.md) */
    TALOS_ERR_CERT = -60,           /* a certificate's signature or content does not verify */
    TALOS_ERR_CERT_FORK = -61,      /* two states, chain heads or keys for one point: the lineage forked */
    TALOS_ERR_CERT_ROLLBACK = -62,  /* a version or key epoch goes back along the chain */
    TALOS_ERR_CERT_LINEAGE = -63,   /* a certificate of another lineage */
    TALOS_ERR_CERT_LINK = -64,      /* a key not certified by the previous epoch's key */
    /* handover after a lost channel (docs/migration.md, "Resend") */
    TALOS_ERR_HANDOFF_WAIT = -65,   /* PREPARED target lost its channel: waits for a HANDOFF via its node */
    TALOS_ERR_NO_SUCH_SESSION = -66, /* the node knows no migration session of that lineage and id */
    TALOS_ERR_ABORTED = -67,        /* an operator gave up on the PREPARED target (talos abort) */
    /* execution-flow verification (docs/cfg.md) */
    TALOS_ERR_CFG = -70,            /* execution flow does not match the CFG */
    TALOS_ERR_CFG_DIGEST = -71,     /* CFG digest not allowed by the policy */
    /* the node itself (docs/node-security.md) */
    TALOS_ERR_PEER_AUTH = -80,      /* the peer node holds no certificate of a configured CA */
    TALOS_ERR_POLICY = -81,         /* the image is not allowed by this node's image policy */
    /* client sessions (docs/sessions.md) */
    TALOS_ERR_ROLLBACK = -90,       /* an instance showed a client a version lower than one it saw */
    TALOS_ERR_LINEAGE = -91,        /* the instance behind a session is of another lineage */
    TALOS_ERR_REPLAY = -92,         /* a call's sequence number was used and its answer is gone */
};

#define TALOS_ERR_MIN (-99)

/* Static, human-readable, one line, no trailing newline. Never NULL: an
 * unknown code yields "unknown error". */
const char *talos_strerror(int err);

/* Stable short identifier, e.g. "EVIDENCE_SIG"; "UNKNOWN" for unknown codes.
 * Used in --json output and by tests. */
const char *talos_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
