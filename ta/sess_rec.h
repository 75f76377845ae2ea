/* A session's records from its client (ta/sess_rec.c). Internal to ta/. */
#ifndef TALOS_TA_SESS_REC_H
#define TALOS_TA_SESS_REC_H

#include <stddef.h>
#include <stdint.h>

#include "core/sess.h"
#include "core/wire.h"

/* What the TA knows of the client at the other end. */
struct talos_sess_peer {
    int hello; /* HELLO seen: calls may follow */
    uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES];
};

/* Handle one complete record (header checked: a client's type, length in
 * bounds) and append the answer's records to plain. TALOS_OK: the session
 * goes on; a negative code: END with that code was appended, the session
 * is over. */
int talos_rt_sess_record(struct talos_sess_peer *p, uint8_t type, const uint8_t *body, size_t n,
                         struct talos_wr *plain);
/* Append END (code, reason) and return code. */
int talos_rt_sess_end(struct talos_wr *plain, int code, const char *reason);

#endif
