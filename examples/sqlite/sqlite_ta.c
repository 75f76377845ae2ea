/* An unmodified SQLite (Debian's libsqlite3.a) in a TA, with an in-memory
 * database that migrates (issue #16). Nothing here talks to the arena:
 * SQLite allocates with malloc and keeps its globals in static data, and
 * the image's build puts both in the state (docs/ta-sdk.md: the state heap
 * and the state data section, D47).
 *
 *   exec SQL     run SQL (any number of statements) as one transaction:
 *                every statement or none; SQLite's error comes back as the
 *                ecall's reason (TA_REFUSED), the database unchanged
 *   query SQL    one statement; its rows as JSON lines (an array per row:
 *                numbers, strings, null; blobs as hex strings)
 *   heap         bytes SQLite holds (sqlite3_memory_used), for tests
 *
 * The sim backend confines a TA with seccomp (no open(2)): the database is
 * in memory with temp_store=MEMORY, and SQLite's randomness comes from the
 * TA's own generator through a VFS that is the default one otherwise. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "talos/ta.h"

static sqlite3 *db; /* static data: it migrates with the state */
static sqlite3_vfs vfs;

static int vfs_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return talos_random(out, (size_t)n) == TALOS_OK ? n : 0;
}

static int open_db(void)
{
    sqlite3_vfs *def = sqlite3_vfs_find(NULL);

    if (!def)
        return TALOS_ERR_TA_REFUSED;
    vfs = *def;
    vfs.zName = "talos";
    vfs.xRandomness = vfs_random;
    if (sqlite3_vfs_register(&vfs, 1) != SQLITE_OK ||
        sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "talos") !=
            SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL) != SQLITE_OK)
        return TALOS_ERR_TA_REFUSED;
    return TALOS_OK;
}

static int sql_exec(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    char *err = NULL;

    (void)argc;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        talos_out_reason(out, "sqlite: %s", sqlite3_errmsg(db));
        return TALOS_ERR_TA_REFUSED;
    }
    if (sqlite3_exec(db, argv[0].ptr, NULL, NULL, &err) != SQLITE_OK) {
        talos_out_reason(out, "sqlite: %s", err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return TALOS_ERR_TA_REFUSED;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        talos_out_reason(out, "sqlite: %s", sqlite3_errmsg(db));
        (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return TALOS_ERR_TA_REFUSED;
    }
    return talos_out_printf(out, "%d", sqlite3_changes(db));
}

/* A JSON string of n bytes of text. */
static int json_str(struct talos_out *out, const unsigned char *s, size_t n)
{
    int rc = talos_out_write(out, "\"", 1);

    for (size_t i = 0; rc == TALOS_OK && i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\')
            rc = talos_out_printf(out, "\\%c", c);
        else if (c < 0x20)
            rc = talos_out_printf(out, "\\u%04x", c);
        else
            rc = talos_out_write(out, &c, 1);
    }
    return rc == TALOS_OK ? talos_out_write(out, "\"", 1) : rc;
}

static int column(struct talos_out *out, sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return talos_out_printf(out, "%lld", (long long)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return talos_out_printf(out, "%.17g", sqlite3_column_double(st, i));
    case SQLITE_TEXT:
        return json_str(out, sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
    case SQLITE_BLOB: {
        const unsigned char *b = sqlite3_column_blob(st, i);
        int rc = talos_out_write(out, "\"", 1);
        for (int k = 0; rc == TALOS_OK && k < sqlite3_column_bytes(st, i); k++)
            rc = talos_out_printf(out, "%02x", b[k]);
        return rc == TALOS_OK ? talos_out_write(out, "\"", 1) : rc;
    }
    default:
        return talos_out_write(out, "null", 4);
    }
}

static int sql_query(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = TALOS_OK, s = 0;

    (void)argc;
    if (sqlite3_prepare_v2(db, argv[0].ptr, (int)argv[0].len + 1, &st, &tail) != SQLITE_OK || !st) {
        talos_out_reason(out, "sqlite: %s", st ? sqlite3_errmsg(db) : "no statement");
        sqlite3_finalize(st);
        return TALOS_ERR_TA_REFUSED;
    }
    /* A query reads: a statement that would write is refused, so the
     * version counts only exec's transactions. */
    if (!sqlite3_stmt_readonly(st)) {
        sqlite3_finalize(st);
        talos_out_reason(out, "query runs read-only statements; use exec to write");
        return TALOS_ERR_TA_REFUSED;
    }
    while (rc == TALOS_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
        rc = talos_out_write(out, "[", 1);
        for (int i = 0; rc == TALOS_OK && i < sqlite3_column_count(st); i++) {
            if (i)
                rc = talos_out_write(out, ",", 1);
            if (rc == TALOS_OK)
                rc = column(out, st, i);
        }
        if (rc == TALOS_OK)
            rc = talos_out_write(out, "]\n", 2);
    }
    if (rc == TALOS_OK && s != SQLITE_DONE) {
        talos_out_reason(out, "sqlite: %s", sqlite3_errmsg(db));
        rc = TALOS_ERR_TA_REFUSED;
    }
    sqlite3_finalize(st);
    return rc;
}

static int sql_heap(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    return talos_out_printf(out, "%lld", (long long)sqlite3_memory_used());
}

static const struct talos_ecall sql_ecalls[] = {
    {"exec", sql_exec, 1, 1, TALOS_MAX_ARG_BYTES, "SQL"},
    {"query", sql_query, 1, 1, TALOS_MAX_ARG_BYTES, "SQL"},
    {"heap", sql_heap, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("sqlite", sql_ecalls, open_db);
