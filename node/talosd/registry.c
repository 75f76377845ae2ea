/* The TAs a node runs, by id, and the node's record of them (journal.c). */
#include "node/talosd/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "node/talosd/node.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ta_entry *head;

static int on_event(void *ctx, struct talos_ta *ta, const struct talos_ta_event *ev);

static struct ta_entry *entry_new(struct talos_ta *ta, const char *image)
{
    struct ta_entry *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    snprintf(e->image, sizeof(e->image), "%s", image);
    e->ta = ta;
    e->refs = 2; /* the registry's and the caller's */
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->mig_lock, NULL);
    talos_ta_set_event_handler(ta, on_event, e);
    return e;
}

static void link_head(struct ta_entry *e)
{
    e->next = head;
    head = e;
}

int registry_add(struct talos_ta *ta, const char *image, struct ta_entry **out)
{
    struct talos_ta_info info;
    struct ta_entry *e = NULL;
    int rc = talos_ta_info(ta, &info);

    if (rc != TALOS_OK)
        return rc;
    if (!(e = entry_new(ta, image)))
        return TALOS_ERR_NOMEM;
    talos_hex(info.lineage, sizeof(info.lineage), e->id);
    snprintf(e->name, sizeof(e->name), "%s", info.name);
    /* Recorded before anyone learns the id: a lineage is never here
     * without the node's record saying so. */
    if ((rc = journal_set(e->id, "here", info.name, info.version, "started by the operator")) !=
        TALOS_OK) {
        talos_ta_set_event_handler(ta, NULL, NULL);
        pthread_mutex_destroy(&e->lock);
        pthread_mutex_destroy(&e->mig_lock);
        free(e);
        return rc;
    }
    pthread_mutex_lock(&reg_lock);
    link_head(e);
    pthread_mutex_unlock(&reg_lock);
    *out = e;
    return TALOS_OK;
}

int registry_add_arriving(struct talos_ta *ta, const char *image, const char *id,
                          struct ta_entry **out)
{
    struct ta_entry *e = entry_new(ta, image);

    if (!e)
        return TALOS_ERR_NOMEM;
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->pending = 1;
    pthread_mutex_lock(&e->lock);
    pthread_mutex_lock(&reg_lock);
    link_head(e);
    pthread_mutex_unlock(&reg_lock);
    *out = e;
    return TALOS_OK;
}

/* Whether entry x (not e) means the lineage serves here (reg_lock held):
 * not a note, not stopped, not pending, and its process still there. */
static int serving(const struct ta_entry *x)
{
    return !x->pending && !x->removed && !x->moved_to[0] && x->ta && talos_ta_alive(x->ta);
}

/* The ACTIVATING event of a pending arrival (its TA waits for the answer;
 * the peer thread holds e->lock). */
static int activate(struct ta_entry *e, const struct talos_ta_event *ev)
{
    struct ta_entry **pp = NULL, *gone = NULL;
    char claimed[TA_ID_LEN + 1];
    int rc = TALOS_OK;

    if (!e->pending)
        return TALOS_ERR_STATE;
    talos_hex(ev->lineage, TALOS_LINEAGE_BYTES, claimed);
    if (strcmp(claimed, e->id) != 0) /* the TA checked the source's lineage against ours */
        return TALOS_ERR_PROTOCOL;
    pthread_mutex_lock(&reg_lock);
    for (struct ta_entry *x = head; x; x = x->next)
        if (x != e && strcmp(x->id, e->id) == 0 && serving(x))
            rc = TALOS_ERR_EXISTS;
    pthread_mutex_unlock(&reg_lock);
    if (rc != TALOS_OK) {
        TLOG_WARN("peer: refused the activation of %s: the lineage already serves here", e->id);
        return rc;
    }
    snprintf(e->name, sizeof(e->name), "%s", ev->name ? ev->name : "?");
    /* On disk before the target serves and before its source hears it. */
    if ((rc = journal_set(e->id, "here", e->name, ev->version, "arrived by migration")) != TALOS_OK)
        return rc;
    pthread_mutex_lock(&reg_lock);
    e->pending = 0;
    /* A MOVED note or the record of a crashed TA of this lineage is
     * replaced now, by an activation, never by an OFFER. */
    for (pp = &head; *pp;) {
        struct ta_entry *x = *pp;
        if (x != e && strcmp(x->id, e->id) == 0 && !x->pending) {
            *pp = x->next;
            x->removed = 1;
            x->next = gone;
            gone = x;
            continue;
        }
        pp = &x->next;
    }
    pthread_mutex_unlock(&reg_lock);
    while (gone) {
        struct ta_entry *x = gone;
        gone = x->next;
        registry_put(x); /* the registry's reference */
    }
    return TALOS_OK;
}

