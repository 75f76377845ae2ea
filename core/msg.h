/* Messages between a host and the TA it runs (the enclave boundary).
 *
 * A frame is: u32 body length (big-endian, <= TALOS_MSG_MAX) ‖ u16 type ‖
 * u16 flags(0) ‖ body. Bodies use core/wire.h. The same frames travel over
 * a socket (passive mode) or over shared-memory rings (switchless mode).
 * Every type has one row in talos_msg_table: who may send it and its size
 * bounds, checked before any handler looks at the body.
 */
#ifndef TALOS_CORE_MSG_H
#define TALOS_CORE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "talos/abi.h"

#define TALOS_MSG_HDR 8
#define TALOS_MSG_MAX (TALOS_MAX_ARGS * (TALOS_MAX_ARG_BYTES + 4) + 4096)

enum talos_msg_type {
    /* host -> TA */
    TALOS_MSG_INIT = 1,        /* u8 start(fresh=1, restore=2) ‖ u8 call mode(switchless=1) ‖ bytes config */
    TALOS_MSG_CALL = 2,        /* str ecall ‖ u32 argc ‖ argc × bytes */
    TALOS_MSG_ATTEST = 3,      /* raw nonce[32] */
    TALOS_MSG_INFO = 4,        /* empty */
    TALOS_MSG_STOP = 5,        /* empty */
    TALOS_MSG_OCALL_RET = 6,   /* i32 status ‖ bytes resp */
    TALOS_MSG_HOST_RET = 7,    /* i32 status ‖ bytes resp (answer to HOST_REQ) */
    TALOS_MSG_MIGRATE_OUT = 8, /* u8 precopy ‖ u32 max rounds ‖ str target (for MOVED reasons);
                                * the migration's control socket travels with it (SCM_RIGHTS) */
    TALOS_MSG_MIGRATE_IN = 9,  /* lineage[16] the host expects; a socket travels with it */
    TALOS_MSG_RESUME = 10,     /* bytes ABORT token: resume a HANDED_OFF source */
    TALOS_MSG_HANDOFF = 11,    /* bytes HANDOFF token: a waiting PREPARED target activates */
    TALOS_MSG_GIVE_UP = 12,    /* i32 code: a waiting PREPARED target fails and seals an ABORT */
    TALOS_MSG_RECEIPT = 13,    /* bytes RECEIPT token: a HANDED_OFF source retires */
    TALOS_MSG_STATE_CERT = 14, /* empty: checkpoint and answer a signed state certificate (REPLY) */
    TALOS_MSG_MIGRATE_SOCK = 15, /* on a migration's control socket: empty; the socket to the
                                  * target travels with it */
    TALOS_MSG_PREFAULT = 22,   /* u64 bytes: a virgin target faults in its arena's first bytes now */
    TALOS_MSG_SESSION = 23,    /* u32 sid ‖ u8 op ‖ raw bytes: a client session's TLS bytes
                                * (docs/sessions.md); answered by SESSION_RET */
    /* TA -> host */
    TALOS_MSG_READY = 16,      /* raw lineage[16] ‖ u64 version ‖ str name */
    TALOS_MSG_REPLY = 17,      /* i32 status ‖ u64 version ‖ bytes out ‖ str reason */
    TALOS_MSG_OCALL = 18,      /* str name ‖ bytes req */
    TALOS_MSG_HOST_REQ = 19,   /* u16 backend request type ‖ bytes req */
    TALOS_MSG_INFO_RET = 20,   /* u64 version ‖ u64 state_bytes ‖ str state */
    TALOS_MSG_START_FAILED = 21, /* i32 status ‖ str reason: instead of READY, then the TA exits */
    TALOS_MSG_SESSION_RET = 24, /* i32 status ‖ u64 version ‖ u8 flags ‖ raw bytes: TLS bytes for
                                 * the client */
};

#define TALOS_MSG_FROM_HOST 1
#define TALOS_MSG_FROM_TA 2

struct talos_msg_desc {
    uint16_t type;
    const char *name;
    uint8_t from;      /* TALOS_MSG_FROM_* */
    uint32_t min_len;  /* body bytes */
    uint32_t max_len;
};

/* Row for `type`, or NULL when the type is unknown. */
const struct talos_msg_desc *talos_msg_find(uint16_t type);

/* Check a received header against the table: known type, allowed sender,
 * body length in bounds. Returns TALOS_OK, TALOS_ERR_PROTOCOL or
 * TALOS_ERR_TOO_LARGE. */
int talos_msg_check(uint16_t type, uint8_t from, uint32_t body_len);

/* Backend request types carried in TALOS_MSG_HOST_REQ (enclave side of a
 * backend asking its platform). */
enum talos_host_req {
    TALOS_HOST_REQ_QUOTE = 1,    /* raw report_data[64] -> evidence */
    TALOS_HOST_REQ_SEAL_KEY = 2, /* u32 policy -> raw key[32] */
    TALOS_HOST_REQ_CFG = 3,      /* empty -> the TA image's canonical CFG file (hostile: the
                                  * TA checks it against the cfg_digest of its own evidence) */
    TALOS_HOST_REQ_ACTIVATE = 4, /* lineage[16] ‖ u64 version -> empty: a migration target is
                                  * about to serve; status OK once the host recorded the
                                  * arrival (docs/node-security.md, "No silent loss") */
};

