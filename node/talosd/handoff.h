/* The handover after a lost migration channel, node side (docs/migration.md,
 * "Resend"). Untrusted code: it carries MAC'd tokens between the TAs and
 * the peer nodes and believes none of them; the TAs check every token.
 *
 * Target node (handoff.c): a PREPARED target whose channel broke waits,
 * for at most node.handoff_wait seconds, for the source's HANDOFF that the
 * source's node resends (a RESEND request on the peer port); when the wait
 * ends or `talos abort` asks, it gives up (FAILED + ABORT). The node keeps
 * the last RECEIPT or ABORT of each session and answers a later resend of
 * that session with it.
 *
 * Source node (resend.c): a source left in doubt (HANDED_OFF, no RECEIPT)
 * has its HANDOFF resent to the target node with backoff, for a bounded
 * time; a RECEIPT makes the source retire, an ABORT makes it serve again,
 * each only if the source TA verifies the token. */
#ifndef TALOS_TALOSD_HANDOFF_H
#define TALOS_TALOSD_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "node/talosd/peerproto.h"
#include "talos/talos.h"

struct ta_entry;

/* --- target node ------------------------------------------------------ */

/* The lineage `id` is being imported here (on = 1) or no longer (on = 0):
 * a resend that arrives meanwhile is told to retry (BUSY). */
void handoff_importing(const char *id, int on);
/* Whether lineage `id` is being imported here now. */
int handoff_is_importing(const char *id);

/* The target of e answered MIGRATE_IN with TALOS_ERR_HANDOFF_WAIT (m holds
 * its PREPARED token). Wait for a resent HANDOFF, for at most `seconds`,
 * or for `talos abort`; e->lock is held on entry and on return (released
 * while waiting). Returns like talos_ta_migrate_in: TALOS_OK with m the
 * final verdict (status OK = the target serves; otherwise it FAILED and
 * m->token is its ABORT), or the host error of a TA that died. */
int handoff_wait(struct ta_entry *e, struct talos_migration *m, int seconds);

/* Keep the RECEIPT or ABORT token of a session (the session is named in
 * the token) so that a resend of that session gets it as the answer. */
void handoff_keep(const char *id, const uint8_t *tok, size_t len);

/* Answer one RESEND request (the link is closed by the caller). */
void handoff_serve_resend(struct peer_link *l, const struct peer_resend *q);

/* `talos abort`: the waiting target of lineage `id` gives up now. TALOS_OK
 * with *tok its ABORT token (TALOS_TOKEN_BYTES); TALOS_ERR_STATE when no
 * target of that lineage waits here; why says so. */
int handoff_abort(const char *id, uint8_t *tok, size_t *len, char *why, size_t cap);

/* --- source node ------------------------------------------------------ */

/* The source of e is in doubt after a migration to `to` (m holds its
 * HANDOFF token): resend it in the background. The caller holds e->lock. */
int resend_start(struct ta_entry *e, const char *to, const struct talos_migration *m);

/* Wait (e->lock NOT held) at most `seconds` for the resend of e to settle.
 * TALOS_OK: the source retired (the target serves); the target's ABORT
 * code: the source serves again; TALOS_ERR_STATE: still in doubt. why
 * says which. */
int resend_await(struct ta_entry *e, int seconds, char *why, size_t cap);

/* --- both ---------------------------------------------------------------- */

/* Monotonic seconds. */
double handoff_now(void);

#endif