static int on_event(void *ctx, struct talos_ta *ta, const struct talos_ta_event *ev)
{
    struct ta_entry *e = ctx;
    char why[96];

    (void)ta;
    if (ev->kind == TALOS_TA_EV_ACTIVATING)
        return activate(e, ev);
    if (ev->kind == TALOS_TA_EV_LOST && !e->pending && !e->removed && !e->moved_to[0]) {
        snprintf(why, sizeof(why), "its TA died or broke the protocol (%s)", talos_errname(ev->why));
        (void)journal_set(e->id, "lost", e->name, ev->version, why);
    }
    return TALOS_OK;
}

void registry_abandon(struct ta_entry *e)
{
    struct ta_entry **pp = NULL;

    pthread_mutex_lock(&reg_lock);
    if (e->pending)
        for (pp = &head; *pp; pp = &(*pp)->next)
            if (*pp == e) {
                *pp = e->next;
                e->removed = 1;
                e->refs--; /* the registry's reference; the caller holds another */
                break;
            }
    pthread_mutex_unlock(&reg_lock);
}

/* The entry a lookup of id finds (reg_lock held): an instance of the
 * lineage (serving or dead), else an arrival waiting, PREPARED, for its
 * HANDOFF (it answers STATE), else the lineage's forwarding note. */
static struct ta_entry **find(const char *id)
{
    struct ta_entry **pp = NULL, **waiter = NULL, **note = NULL;

    for (pp = &head; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) != 0)
            continue;
        if ((*pp)->pending) {
            if ((*pp)->waiting && !waiter)
                waiter = pp;
        } else if ((*pp)->moved_to[0]) {
            if (!note)
                note = pp;
        } else {
            return pp;
        }
    }
    return waiter ? waiter : note;
}

struct ta_entry *registry_get(const char *id)
{
    struct ta_entry **pp = NULL, *e = NULL;

    pthread_mutex_lock(&reg_lock);
    if ((pp = find(id))) {
        e = *pp;
        e->refs++;
    }
    pthread_mutex_unlock(&reg_lock);
    return e;
}

void registry_waiting(struct ta_entry *e, int on)
{
    pthread_mutex_lock(&reg_lock);
    e->waiting = on;
    pthread_mutex_unlock(&reg_lock);
}

void registry_put(struct ta_entry *e)
{
    int last = 0;

    if (!e)
        return;
    pthread_mutex_lock(&reg_lock);
    last = --e->refs == 0;
    pthread_mutex_unlock(&reg_lock);
    if (!last)
        return;
    talos_ta_destroy(e->ta);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->mig_lock);
    free(e);
}

int registry_remove(const char *id)
{
    struct ta_entry **pp = NULL, *e = NULL;

    pthread_mutex_lock(&reg_lock);
    if ((pp = find(id))) {
        e = *pp;
        *pp = e->next;
        e->removed = 1;
        e->pending = 0; /* unlinked: its arrival thread must not unlink it again */
    }
    pthread_mutex_unlock(&reg_lock);
    if (!e)
        return TALOS_ERR_NO_SUCH_TA;
    /* Wait for a call in flight to finish before the TA is stopped. */
    pthread_mutex_lock(&e->lock);
    pthread_mutex_unlock(&e->lock);
    registry_put(e);
    return TALOS_OK;
}

