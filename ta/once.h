/* The exactly-once table of client sessions (docs/sessions.md §4): per
 * client, the last sequence number it called with and that call's answer.
 * It is migrated state: allocated in the state arena at the first session
 * HELLO, and reached from a TALOS_PERSIST pointer, so that it moves with
 * the lineage and a call that ran is always recorded in the state that
 * moves. A TA that never serves a session call has no table (and its state
 * no extra arena byte).
 *
 * Bounds: at most TALOS_ONCE_CLIENTS clients and TALOS_ONCE_BYTES of
 * recorded answers (output and reason); past either, the client whose last
 * use is oldest is evicted. Only the serving thread uses it, between and
 * around ecalls (never inside one). Internal to ta/; trusted code. */
#ifndef TALOS_TA_ONCE_H
#define TALOS_TA_ONCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sess.h"

#define TALOS_ONCE_CLIENTS 1024
#define TALOS_ONCE_BYTES (8u << 20)

/* What the table decides for a CALL (§4's table). */
enum talos_once_verdict {
    TALOS_ONCE_RUN = 1,      /* run the ecall, then talos_once_record */
    TALOS_ONCE_REPLAYED = 2, /* s == last: answer from the record, run nothing */
    TALOS_ONCE_REPLAY = 3,   /* unknown with RETRY, or s < last: REPLAY, run nothing */
};

/* A call's answer as recorded: out only for status TALOS_OK. */
struct talos_once_answer {
    int32_t status;
    const uint8_t *out; /* into the arena when read from the table */
    size_t out_len;
    const char *reason; /* NUL-terminated, "" when none */
};

/* Decide for client `cid` calling with `seq` (>= 1), RETRY set or not.
 * TALOS_ONCE_RUN makes sure the client has a row (creating the table or
 * evicting the least recently used client first), so that recording it
 * cannot fail for want of a row; TALOS_ONCE_REPLAYED fills *rec with the
 * recorded answer (valid until the next call into the table). REPLAY
 * additionally names why in *why (static text). TALOS_ERR_NOMEM (negative)
 * when the arena has no room for the table: nothing may run. */
int talos_once_decide(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES], uint64_t seq, int retry,
                      struct talos_once_answer *rec, const char **why);

/* Record the answer of the call `seq` of `cid`, which just ran after
 * TALOS_ONCE_RUN (in the same frame). The answer's bytes are copied into
 * the arena; when they do not fit, the row keeps seq and marks its answer
 * lost (a retry then gets REPLAY: the outcome is unknown to the client).
 * Evicts older clients past the byte bound. */
void talos_once_record(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES], uint64_t seq,
                       const struct talos_once_answer *a);

/* A session's HELLO: make sure cid has a row (last seq 0 until a call
 * runs), so that a retry of a call that never ran is told apart from one
 * whose record was evicted (docs/sessions.md §4). TALOS_OK or
 * TALOS_ERR_NOMEM (no room: a retry then gets REPLAY). */
int talos_once_enter(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES]);

/* The last sequence number recorded for cid, 0 when none (WELCOME). Never
 * allocates. */
uint64_t talos_once_last_seq(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES]);

/* Accounting (tests, logs): clients held and bytes of answers recorded. */
size_t talos_once_clients(void);
size_t talos_once_bytes(void);

/* Forget the table without touching the arena: for unit tests that format
 * a fresh arena under it. */
void talos_once_detach(void);

#endif
