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
    struct talos_ta *ta;
    pthread_mutex_t lock; /* one call at a time per TA */
    pthread_mutex_t mig_lock; /* one migration at a time per TA (taken before lock) */
    char moved_to[128];   /* set when the lineage left this node (under lock) */
    uint8_t token[TALOS_TOKEN_MAX]; /* a HANDOFF kept while in doubt */
    size_t token_len;
    char handoff[64];     /* handover after a lost channel, for ps (under lock; "" = none) */
    char handoff_session[33]; /* its session id (hex), for ps */
    struct ta_entry *replaced; /* an arriving entry: the MOVED note it replaced */
    int refs;             /* guarded by the registry lock */
    int removed;
    struct ta_entry *next;
};

/* Add a running TA (takes ownership of ta). */
int registry_add(struct talos_ta *ta, const char *image, struct ta_entry **out);
/* A TA arriving by migration under `id` (takes ownership of ta). The entry
 * is returned with its lock held by the caller, so that calls arriving
 * before the import ends wait for it instead of finding nothing (or the old
 * MOVED note, which this replaces atomically). TALOS_ERR_EXISTS when the
 * lineage already serves here. */
int registry_add_arriving(struct talos_ta *ta, const char *image, const char *id,
                          struct ta_entry **out);
/* The arrival failed: unlink it and put back the MOVED note it replaced
 * (the caller still holds e->lock and its reference; it unlocks, then
 * registry_put). */
void registry_abandon(struct ta_entry *e);
/* The arrival succeeded: the replaced MOVED note is gone for good. */
void registry_arrived(struct ta_entry *e);

/* Look up and take a reference; NULL when absent. */
struct ta_entry *registry_get(const char *id);
void registry_put(struct ta_entry *e);
/* Unlink; the TA is destroyed when the last reference goes. */
int registry_remove(const char *id);
/* Snapshot of all entries, each with a reference (release with registry_put). */
int registry_list(struct ta_entry ***out, size_t *n);
size_t registry_count(void);
/* Stop every TA (node shutdown). */
void registry_shutdown(void);

#endif