int registry_stop(const char *id)
{
    struct ta_entry *e = registry_get(id);
    char name[TALOS_TA_NAME_MAX] = "?";
    uint64_t v = 0;
    int note = 0;

    if (!e)
        return TALOS_ERR_NO_SUCH_TA;
    pthread_mutex_lock(&reg_lock);
    int pending = e->pending; /* a waiting arrival: the lineage lives at its source */
    pthread_mutex_unlock(&reg_lock);
    pthread_mutex_lock(&e->lock);
    note = e->moved_to[0] != 0 || pending;
    if (!note && e->ta) {
        struct talos_ta_info info;
        if (talos_ta_info(e->ta, &info) == TALOS_OK) {
            snprintf(name, sizeof(name), "%s", info.name);
            v = info.version;
        }
    }
    pthread_mutex_unlock(&e->lock);
    registry_put(e);
    if (registry_remove(id) != TALOS_OK)
        return TALOS_ERR_NO_SUCH_TA;
    if (!note) /* a forwarding note is no lineage: dropping it ends nothing */
        (void)journal_set(id, "stopped", name, v, "stopped by the operator (talos stop)");
    return TALOS_OK;
}

void registry_moved(struct ta_entry *e, const char *to, uint64_t version)
{
    char detail[160];

    snprintf(e->moved_to, sizeof(e->moved_to), "%s", to);
    snprintf(detail, sizeof(detail), "moved to %s", to);
    (void)journal_set(e->id, "moved", e->name, version, detail);
}

int registry_list(struct ta_entry ***out, size_t *n)
{
    size_t count = 0, i = 0;
    struct ta_entry **v = NULL;

    pthread_mutex_lock(&reg_lock);
    for (struct ta_entry *e = head; e; e = e->next)
        count++;
    v = calloc(count ? count : 1, sizeof(*v));
    if (v)
        for (struct ta_entry *e = head; e; e = e->next) {
            e->refs++;
            v[i++] = e;
        }
    pthread_mutex_unlock(&reg_lock);
    if (!v)
        return TALOS_ERR_NOMEM;
    *out = v;
    *n = count;
    return TALOS_OK;
}

size_t registry_count(void)
{
    size_t n = 0;
    pthread_mutex_lock(&reg_lock);
    for (struct ta_entry *e = head; e; e = e->next)
        n++;
    pthread_mutex_unlock(&reg_lock);
    return n;
}

void registry_watch(void)
{
    struct ta_entry **v = NULL;
    size_t n = 0;

    if (registry_list(&v, &n) != TALOS_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        struct ta_entry *e = v[i];
        /* Only an idle entry whose process is gone: talking to it makes
         * the host library notice the death (and report LOST). */
        if (!e->pending && e->ta && !talos_ta_alive(e->ta) &&
            pthread_mutex_trylock(&e->lock) == 0) {
            struct talos_ta_info info;
            if (e->ta && !e->moved_to[0] && talos_ta_info(e->ta, &info) == TALOS_OK)
                TLOG_DEBUG("watch: TA %s is %s", e->id, info.state);
            pthread_mutex_unlock(&e->lock);
        }
        registry_put(e);
    }
    free(v);
}

void registry_shutdown(void)
{
    struct ta_entry **v = NULL;
    size_t n = 0;

    if (registry_list(&v, &n) != TALOS_OK)
        return;
    for (size_t i = n; i-- > 0;) { /* oldest first */
        struct ta_entry *e = v[i];
        struct talos_ta_info info;
        uint64_t ver = 0;
        char id[TA_ID_LEN + 1];

        memcpy(id, e->id, sizeof(id));
        pthread_mutex_lock(&reg_lock);
        int lineage = !e->pending && !e->removed && !e->moved_to[0] && e->ta && talos_ta_alive(e->ta);
        int pending = e->pending;
        pthread_mutex_unlock(&reg_lock);
        if (lineage) {
            pthread_mutex_lock(&e->lock);
            if (e->ta && talos_ta_info(e->ta, &info) == TALOS_OK)
                ver = info.version;
            pthread_mutex_unlock(&e->lock);
            /* Volatile-only (SECURITY.md): a lineage ends with its last instance. */
            TLOG_WARN("lineage %s ends: node shutting down", id);
            (void)journal_set(id, "ended", e->name, ver, "the node shut down");
        }
        registry_put(e);
        /* A pending arrival's own thread ends it; a note just goes (it is
         * no lineage: nothing ends with it). */
        if (!pending)
            (void)registry_remove(id);
    }
    free(v);
}