/* The fixed-size bodies of the migration's host frames and requests: one
 * codec each, so that no side reads them by offset. Decoders take hostile
 * bytes, want exactly the body's size and return TALOS_OK or
 * TALOS_ERR_MALFORMED (*out zeroed). */

/* MIGRATE_IN: the lineage the host expects ‖ u64 the pre-fault (bytes) the
 * node grants this target. */
#define TALOS_MSG_MIGRATE_IN_BYTES (TALOS_LINEAGE_BYTES + 8)
struct talos_msg_migrate_in {
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t prefault_grant;
};
void talos_msg_migrate_in_encode(const struct talos_msg_migrate_in *in,
                                 uint8_t out[TALOS_MSG_MIGRATE_IN_BYTES]);
int talos_msg_migrate_in_decode(const uint8_t *p, size_t n, struct talos_msg_migrate_in *out);

/* GIVE_UP: i32 the code the waiting target fails with. */
#define TALOS_MSG_GIVE_UP_BYTES 4
void talos_msg_give_up_encode(int32_t code, uint8_t out[TALOS_MSG_GIVE_UP_BYTES]);
int talos_msg_give_up_decode(const uint8_t *p, size_t n, int32_t *code);

/* PREFAULT: u64 how many bytes of its arena a virgin target faults in
 * before any migration (a warm pool's target, talosd --pool-arena). */
#define TALOS_MSG_PREFAULT_BYTES 8
void talos_msg_prefault_encode(uint64_t bytes, uint8_t out[TALOS_MSG_PREFAULT_BYTES]);
int talos_msg_prefault_decode(const uint8_t *p, size_t n, uint64_t *bytes);

/* START_FAILED: why the runtime could not start (today: its backend's
 * init failed): i32 a talos_err ‖ str reason. From the TA, so
 * hostile: it can only say how it failed itself, and the host never
 * answers OK to it. */
#define TALOS_MSG_START_REASON_MAX 256 /* bytes of the reason, NUL included */
struct talos_msg_start_failed {
    int32_t status;
    char reason[TALOS_MSG_START_REASON_MAX];
};
struct talos_wr;
void talos_msg_start_failed_encode(const struct talos_msg_start_failed *in, struct talos_wr *w);
int talos_msg_start_failed_decode(const uint8_t *p, size_t n, struct talos_msg_start_failed *out);

/* SESSION and SESSION_RET (docs/sessions.md): the node relays a client's
 * TLS bytes to the TA and back, at most TALOS_SESS_IO_MAX per frame each
 * way. The node names sessions (sid); the TA holds at most
 * TALOS_SESS_MAX of them. OPEN carries no bytes (the TA makes the
 * session's TLS state), DATA carries what the client sent (possibly none:
 * "give me what you have"), CLOSE ends it (the client left). The answer's
 * status is TALOS_OK, or the reason the TA will not serve the session
 * (MOVED, STATE, BUSY, NO_SUCH_SESSION, PROTOCOL): the node then sends
 * the bytes and closes. flags: MORE, the TA holds more bytes for the
 * client (the node asks again with an empty DATA); CLOSED, the TA ended
 * the session (after these bytes). */
#define TALOS_SESS_IO_MAX (64u << 10)
#define TALOS_SESS_MAX 256
enum talos_sess_op { TALOS_SESS_OP_OPEN = 1, TALOS_SESS_OP_DATA = 2, TALOS_SESS_OP_CLOSE = 3 };
#define TALOS_SESS_RET_MORE 0x1u
#define TALOS_SESS_RET_CLOSED 0x2u
#define TALOS_MSG_SESSION_MIN 5
#define TALOS_MSG_SESSION_RET_MIN 13
struct talos_msg_session {
    uint32_t sid;
    uint8_t op;          /* enum talos_sess_op */
    const uint8_t *data; /* into the decoded body */
    size_t len;          /* <= TALOS_SESS_IO_MAX; 0 unless DATA */
};
void talos_msg_session_encode(const struct talos_msg_session *in, struct talos_wr *w);
int talos_msg_session_decode(const uint8_t *p, size_t n, struct talos_msg_session *out);
struct talos_msg_session_ret {
    int32_t status;      /* a talos_err */
    uint64_t version;    /* the TA's version when it answered */
    uint8_t flags;       /* TALOS_SESS_RET_* */
    const uint8_t *data; /* into the decoded body */
    size_t len;          /* <= TALOS_SESS_IO_MAX */
};
void talos_msg_session_ret_encode(const struct talos_msg_session_ret *in, struct talos_wr *w);
int talos_msg_session_ret_decode(const uint8_t *p, size_t n, struct talos_msg_session_ret *out);

/* TALOS_HOST_REQ_ACTIVATE's request: lineage ‖ u64 version. */
#define TALOS_HOST_ACTIVATE_BYTES (TALOS_LINEAGE_BYTES + 8)
struct talos_host_activate {
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;
};
void talos_host_activate_encode(const struct talos_host_activate *in,
                                uint8_t out[TALOS_HOST_ACTIVATE_BYTES]);
int talos_host_activate_decode(const uint8_t *p, size_t n, struct talos_host_activate *out);

#endif
