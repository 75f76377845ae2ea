/* The identity of a TA's next migration, made ahead (ta/mig_ident.c, D44).
 * Internal to the TA runtime; trusted code. */
#ifndef TALOS_TA_IDENT_H
#define TALOS_TA_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "ta/chan.h"
#include "talos/talos.h"

struct mig_ident {
    uint8_t role;                     /* MIG_ROLE_S or MIG_ROLE_T */
    struct talos_chan_key key;        /* serves one channel */
    uint8_t ev[TALOS_EVIDENCE_MAX];   /* the platform's evidence over (role, key, config) */
    size_t ev_len;
    struct talos_claims own;          /* what that evidence says about us, verified */
};

/* Make an identity for `role` now: key, evidence, own claims. Only on a
 * thread that may ask the platform (the host waits for this TA). On
 * failure nothing is held and why says what failed; the error is the
 * platform's or the verifier's (BACKEND, CRYPTO, EVIDENCE_*). */
int mig_ident_make(uint8_t role, struct mig_ident *id, char *why, size_t cap);
/* The spare of `role` (it is no longer spare), or one made now. */
int mig_ident_take(uint8_t role, struct mig_ident *id, char *why, size_t cap);
/* Make the spare of `role` if there is none (a failure is logged: the next
 * migration makes its own). Same threads as mig_ident_make. */
void mig_ident_refill(uint8_t role);
void mig_ident_free(struct mig_ident *id); /* accepts a zeroed identity */

#endif
