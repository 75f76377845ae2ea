/* The node's record of the lineages it holds (docs/node-security.md, "No
 * silent loss"): STATE_DIR/lineages.json, rewritten whole (temporary file,
 * fsync, rename, fsync of the directory) at every change, so that what a
 * crash leaves is the last complete record. A restart reads what the
 * previous run left and logs, for each lineage it held, what became of it:
 * a lineage still "here" in the file of a run that never shut down was lost
 * with that node.
 *
 *   {"pid": P, "clean": false,
 *    "lineages": {"<id>": {"state": "here"|"moved"|"stopped"|"lost"|"ended",
 *                          "version": V, "name": "...", "detail": "..."}}}
 *
 * Only the states of lineages are kept, never state bytes or keys. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "node/talosd/node.h"
#include "os/sdir.h"

#define JOURNAL "lineages.json"
#define JOURNAL_MAX (4u << 20)

static pthread_mutex_t jl = PTHREAD_MUTEX_INITIALIZER;
static json_t *cur;                     /* this run's record */
static const struct talos_sdir *state_dir; /* the state dir (main.c owns it) */

/* Write cur whole and durably (jl held): os/sdir's atomic replace. */
static int flush(void)
{
    char why[TALOS_SDIR_WHY_BYTES] = "";
    char *s = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = s ? talos_sdir_write(state_dir, JOURNAL, s, strlen(s), 0600, why, sizeof(why))
               : TALOS_ERR_NOMEM;

    if (rc != TALOS_OK)
        TLOG_ERR("cannot write %s/%s: %s", node.state_dir, JOURNAL, why[0] ? why : talos_strerror(rc));
    free(s);
    return rc;
}

static const char *str(json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : dflt;
}

/* What the previous run left: one line per lineage it held. */
static void report_previous(json_t *prev)
{
    json_t *lins = json_object_get(prev, "lineages"), *e = NULL;
    int clean = json_is_true(json_object_get(prev, "clean"));
    json_int_t pid = json_integer_value(json_object_get(prev, "pid"));
    const char *id = NULL;

    if (!json_is_object(lins))
        return;
    json_object_foreach(lins, id, e) {
        const char *st = str(e, "state", "?"), *name = str(e, "name", "?"),
                   *detail = str(e, "detail", "");
        unsigned long long v = (unsigned long long)json_integer_value(json_object_get(e, "version"));
        if (strcmp(st, "here") == 0 && !clean)
            TLOG_ERR("lineage %s (%s) lost: the previous talosd (pid %lld) held it (recorded at "
                     "version %llu) and ended without shutting down (a crash of the node)", id,
                     name, (long long)pid, v);
        else if (strcmp(st, "here") == 0)
            TLOG_WARN("lineage %s (%s) ended with the previous talosd's shutdown (recorded at "
                      "version %llu)", id, name, v);
        else
            TLOG_INFO("the previous talosd held lineage %s (%s, recorded at version %llu): %s%s%s",
                      id, name, v, st, detail[0] ? ": " : "", detail);
    }
}

int journal_open(const struct talos_sdir *sd, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *prev = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = talos_sdir_read(sd, JOURNAL, 0, JOURNAL_MAX, &buf, &len, why, cap);

    state_dir = sd;
    if (rc != TALOS_OK && rc != TALOS_ERR_NOT_FOUND)
        return rc;
    if (rc == TALOS_OK) {
        prev = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
        talos_sdir_free(buf, len);
        if (!json_is_object(prev))
            TLOG_ERR("%s/%s does not parse (%s): what the previous run held is unknown",
                     node.state_dir, JOURNAL, jerr.text);
        else
            report_previous(prev);
        json_decref(prev);
    }
    pthread_mutex_lock(&jl);
    cur = json_pack("{s:i, s:b, s:{}}", "pid", (json_int_t)getpid(), "clean", 0, "lineages");
    rc = cur ? flush() : TALOS_ERR_NOMEM;
    pthread_mutex_unlock(&jl);
    if (rc != TALOS_OK)
        snprintf(why, cap, "cannot write %s/%s", node.state_dir, JOURNAL);
    return rc;
}

int journal_set(const char *id, const char *state, const char *name, uint64_t version,
                const char *detail)
{
    int rc = TALOS_ERR_NOMEM;
    json_t *e = json_pack("{s:s, s:s, s:I, s:s}", "state", state, "name", name ? name : "?",
                          "version", (json_int_t)version, "detail", detail ? detail : "");

    pthread_mutex_lock(&jl);
    if (cur && e && json_object_set_new(json_object_get(cur, "lineages"), id, e) == 0) {
        e = NULL;
        rc = flush();
    }
    pthread_mutex_unlock(&jl);
    json_decref(e);
    return rc;
}

void journal_close(void)
{
    pthread_mutex_lock(&jl);
    if (cur) {
        json_object_set_new(cur, "clean", json_true());
        (void)flush();
        json_decref(cur);
        cur = NULL;
    }
    pthread_mutex_unlock(&jl);
}
