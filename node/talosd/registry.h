/* The TAs a node runs, by id (hex lineage). Entries are reference counted so
 * that `stop` can remove one while another client is still calling it. */
#ifndef TALOS_TALOSD_REGISTRY_H
#define TALOS_TALOSD_REGISTRY_H

#include <limits.h>
#include <pthread.h>

#include "talos/talos.h"

#define TA_ID_LEN (2 * TALOS_LINEAGE_BYTES)

struct ta_entry {
    char id[TA_ID_LEN + 1];
    char image[PATH_MAX];
    char name[TALOS_TA_NAME_MAX]; /* the TA's name, for the node's record */
    struct talos_ta *ta;
    pthread_mutex_t lock; /* one call at a time per TA */
    pthread_mutex_t mig_lock; /* one migration at a time per TA (taken before lock) */
    char moved_to[128];   /* set when the lineage left this node (under lock) */
    char moving_to[128];  /* while a migration runs: its target (under lock; clients.c
                           * names it to clients once the TA says MOVED) */
    uint8_t token[TALOS_TOKEN_MAX]; /* a HANDOFF kept while in doubt */
    size_t token_len;
    char handoff[64];     /* handover after a lost channel, for ps (under lock; "" = none) */
    char handoff_session[33]; /* its session id (hex), for ps */
    int pending;          /* an arrival not activated yet: listed, not looked up (reg lock) */
    int waiting;          /* ... but PREPARED and waiting for its HANDOFF: looked up (reg lock) */
    int refs;             /* guarded by the registry lock */
    int removed;
    struct ta_entry *next;
};

/* Add a running TA (takes ownership of ta). */
int registry_add(struct talos_ta *ta, const char *image, struct ta_entry **out);
/* A TA arriving by migration under `id` (takes ownership of ta), returned
 * with its lock held by the caller. It is pending: `ps` lists it, but no
 * lookup finds it and it does not count as the lineage being here, so an
 * arrival that never completes (a squatter's) holds nothing up; several
 * may be pending for one lineage. When its target is about to serve (the
 * TA's ACTIVATING event) it becomes the lineage's entry: it replaces a
 * MOVED note or a record of a crashed TA of that lineage, the arrival is
 * written to the node's record (journal.c) before the target may serve,
 * and it is refused (the target then fails and ABORTs) when the lineage
 * already serves here or the record cannot be written. */
int registry_add_arriving(struct talos_ta *ta, const char *image, const char *id,
                          struct ta_entry **out);
/* The arrival ended: a pending entry (one that never activated) is
 * unlinked. The caller still holds e->lock and its reference; it unlocks,
 * then registry_put. */
void registry_abandon(struct ta_entry *e);

/* Look up and take a reference; NULL when absent. A pending arrival is
 * found only while it waits, PREPARED, for its HANDOFF (the TA itself then
 * answers calls with STATE) and nothing else of its lineage is here. */
struct ta_entry *registry_get(const char *id);
/* A pending arrival starts (1) or stops (0) waiting for its HANDOFF. */
void registry_waiting(struct ta_entry *e, int on);
void registry_put(struct ta_entry *e);
/* Unlink; the TA is destroyed when the last reference goes. */
int registry_remove(const char *id);
/* Snapshot of all entries, each with a reference (release with registry_put). */
int registry_list(struct ta_entry ***out, size_t *n);
size_t registry_count(void);
/* The operator stopped the TA: its lineage ends (recorded). */
int registry_stop(const char *id);
/* The lineage left for `to` (under e->lock): e keeps a forwarding note. */
void registry_moved(struct ta_entry *e, const char *to, uint64_t version);
/* Notice TAs whose process ended by itself (a crash): they are recorded
 * as lost now, not at their next call. Called about once a second. */
void registry_watch(void);
/* Stop every TA (node shutdown). */
void registry_shutdown(void);

#endif
