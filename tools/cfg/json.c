/* The model as JSON (jansson), one function object at a time so that a
 * static image's thousands of functions never sit in memory as one tree. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "talos/err.h"
#include "tools/cfg/internal.h"

/* json_object_set_new / json_array_append_new steal the value even on
 * failure; a failure sets *ok to 0 and the caller gives up once. */
static void set(json_t *obj, const char *key, json_t *v, int *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = 0;
}

static void push(json_t *arr, json_t *v, int *ok)
{
    if (!v || json_array_append_new(arr, v) != 0)
        *ok = 0;
}

static json_t *addr(uint64_t a)
{
    return json_integer((json_int_t)a);
}

static json_t *blocks_json(const struct talos_cfg_func *fn, int *ok)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < fn->n_blocks; i++) {
        uint64_t end = i + 1 < fn->n_blocks ? fn->blocks[i + 1] : fn->addr + fn->size;
        push(arr,
             json_pack("{s:I,s:I}", "addr", (json_int_t)fn->blocks[i], "size",
                       (json_int_t)(end - fn->blocks[i])),
             ok);
    }
    return arr;
}

static json_t *edges_json(const struct talos_cfg_func *fn, int *ok)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < fn->n_edges; i++) {
        const struct talos_cfg_edge *e = &fn->edges[i];
        push(arr,
             json_pack("{s:I,s:I,s:s}", "from", (json_int_t)e->from, "to", (json_int_t)e->to,
                       "kind", e->kind == TALOS_CFG_EDGE_JUMP ? "jump" : "fall"),
             ok);
    }
    return arr;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "calls": the distinct direct callees, sorted by name; "call_sites": each
 * call in address order (callee null when indirect). */
static void calls_json(const struct talos_cfg *cfg, const struct talos_cfg_func *fn, json_t *obj,
                       int *ok)
{
    json_t *names = json_array(), *sites = json_array(), *mps = json_array();
    /* One synthetic-name buffer per call: sorted[] points into them. */
    char *bufs = calloc(fn->n_calls + 1, TALOS_CFG_SYNTH_NAME_BYTES);
    const char **sorted = calloc(fn->n_calls + 1, sizeof(*sorted));
    size_t n = 0;

    if (!names || !sites || !mps || !bufs || !sorted) {
        *ok = 0;
        goto out;
    }
    for (size_t i = 0; i < fn->n_calls; i++) {
        const struct talos_cfg_call *c = &fn->calls[i];
        const char *callee = talos_cfg_callee_name(cfg, c, bufs + i * TALOS_CFG_SYNTH_NAME_BYTES);
        push(sites,
             json_pack("{s:I,s:I,s:o}", "addr", (json_int_t)c->site, "ret", (json_int_t)c->ret,
                       "callee", c->indirect ? json_null() : json_string(callee)),
             ok);
        if (!c->indirect)
            sorted[n++] = callee;
        if (talos_cfg_migration_point(cfg, c->ret) & TALOS_CFG_MP_CALL)
            push(mps, addr(c->ret), ok);
    }
    qsort(sorted, n, sizeof(*sorted), cmp_str);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
            push(names, json_string(sorted[i]), ok);
out:
    set(obj, "calls", names, ok);
    set(obj, "call_sites", sites, ok);
    set(obj, "indirect_calls", json_integer((json_int_t)fn->n_indirect_calls), ok);
    set(obj, "migration_points", mps, ok);
    free(sorted);
    free(bufs);
}

int talos_cfg_write_func_json(const struct talos_cfg *cfg, const struct talos_cfg_func *fn, FILE *f)
{
    json_t *obj = json_object(), *ij = json_array();
    int ok = obj && ij;
    int rc = TALOS_ERR_NOMEM;

    if (!ok)
        goto out;
    set(obj, "name", json_string(fn->name), &ok);
    set(obj, "addr", addr(fn->addr), &ok);
    set(obj, "size", json_integer((json_int_t)fn->size), &ok);
    set(obj, "blocks", blocks_json(fn, &ok), &ok);
    set(obj, "edges", edges_json(fn, &ok), &ok);
    calls_json(cfg, fn, obj, &ok);
    for (size_t i = 0; i < fn->n_ijumps; i++)
        push(ij, addr(fn->ijumps[i]), &ok);
    set(obj, "indirect_jumps", ij, &ok);
    ij = NULL;
    set(obj, "undecoded_bytes", json_integer(fn->undecoded), &ok);
    if (!ok)
        goto out;
    rc = json_dumpf(obj, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF ? TALOS_OK : TALOS_ERR_IO;
out:
    json_decref(ij);
    json_decref(obj);
    return rc;
}

static json_t *head_json(const struct talos_cfg *cfg)
{
    struct talos_cfg_stats st = {0};
    uint8_t d[TALOS_CFG_DIGEST_BYTES] = {0};
    char hex[2 * TALOS_CFG_DIGEST_BYTES + 1] = "", chex[2 * TALOS_CFG_DIGEST_BYTES + 1] = "";
    json_t *obj = NULL, *ecalls = json_array();
    int ok = ecalls != NULL;

    talos_cfg_stats(cfg, &st);
    talos_cfg_digest(cfg, d);
    talos_hex(d, sizeof(d), hex);
    talos_cfg_code_digest(cfg, d);
    talos_hex(d, sizeof(d), chex);
    for (size_t i = 0; ok && i < cfg->n_ecalls; i++)
        push(ecalls, addr(cfg->ecalls[i]), &ok);
    if (!ok) {
        json_decref(ecalls);
        return NULL;
    }
    obj = json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:o}", "digest", hex,
                    "code_digest", chex, "machine", talos_cfg_machine_name(cfg->machine), "counts",
                    "functions", (json_int_t)st.functions, "blocks", (json_int_t)st.blocks,
                    "jump_edges", (json_int_t)st.jump_edges, "fall_edges",
                    (json_int_t)st.fall_edges, "direct_calls", (json_int_t)st.direct_calls,
                    "indirect_calls", (json_int_t)st.indirect_calls, "indirect_jumps",
                    (json_int_t)st.indirect_jumps, "migration_points",
                    (json_int_t)st.migration_points, "ecall_entries", (json_int_t)st.ecall_entries,
                    "undecoded_bytes", (json_int_t)st.undecoded_bytes, "ecall_entries", ecalls);
    return obj;
}

int talos_cfg_write_json(const struct talos_cfg *cfg, FILE *f)
{
    json_t *head = head_json(cfg);
    char *text = NULL;
    size_t len = 0;
    int rc = TALOS_ERR_NOMEM;

    if (!head)
        goto out;
    text = json_dumps(head, JSON_COMPACT);
    if (!text)
        goto out;
    /* Splice the function array into the head object: drop its closing
     * brace, stream the functions, close both. */
    len = strlen(text);
    rc = TALOS_ERR_IO;
    if (len < 2 || fwrite(text, 1, len - 1, f) != len - 1 || fputs(",\"functions\":[\n", f) == EOF)
        goto out;
    for (size_t i = 0; i < cfg->n_funcs; i++) {
        if (i > 0 && fputc(',', f) == EOF)
            goto out;
        if ((rc = talos_cfg_write_func_json(cfg, &cfg->funcs[i], f)) != TALOS_OK)
            goto out;
        rc = TALOS_ERR_IO;
    }
    rc = fputs("]}\n", f) == EOF ? TALOS_ERR_IO : TALOS_OK;
out:
    free(text);
    json_decref(head);
    return rc;
}
