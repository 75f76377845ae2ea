/* The CFG file parser (core/cfg/serial.c, talos_cfg_parse), plus the model
 * lookups and the JSON printer over what it accepts.
 *
 * A CFG file ends with the SHA-256 of everything before it, which random
 * bytes never match. So each input is parsed twice:
 *  1. as a whole file (the trailer check and what a real file reaches);
 *  2. as a body: the harness appends the SHA-256 of the input, so that the
 *     parser's structural checks see fuzzed bytes.
 * An accepted file must be canonical: serializing the model gives back the
 * very bytes parsed, and its digest is the trailer. Its functions are
 * sorted and disjoint, blocks start at the function and increase inside it,
 * edges, calls and indirect jumps stay inside and are found again by the
 * lookups (talos_cfg_func_at, talos_cfg_call_for_return,
 * talos_cfg_migration_point). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"
#include "tools/cfg/cfg.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    devnull = fopen("/dev/null", "w");
    FUZZ_CHECK(devnull != NULL);
    return 0;
}

static void check_func(const struct talos_cfg *cfg, const struct talos_cfg_func *fn,
                       uint64_t prev_end)
{
    char buf[TALOS_CFG_SYNTH_NAME_BYTES];
    size_t mps = 0;

    FUZZ_CHECK(fn->name && fn->name[0] && strlen(fn->name) <= TALOS_CFG_NAME_MAX);
    FUZZ_CHECK(fn->size > 0 && fn->addr >= prev_end && fn->addr <= UINT64_MAX - fn->size);
    FUZZ_CHECK(fn->undecoded <= fn->size);
    FUZZ_CHECK(talos_cfg_func_at(cfg, fn->addr) == fn);
    FUZZ_CHECK(talos_cfg_func_at(cfg, fn->addr + fn->size - 1) == fn);
    FUZZ_CHECK(fn->n_blocks >= 1 && fn->blocks[0] == fn->addr);
    for (size_t i = 1; i < fn->n_blocks; i++)
        FUZZ_CHECK(fn->blocks[i] > fn->blocks[i - 1] && fn->blocks[i] - fn->addr < fn->size);
    for (size_t i = 0; i < fn->n_edges; i++) {
        const struct talos_cfg_edge *e = &fn->edges[i];
        FUZZ_CHECK(e->kind <= TALOS_CFG_EDGE_JUMP);
        FUZZ_CHECK(e->from >= fn->addr && e->from - fn->addr < fn->size);
        if (i > 0)
            FUZZ_CHECK(e->from > fn->edges[i - 1].from ||
                       (e->from == fn->edges[i - 1].from && e->to >= fn->edges[i - 1].to));
    }
    for (size_t i = 0; i < fn->n_calls; i++) {
        const struct talos_cfg_call *c = &fn->calls[i], *found = NULL;
        FUZZ_CHECK(c->site >= fn->addr && c->ret > c->site && c->ret - fn->addr <= fn->size);
        FUZZ_CHECK(!c->indirect || c->target == 0);
        FUZZ_CHECK(c->callee == TALOS_CFG_NO_FUNC || c->callee < talos_cfg_n_funcs(cfg));
        if (c->callee != TALOS_CFG_NO_FUNC)
            FUZZ_CHECK(talos_cfg_func(cfg, c->callee)->addr == c->target);
        FUZZ_CHECK(talos_cfg_call_for_return(cfg, c->ret, &found) == TALOS_OK && found == c);
        FUZZ_CHECK(talos_cfg_callee_name(cfg, c, buf) != NULL);
        if (c->callee != TALOS_CFG_NO_FUNC &&
            strcmp(talos_cfg_func(cfg, c->callee)->name, TALOS_CFG_MP_CALLEE) == 0) {
            mps++;
            FUZZ_CHECK(talos_cfg_migration_point(cfg, c->ret) & TALOS_CFG_MP_CALL);
        }
    }
    FUZZ_CHECK(mps == fn->n_migration_points);
    for (size_t i = 0; i < fn->n_ijumps; i++)
        FUZZ_CHECK(fn->ijumps[i] - fn->addr < fn->size &&
                   (i == 0 || fn->ijumps[i] > fn->ijumps[i - 1]));
}

static void parse_and_check(const uint8_t *p, size_t n)
{
    struct talos_cfg *cfg = NULL;
    uint8_t *again = NULL, digest[TALOS_CFG_DIGEST_BYTES];
    size_t again_len = 0, nf = 0;
    uint64_t end = 0;
    struct talos_cfg_stats st;
    int rc = talos_cfg_parse(p, n, &cfg);

    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_TOO_LARGE ||
               rc == TALOS_ERR_NOMEM);
    if (rc != TALOS_OK) {
        FUZZ_CHECK(cfg == NULL);
        return;
    }
    FUZZ_CHECK(cfg != NULL);
    /* Canonical: serialize(parse(x)) == x, and the digest is the trailer. */
    FUZZ_CHECK(talos_cfg_serialize(cfg, &again, &again_len) == TALOS_OK);
    FUZZ_CHECK(again_len == n && memcmp(again, p, n) == 0);
    free(again);
    talos_cfg_digest(cfg, digest);
    FUZZ_CHECK(memcmp(digest, p + n - TALOS_CFG_DIGEST_BYTES, sizeof(digest)) == 0);
    FUZZ_CHECK(strcmp(talos_cfg_machine_name(talos_cfg_machine(cfg)), "unknown") != 0);

    nf = talos_cfg_n_funcs(cfg);
    FUZZ_CHECK(talos_cfg_func(cfg, nf) == NULL);
    for (size_t i = 0; i < nf; i++) {
        const struct talos_cfg_func *fn = talos_cfg_func(cfg, i);
        size_t from = 0;
        check_func(cfg, fn, end);
        end = fn->addr + fn->size;
        FUZZ_CHECK(talos_cfg_func_named(cfg, fn->name, &from) != NULL && from <= i + 1);
    }
    for (size_t i = 0; i < talos_cfg_n_ecall_entries(cfg); i++) {
        uint64_t a = talos_cfg_ecall_entry(cfg, i);
        const struct talos_cfg_func *fn = talos_cfg_func_at(cfg, a);
        FUZZ_CHECK(fn && fn->addr == a);
        FUZZ_CHECK(i == 0 || a > talos_cfg_ecall_entry(cfg, i - 1));
        FUZZ_CHECK(talos_cfg_migration_point(cfg, a) & TALOS_CFG_MP_ECALL);
    }
    talos_cfg_stats(cfg, &st);
    FUZZ_CHECK(st.functions == nf && st.ecall_entries == talos_cfg_n_ecall_entries(cfg));
    FUZZ_CHECK(talos_cfg_write_json(cfg, devnull) == TALOS_OK);
    talos_cfg_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *file = NULL;

    parse_and_check(data, size);
    /* Second mode: the input is the body; append its checksum. */
    if (size > TALOS_CFG_FILE_MAX - TALOS_CFG_DIGEST_BYTES ||
        !(file = malloc(size + TALOS_CFG_DIGEST_BYTES)))
        return 0;
    if (size)
        memcpy(file, data, size);
    talos_sha256(data, size, file + size);
    parse_and_check(file, size + TALOS_CFG_DIGEST_BYTES);
    free(file);
    return 0;
}
