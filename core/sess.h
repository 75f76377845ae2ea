/* Client sessions (docs/sessions.md): what a client, the node that relays
 * it and the TA say to each other. One codec for all three; no I/O.
 *
 * 1. The preamble, in plaintext, read by the node (it names the TA; the
 *    node learns nothing else):
 *      client -> node  magic "talosc1\0" ‖ lineage[16]
 *      node -> client  u32 n ‖ n bytes: i32 status ‖ str message
 *    status OK: from the next byte on, the connection is the client's TLS
 *    1.3 session with the TA, which the node only relays. MOVED: message is
 *    the HOST:PORT where the lineage went (untrusted: the client verifies
 *    whatever answers there). Anything else: the refusal, then close.
 *    The magic's first byte ('t') tells the node's one listening port that
 *    this is a client, not a peer node (TLS, 0x16) or a data connection
 *    ('T').
 *
 * 2. Records inside the TLS session: u32 body length ‖ u8 type ‖ body.
 *      C HELLO    u8 proto ‖ client_id[16]
 *      T WELCOME  u8 proto ‖ lineage[16] ‖ u64 version ‖ u64 last_seq
 *                 (the last sequence number the TA recorded for client_id;
 *                 0: none)
 *      C CALL     u64 seq ‖ u8 flags (RETRY) ‖ str ecall ‖ u32 argc ‖
 *                 argc × bytes (the host CALL frame's argument encoding)
 *      T RESULT   u64 seq ‖ i32 status ‖ u64 version ‖ u8 flags (REPLAYED)
 *                 ‖ bytes out ‖ str reason
 *      T END      i32 code ‖ str reason: the TA ends the session (MOVED,
 *                 STATE, PROTOCOL, REPLAY...), then closes
 *    version in WELCOME and RESULT is the TA's version when it sent them
 *    (for a replayed answer too), so a client's versions never decrease.
 *
 * Trusted code on both ends of the TLS session (TA runtime, client
 * library); the node uses only the preamble. */
#ifndef TALOS_CORE_SESS_H
#define TALOS_CORE_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire.h"
#include "talos/abi.h"
#include "talos/ta.h"

#define TALOS_SESS_MAGIC "talosc1" /* 8 bytes with its NUL */
#define TALOS_SESS_MAGIC_BYTES 8
#define TALOS_SESS_PREAMBLE_BYTES (TALOS_SESS_MAGIC_BYTES + TALOS_LINEAGE_BYTES)
#define TALOS_SESS_ANSWER_MAX 512 /* body of the node's answer */
#define TALOS_SESS_PROTO 1
#define TALOS_SESS_CLIENT_ID_BYTES 16
#define TALOS_SESS_ROLE 'C' /* the role in the TA's session evidence (core/migcheck.h binding) */

/* The evidence extension of a TA's session certificate (core/ratls.h). */

void talos_sess_preamble_encode(const uint8_t lineage[TALOS_LINEAGE_BYTES],
                                uint8_t out[TALOS_SESS_PREAMBLE_BYTES]);
/* TALOS_OK or MALFORMED (not the magic). */
int talos_sess_preamble_decode(const uint8_t in[TALOS_SESS_PREAMBLE_BYTES],
                               uint8_t lineage[TALOS_LINEAGE_BYTES]);
/* The node's answer, with its u32 length prefix. */
void talos_sess_answer_encode(int32_t status, const char *message, struct talos_wr *w);
/* Decode the answer's body (after the prefix, n <= TALOS_SESS_ANSWER_MAX):
 * TALOS_OK with *status a talos_err and message NUL-terminated, or
 * MALFORMED. */
int talos_sess_answer_decode(const uint8_t *p, size_t n, int32_t *status, char *message,
                             size_t cap);

enum talos_sess_type {
    TALOS_SESS_HELLO = 1,
    TALOS_SESS_WELCOME = 2,
    TALOS_SESS_CALL = 3,
    TALOS_SESS_RESULT = 4,
    TALOS_SESS_END = 5,
};
#define TALOS_SESS_HDR 5
#define TALOS_SESS_FROM_CLIENT 1
#define TALOS_SESS_FROM_TA 2
/* Bounds: a CALL carries at most 1 MiB of arguments in all (a session's
 * buffer inside the TA is bounded by it); a RESULT at most one ecall's
 * output. */
#define TALOS_SESS_CALL_MAX ((1u << 20) + 4096)
#define TALOS_SESS_RESULT_MAX (TALOS_MAX_OUT_BYTES + 4096)
#define TALOS_SESS_CALL_RETRY 0x1u
#define TALOS_SESS_RESULT_REPLAYED 0x1u

void talos_sess_hdr_encode(uint8_t type, uint32_t len, uint8_t out[TALOS_SESS_HDR]);
/* Check a record header: a type `from` may send, its length in bounds.
 * TALOS_OK, PROTOCOL (a type not from that side) or TOO_LARGE/MALFORMED. */
int talos_sess_hdr_decode(const uint8_t in[TALOS_SESS_HDR], uint8_t from, uint8_t *type,
                          uint32_t *len);

struct talos_sess_hello {
    uint8_t proto;
    uint8_t client_id[TALOS_SESS_CLIENT_ID_BYTES];
};
struct talos_sess_welcome {
    uint8_t proto;
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;
    uint64_t last_seq;
};
/* A CALL's fixed part; the arguments follow in the body from args on
 * (decode them with the runtime's CALL decoder, or talos_sess_call_args). */
struct talos_sess_call {
    uint64_t seq;
    uint8_t flags;
    const uint8_t *args; /* str ecall ‖ u32 argc ‖ argc × bytes, into the body */
    size_t args_len;
};
struct talos_sess_result {
    uint64_t seq;
    int32_t status;
    uint64_t version;
    uint8_t flags;
    const uint8_t *out; /* into the body (decode) */
    size_t out_len;
    char reason[256];
};
struct talos_sess_end {
    int32_t code;
    char reason[256];
};

/* Encoders append one whole record (header and body) to w; decoders take
 * a record's body (after the header) and return TALOS_OK or MALFORMED. */
void talos_sess_hello_encode(const struct talos_sess_hello *in, struct talos_wr *w);
int talos_sess_hello_decode(const uint8_t *p, size_t n, struct talos_sess_hello *out);
void talos_sess_welcome_encode(const struct talos_sess_welcome *in, struct talos_wr *w);
int talos_sess_welcome_decode(const uint8_t *p, size_t n, struct talos_sess_welcome *out);
/* The CALL's arguments are encoded here from (ecall, argc, argv). */
void talos_sess_call_encode(uint64_t seq, uint8_t flags, const char *ecall, int argc,
                            const uint8_t *const *argv, const size_t *arg_len,
                            struct talos_wr *w);
int talos_sess_call_decode(const uint8_t *p, size_t n, struct talos_sess_call *out);
void talos_sess_result_encode(const struct talos_sess_result *in, struct talos_wr *w);
int talos_sess_result_decode(const uint8_t *p, size_t n, struct talos_sess_result *out);
void talos_sess_end_encode(const struct talos_sess_end *in, struct talos_wr *w);
int talos_sess_end_decode(const uint8_t *p, size_t n, struct talos_sess_end *out);

#endif
