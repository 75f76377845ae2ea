#include "node/talosd/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ta_entry *head;

int registry_add(struct talos_ta *ta, const char *image, struct ta_entry **out)
{
    struct talos_ta_info info;
    struct ta_entry *e = calloc(1, sizeof(*e));
    int rc = TALOS_OK;

    if (!e)
        return TALOS_ERR_NOMEM;
    if ((rc = talos_ta_info(ta, &info)) != TALOS_OK) {
        free(e);
        return rc;
    }
    talos_hex(info.lineage, sizeof(info.lineage), e->id);
    snprintf(e->image, sizeof(e->image), "%s", image);
    e->ta = ta;
    e->refs = 2; /* the registry's and the caller's */
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->mig_lock, NULL);
    pthread_mutex_lock(&reg_lock);
    e->next = head;
    head = e;
    pthread_mutex_unlock(&reg_lock);
    *out = e;
    return TALOS_OK;
}

int registry_add_arriving(struct talos_ta *ta, const char *image, const char *id,
                          struct ta_entry **out)
{
    struct ta_entry *e = calloc(1, sizeof(*e)), *old = NULL, **pp = NULL;

    if (!e)
        return TALOS_ERR_NOMEM;
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->image, sizeof(e->image), "%s", image);
    e->ta = ta;
    e->refs = 2;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->mig_lock, NULL);
    pthread_mutex_lock(&e->lock);
    pthread_mutex_lock(&reg_lock);
    for (pp = &head; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0)
            break;
    if (*pp && !(*pp)->moved_to[0]) {
        pthread_mutex_unlock(&reg_lock);
        pthread_mutex_unlock(&e->lock);
        pthread_mutex_destroy(&e->lock);
        pthread_mutex_destroy(&e->mig_lock);
        free(e);
        return TALOS_ERR_EXISTS;
    }
    if (*pp) { /* the MOVED note of this lineage's earlier stay */
        old = *pp;
        *pp = old->next;
        old->removed = 1;
    }
    e->replaced = old; /* kept until the arrival succeeds or fails */
    e->next = head;
    head = e;
    pthread_mutex_unlock(&reg_lock);
    *out = e;
    return TALOS_OK;
}

void registry_arrived(struct ta_entry *e)
{
    struct ta_entry *old = NULL;
    pthread_mutex_lock(&reg_lock);
    old = e->replaced;
    e->replaced = NULL;
    pthread_mutex_unlock(&reg_lock);
    registry_put(old);
}

void registry_abandon(struct ta_entry *e)
{
    struct ta_entry **pp = NULL;
    int unlinked = 0;

    pthread_mutex_lock(&reg_lock);
    for (pp = &head; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            e->removed = 1;
            e->refs--; /* the registry's reference; the caller holds another */
            unlinked = 1;
            break;
        }
    if (unlinked && e->replaced) {
        /* The lineage did not arrive: it still lives where the note says. */
        e->replaced->removed = 0;
        e->replaced->next = head;
        head = e->replaced;
        e->replaced = NULL;
    }
    pthread_mutex_unlock(&reg_lock);
}

struct ta_entry *registry_get(const char *id)
{
    struct ta_entry *e = NULL;

    pthread_mutex_lock(&reg_lock);
    for (e = head; e; e = e->next)
        if (strcmp(e->id, id) == 0) {
            e->refs++;
            break;
        }
    pthread_mutex_unlock(&reg_lock);
    return e;
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
    for (pp = &head; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            e = *pp;
            *pp = e->next;
            e->removed = 1;
            break;
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

void registry_shutdown(void)
{
    for (;;) {
        char id[TA_ID_LEN + 1];
        pthread_mutex_lock(&reg_lock);
        if (!head) {
            pthread_mutex_unlock(&reg_lock);
            return;
        }
        memcpy(id, head->id, sizeof(id));
        pthread_mutex_unlock(&reg_lock);
        /* Volatile-only (SECURITY.md): a lineage ends with its last instance. */
        TLOG_WARN("lineage %s ends: node shutting down", id);
        registry_remove(id);
    }
}
