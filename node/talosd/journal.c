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
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "node/talosd/node.h"

#define JOURNAL "lineages.json"
#define JOURNAL_MAX (4u << 20)

static pthread_mutex_t jl = PTHREAD_MUTEX_INITIALIZER;
static json_t *cur;     /* this run's record */
static int dir_fd = -1;

/* Write cur whole and durably (jl held). */
static int flush(void)
{
    char tmp[64];
    char *s = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
    int fd = -1, rc = TALOS_ERR_IO;
    size_t n = s ? strlen(s) : 0;

    if (!s)
        return TALOS_ERR_NOMEM;
    snprintf(tmp, sizeof(tmp), ".%s.%d", JOURNAL, (int)getpid());
    fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && write(fd, s, n) == (ssize_t)n && fsync(fd) == 0 && close(fd) == 0 &&
        (fd = -1, renameat(dir_fd, tmp, dir_fd, JOURNAL) == 0) && fsync(dir_fd) == 0)
        rc = TALOS_OK;
    if (fd >= 0)
        close(fd);
    if (rc != TALOS_OK) {
        TLOG_ERR("cannot write %s/%s: %s", node.state_dir, JOURNAL, strerror(errno));
        (void)unlinkat(dir_fd, tmp, 0);
    }
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

int journal_open(char *why, size_t cap)
{
    json_error_t jerr;
    json_t *prev = NULL;
    int fd = -1, rc = TALOS_OK;

    if ((dir_fd = open(node.state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        snprintf(why, cap, "%s: %s", node.state_dir, strerror(errno));
        return TALOS_ERR_IO;
    }
    if ((fd = openat(dir_fd, JOURNAL, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > JOURNAL_MAX) {
            snprintf(why, cap, "%s/%s is not a regular file of at most %u bytes", node.state_dir,
                     JOURNAL, JOURNAL_MAX);
            close(fd);
            return TALOS_ERR_MALFORMED;
        }
        prev = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
        close(fd);
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
    if (dir_fd >= 0)
        close(dir_fd);
    dir_fd = -1;
}
