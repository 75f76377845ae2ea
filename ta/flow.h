/* Execution-flow checks on migration (docs/cfg.md): the source records
 * where its thread stopped, the target checks that context against its
 * image's CFG before PREPARED. Internal to the TA runtime. */
#ifndef TALOS_TA_FLOW_H
#define TALOS_TA_FLOW_H

#include "ta/mig.h"

/* main() passes its own frame address: the runtime entry, where the walk
 * up a thread's frames stops. */
void talos_flow_set_entry(void *entry_frame);

/* The next talos_migration_point() records this thread's context (the
 * serve loop arms it at the call boundary before MIGRATE_OUT). */
void talos_flow_arm(void);
int talos_flow_armed(void);
/* Called by talos_migration_point() with its own frame address when armed. */
void talos_flow_capture(void *mp_frame);

/* Restore-mode start (before READY, on the host channel): fetch the image's
 * CFG file from the host and parse it on a helper thread, so that no
 * migration waits for it. A host without one leaves the TA unable to
 * import (TALOS_ERR_CFG then). TALOS_OK or TALOS_ERR_NOMEM. */
int talos_flow_load_start(void);

/* Source, after MANIFEST: send the THREADS record (the context armed and
 * recorded at the call boundary). TALOS_ERR_CFG when none was recorded. */
int talos_flow_send(struct mig *m);

/* Target, after MANIFEST and before PREPARED: receive THREADS, check the
 * CFG file against the cfg_digest of this TA's own evidence
 * (TALOS_ERR_CFG_DIGEST), then every context against the CFG
 * (TALOS_ERR_CFG). m->reason says why on refusal. Frees the CFG. */
/* Wait until the CFG file the target loads at launch is parsed (its
 * digest taken): a pre-copy target calls it before acknowledging a round,
 * so that the source freezes only once the check can run at once. */
void talos_flow_ready(void);
int talos_flow_check(struct mig *m);

/* Join the loader and free the CFG (before the TA exits). */
void talos_flow_fini(void);

#endif
