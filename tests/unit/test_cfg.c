/* CFG extraction (tools/cfg): fixture programs compiled at test time, their
 * exact call and jump edges, migration points checked against objdump,
 * digests stable across runs and builds, the CFG-file parser under
 * truncation and bit flips, and the size of a real TA image.
 *
 * One file over 400 lines: the cases of one extractor and its file format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "talos/err.h"
#include "tools/cfg/cfg.h"
#include "tests/tmpdir.h"

/* A call chain, a loop, an indirect call, a function never called and a
 * migration point. VARIANT changes one immediate (same length, same
 * graph): only the code changes. */
static const char fixture_src[] =
    "int talos_migration_point(void);\n"
    "__attribute__((noinline)) int talos_migration_point(void) { __asm__ volatile(\"\"); return 0; "
    "}\n"
    "#ifdef VARIANT\n"
    "__attribute__((noinline)) int c(int x) { return x + 2; }\n"
    "#else\n"
    "__attribute__((noinline)) int c(int x) { return x + 1; }\n"
    "#endif\n"
    "__attribute__((noinline)) int b(int x) { return c(x) * 2; }\n"
    "__attribute__((noinline)) int a(int x) { return b(x) - 3; }\n"
    "__attribute__((noinline)) int loop(int n) { int s = 0; for (int i = 0; i < n; i++) s += i; "
    "return s; }\n"
    "__attribute__((noinline)) int twice(int (*f)(int), int x) { return f(x); }\n"
    "__attribute__((noinline)) int never_called(int x) { return x * 7; }\n"
    "__attribute__((noinline)) int worker(int n) {\n"
    "    int s = 0;\n"
    "    for (int i = 0; i < n; i++) { s += i; talos_migration_point(); }\n"
    "    return s;\n"
    "}\n"
    "int main(int argc, char **argv) { (void)argv; return a(argc) + loop(argc) + twice(c, argc) + "
    "worker(argc); }\n";

#define CC_FLAGS "-O0 -fno-inline -no-pie -fcf-protection=none -fno-stack-protector"

struct fx {
    char dir[64];
    char src[96], exe[96], exe2[96], var[96];
    struct talos_cfg *cfg;
};

static void run(const char *cmd)
{
    int st = system(cmd);
    if (st != 0)
        fail_msg("command failed (%d): %s", st, cmd);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char cmd[512] = "";
    char msg[256] = "";
    FILE *s = NULL;

    assert_non_null(f);
    assert_non_null(test_tmpdir_make(f->dir, sizeof(f->dir), "cfg"));
    snprintf(f->src, sizeof(f->src), "%s/fixture.c", f->dir);
    snprintf(f->exe, sizeof(f->exe), "%s/fixture", f->dir);
    snprintf(f->exe2, sizeof(f->exe2), "%s/fixture2", f->dir);
    snprintf(f->var, sizeof(f->var), "%s/variant", f->dir);
    s = fopen(f->src, "w");
    assert_non_null(s);
    assert_int_equal(fputs(fixture_src, s) >= 0, 1);
    assert_int_equal(fclose(s), 0);
    snprintf(cmd, sizeof(cmd), "cc " CC_FLAGS " -o %s %s", f->exe, f->src);
    run(cmd);
    snprintf(cmd, sizeof(cmd), "cc " CC_FLAGS " -o %s %s", f->exe2, f->src);
    run(cmd);
    snprintf(cmd, sizeof(cmd), "cc " CC_FLAGS " -DVARIANT -o %s %s", f->var, f->src);
    run(cmd);
    if (talos_cfg_build(f->exe, &f->cfg, msg, sizeof(msg)) != TALOS_OK)
        fail_msg("build: %s", msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    talos_cfg_free(f->cfg);
    unlink(f->src);
    unlink(f->exe);
    unlink(f->exe2);
    unlink(f->var);
    rmdir(f->dir);
    free(f);
    return 0;
}

static const struct talos_cfg_func *must_find(const struct talos_cfg *cfg, const char *name)
{
    size_t from = 0;
    const struct talos_cfg_func *fn = talos_cfg_func_named(cfg, name, &from);

    if (!fn)
        fail_msg("no function %s", name);
    /* Fixture functions are global: exactly one of each name. */
    assert_null(talos_cfg_func_named(cfg, name, &from));
    return fn;
}

/* The callee of every call site, in address order: "a,loop,twice". */
static void callees(const struct talos_cfg *cfg, const struct talos_cfg_func *fn, char *out,
                    size_t cap)
{
    char buf[TALOS_CFG_SYNTH_NAME_BYTES] = "";

    out[0] = '\0';
    for (size_t i = 0; i < fn->n_calls; i++) {
        if (i > 0)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, talos_cfg_callee_name(cfg, &fn->calls[i], buf), cap - strlen(out) - 1);
    }
}

static void assert_callees(const struct talos_cfg *cfg, const char *fn, const char *want)
{
    char got[256] = "";

    callees(cfg, must_find(cfg, fn), got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s calls [%s], expected [%s]", fn, got, want);
}

/* Jump edges that go back to a block at or before their source, inside
 * the function: loops. */
static size_t back_edges(const struct talos_cfg_func *fn)
{
    size_t n = 0;

    for (size_t i = 0; i < fn->n_edges; i++) {
        const struct talos_cfg_edge *e = &fn->edges[i];
        if (e->kind == TALOS_CFG_EDGE_JUMP && e->to - fn->addr < fn->size && e->to <= e->from)
            n++;
    }
    return n;
}

static void test_call_edges(void **state)
{
    struct fx *f = *state;
    const struct talos_cfg *cfg = f->cfg;

    assert_callees(cfg, "main", "a,loop,twice,worker");
    assert_callees(cfg, "a", "b");
    assert_callees(cfg, "b", "c");
    assert_callees(cfg, "c", "");
    assert_callees(cfg, "loop", "");
    assert_callees(cfg, "twice", "indirect");
    assert_callees(cfg, "worker", "talos_migration_point");
    assert_callees(cfg, "never_called", "");
    assert_int_equal(must_find(cfg, "twice")->n_indirect_calls, 1);
    assert_int_equal(must_find(cfg, "main")->n_indirect_calls, 0);

    /* Nothing anywhere calls never_called (c is called by b, and indirectly). */
    const struct talos_cfg_func *never = must_find(cfg, "never_called");
    for (size_t i = 0; i < talos_cfg_n_funcs(cfg); i++) {
        const struct talos_cfg_func *fn = talos_cfg_func(cfg, i);
        for (size_t k = 0; k < fn->n_calls; k++)
            assert_true(fn->calls[k].indirect || fn->calls[k].target != never->addr);
    }
}

static void test_blocks_and_jumps(void **state)
{
    struct fx *f = *state;
    const struct talos_cfg_func *loop = must_find(f->cfg, "loop");
    const struct talos_cfg_func *c = must_find(f->cfg, "c");

    /* gcc -O0: jump to the test, body, test with the back edge, exit. */
    assert_int_equal(loop->n_blocks, 4);
    const uint64_t *B = loop->blocks;
    const struct talos_cfg_edge want[] = {
        {B[0], B[2], TALOS_CFG_EDGE_JUMP},
        {B[1], B[2], TALOS_CFG_EDGE_FALL},
        {B[2], B[1], TALOS_CFG_EDGE_JUMP}, /* the back edge */
        {B[2], B[3], TALOS_CFG_EDGE_FALL},
    };
    assert_int_equal(loop->n_edges, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(loop->edges[i].from, want[i].from);
        assert_int_equal(loop->edges[i].to, want[i].to);
        assert_int_equal(loop->edges[i].kind, want[i].kind);
    }
    assert_int_equal(back_edges(loop), 1);
    assert_int_equal(back_edges(must_find(f->cfg, "worker")), 1);
    assert_int_equal(back_edges(must_find(f->cfg, "a")), 0);
    /* Straight-line code is one block with no edges. */
    assert_int_equal(c->n_blocks, 1);
    assert_int_equal(c->n_edges, 0);
    assert_int_equal(c->blocks[0], c->addr);
    /* Every intra-function edge lands on a block start. */
    for (size_t i = 0; i < loop->n_edges; i++) {
        int found = 0;
        for (size_t b = 0; b < loop->n_blocks; b++)
            found |= loop->blocks[b] == loop->edges[i].to;
        assert_true(found);
    }
    assert_ptr_equal(talos_cfg_func_at(f->cfg, loop->addr + loop->size - 1), loop);
    assert_ptr_equal(talos_cfg_func_at(f->cfg, loop->addr), loop);
}

/* The address objdump prints after `call ... <talos_migration_point>`. */
static uint64_t objdump_mp(const char *exe)
{
    char cmd[256] = "", line[512] = "";
    uint64_t ret = 0;
    int take = 0;
    FILE *p = NULL;

    snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn %s", exe);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        if (take && sscanf(line, " %" SCNx64 ":", &ret) == 1)
            take = 0;
        else if (strstr(line, "call") && strstr(line, "<talos_migration_point>") && ret == 0)
            take = 1;
    }
    pclose(p);
    return ret;
}

static void test_migration_point(void **state)
{
    struct fx *f = *state;
    const struct talos_cfg_func *w = must_find(f->cfg, "worker");
    const struct talos_cfg_call *call = NULL;
    char buf[TALOS_CFG_SYNTH_NAME_BYTES] = "";
    uint64_t ret = w->calls[0].ret;

    assert_int_equal(w->n_migration_points, 1);
    assert_int_equal(ret, w->calls[0].site + 5); /* call rel32 */
    assert_int_equal(ret, objdump_mp(f->exe));
    assert_int_equal(talos_cfg_migration_point(f->cfg, ret), TALOS_CFG_MP_CALL);
    assert_int_equal(talos_cfg_migration_point(f->cfg, ret - 1), 0);
    assert_int_equal(talos_cfg_migration_point(f->cfg, w->calls[0].site), 0);
    assert_int_equal(talos_cfg_call_for_return(f->cfg, ret, &call), TALOS_OK);
    assert_string_equal(talos_cfg_callee_name(f->cfg, call, buf), TALOS_CFG_MP_CALLEE);
    /* The return address starts a block: a thread resumes at a leader. */
    int leader = 0;
    for (size_t b = 0; b < w->n_blocks; b++)
        leader |= w->blocks[b] == ret;
    assert_true(leader);
    /* Other return addresses: a direct call names its callee, an indirect
     * one says so, anything else is no return address. */
    const struct talos_cfg_func *m = must_find(f->cfg, "main");
    assert_int_equal(talos_cfg_call_for_return(f->cfg, m->calls[0].ret, &call), TALOS_OK);
    assert_string_equal(talos_cfg_callee_name(f->cfg, call, buf), "a");
    assert_int_equal(talos_cfg_migration_point(f->cfg, m->calls[0].ret), 0);
    const struct talos_cfg_func *t = must_find(f->cfg, "twice");
    assert_int_equal(talos_cfg_call_for_return(f->cfg, t->calls[0].ret, &call), TALOS_OK);
    assert_true(call->indirect);
    assert_int_equal(talos_cfg_call_for_return(f->cfg, t->calls[0].site, &call),
                     TALOS_ERR_NOT_FOUND);
    assert_null(call);
    assert_int_equal(talos_cfg_n_ecall_entries(f->cfg), 0);
}

static void digest_of(const char *path, uint8_t d[TALOS_CFG_DIGEST_BYTES],
                      uint8_t code[TALOS_CFG_DIGEST_BYTES])
{
    struct talos_cfg *cfg = NULL;
    char msg[256] = "";

    if (talos_cfg_build(path, &cfg, msg, sizeof(msg)) != TALOS_OK)
        fail_msg("build %s: %s", path, msg);
    talos_cfg_digest(cfg, d);
    talos_cfg_code_digest(cfg, code);
    talos_cfg_free(cfg);
}

static void test_digest_stable(void **state)
{
    struct fx *f = *state;
    uint8_t d0[TALOS_CFG_DIGEST_BYTES] = {0}, d1[TALOS_CFG_DIGEST_BYTES] = {0},
            d2[TALOS_CFG_DIGEST_BYTES] = {0}, dv[TALOS_CFG_DIGEST_BYTES] = {0};
    uint8_t c0[TALOS_CFG_DIGEST_BYTES] = {0}, c1[TALOS_CFG_DIGEST_BYTES] = {0},
            c2[TALOS_CFG_DIGEST_BYTES] = {0}, cv[TALOS_CFG_DIGEST_BYTES] = {0};
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    struct talos_cfg *again = NULL;
    char msg[256] = "";

    talos_cfg_digest(f->cfg, d0);
    talos_cfg_code_digest(f->cfg, c0);
    digest_of(f->exe, d1, c1);  /* the same file again */
    digest_of(f->exe2, d2, c2); /* a second compilation */
    digest_of(f->var, dv, cv);  /* one immediate changed */
    assert_memory_equal(d0, d1, TALOS_CFG_DIGEST_BYTES);
    assert_memory_equal(d0, d2, TALOS_CFG_DIGEST_BYTES);
    assert_memory_equal(c0, c2, TALOS_CFG_DIGEST_BYTES);
    assert_memory_not_equal(d0, dv, TALOS_CFG_DIGEST_BYTES);
    assert_memory_not_equal(c0, cv, TALOS_CFG_DIGEST_BYTES);
    /* Byte-identical serializations, and the digest is their SHA-256. */
    assert_int_equal(talos_cfg_build(f->exe, &again, msg, sizeof(msg)), TALOS_OK);
    assert_int_equal(talos_cfg_serialize(f->cfg, &s1, &n1), TALOS_OK);
    assert_int_equal(talos_cfg_serialize(again, &s2, &n2), TALOS_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(s1, s2, n1);
    assert_memory_equal(s1 + n1 - 32, d0, TALOS_CFG_DIGEST_BYTES);
    free(s1);
    free(s2);
    talos_cfg_free(again);
}

static void test_file_roundtrip(void **state)
{
    struct fx *f = *state;
    struct talos_cfg *p = NULL;
    uint8_t *s = NULL, *s2 = NULL;
    size_t n = 0, n2 = 0;
    uint8_t d0[TALOS_CFG_DIGEST_BYTES] = {0}, d1[TALOS_CFG_DIGEST_BYTES] = {0};

    assert_int_equal(talos_cfg_serialize(f->cfg, &s, &n), TALOS_OK);
    assert_int_equal(talos_cfg_parse(s, n, &p), TALOS_OK);
    assert_int_equal(talos_cfg_serialize(p, &s2, &n2), TALOS_OK);
    assert_int_equal(n, n2);
    assert_memory_equal(s, s2, n);
    talos_cfg_digest(f->cfg, d0);
    talos_cfg_digest(p, d1);
    assert_memory_equal(d0, d1, TALOS_CFG_DIGEST_BYTES);
    /* The parsed model answers the same questions. */
    assert_callees(p, "main", "a,loop,twice,worker");
    const struct talos_cfg_func *w = must_find(p, "worker");
    assert_int_equal(talos_cfg_migration_point(p, w->calls[0].ret), TALOS_CFG_MP_CALL);
    assert_int_equal(back_edges(must_find(p, "loop")), 1);
    talos_cfg_free(p);
    free(s);
    free(s2);
}

/* Recompute the trailer so that damage reaches the structural checks. */
static void reseal(uint8_t *b, size_t n)
{
    talos_sha256(b, n - TALOS_CFG_DIGEST_BYTES, b + n - TALOS_CFG_DIGEST_BYTES);
}

static void test_file_hostile(void **state)
{
    struct fx *f = *state;
    struct talos_cfg *p = NULL;
    uint8_t *s = NULL, *m = NULL;
    size_t n = 0, accepted = 0;
    unsigned seed = 12345;

    assert_int_equal(talos_cfg_serialize(f->cfg, &s, &n), TALOS_OK);
    /* Every truncation, into a buffer of exactly that size (ASan sees any
     * read past it). */
    for (size_t len = 0; len < n; len++) {
        m = malloc(len ? len : 1);
        assert_non_null(m);
        memcpy(m, s, len);
        assert_int_equal(talos_cfg_parse(m, len, &p), TALOS_ERR_MALFORMED);
        assert_null(p);
        free(m);
    }
    m = malloc(n);
    assert_non_null(m);
    /* Random single bit flips: the trailer refuses every one. */
    for (int i = 0; i < 2000; i++) {
        size_t bit = (size_t)rand_r(&seed) % (n * 8);
        memcpy(m, s, n);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(talos_cfg_parse(m, n, &p), TALOS_ERR_MALFORMED);
    }
    /* The same with a valid trailer: structural checks alone. A flip may
     * leave a valid CFG (a name letter, a jump target outside the
     * function); then it must be canonical. */
    for (int i = 0; i < 4000; i++) {
        memcpy(m, s, n);
        for (int k = 0; k <= i % 3; k++) {
            size_t bit = (size_t)rand_r(&seed) % ((n - 32) * 8);
            m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        reseal(m, n);
        int rc = talos_cfg_parse(m, n, &p);
        assert_true(rc == TALOS_OK || rc == TALOS_ERR_MALFORMED);
        if (rc == TALOS_OK) {
            uint8_t *back = NULL;
            size_t bn = 0;
            accepted++;
            assert_int_equal(talos_cfg_serialize(p, &back, &bn), TALOS_OK);
            assert_int_equal(bn, n);
            assert_memory_equal(back, m, n);
            free(back);
            talos_cfg_free(p);
        }
    }
    print_message("hostile CFG files: %zu truncations and 2000 flips refused; "
                  "%zu of 4000 resealed flips still valid CFGs\n",
                  n, accepted);
    /* A header count far beyond what the bytes can hold. */
    memcpy(m, s, n);
    memset(m + 8 + 2 + 2 + 32, 0xff, 4);
    reseal(m, n);
    assert_int_equal(talos_cfg_parse(m, n, &p), TALOS_ERR_MALFORMED);
    /* An unknown machine, another format version. */
    memcpy(m, s, n);
    m[11] = 0x03;
    reseal(m, n);
    assert_int_equal(talos_cfg_parse(m, n, &p), TALOS_ERR_MALFORMED);
    memcpy(m, s, n);
    m[9] = 2;
    reseal(m, n);
    assert_int_equal(talos_cfg_parse(m, n, &p), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_cfg_parse(NULL, 0, &p), TALOS_ERR_MALFORMED);
    free(m);
    /* Larger than any CFG file may be (calloc: untouched pages are free). */
    m = calloc(1, (size_t)TALOS_CFG_FILE_MAX + 1);
    assert_non_null(m);
    assert_int_equal(talos_cfg_parse(m, (size_t)TALOS_CFG_FILE_MAX + 1, &p), TALOS_ERR_TOO_LARGE);
    free(m);
    free(s);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    struct talos_cfg *cfg = NULL;
    char msg[256] = "", path[128], cmd[512];
    FILE *fp = NULL;

    assert_int_equal(talos_cfg_build("/nonexistent/image", &cfg, msg, sizeof(msg)), TALOS_ERR_IO);
    assert_null(cfg);
    assert_int_equal(talos_cfg_build(f->src, &cfg, msg, sizeof(msg)), TALOS_ERR_IMAGE);
    /* Another machine: e_machine patched to AArch64. */
    snprintf(path, sizeof(path), "%s/arm", f->dir);
    snprintf(cmd, sizeof(cmd), "cp %s %s", f->exe, path);
    run(cmd);
    fp = fopen(path, "r+b");
    assert_non_null(fp);
    uint16_t em = EM_AARCH64;
    assert_int_equal(fseek(fp, offsetof(Elf64_Ehdr, e_machine), SEEK_SET), 0);
    assert_int_equal(fwrite(&em, 2, 1, fp), 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(talos_cfg_build(path, &cfg, msg, sizeof(msg)), TALOS_ERR_NOT_IMPLEMENTED);
    assert_non_null(strstr(msg, "aarch64"));
    assert_null(cfg);
    /* Stripped: no symbol table to find functions with. */
    snprintf(cmd, sizeof(cmd), "strip -o %s %s", path, f->exe);
    run(cmd);
    assert_int_equal(talos_cfg_build(path, &cfg, msg, sizeof(msg)), TALOS_ERR_IMAGE);
    assert_non_null(strstr(msg, "symbol table"));
    unlink(path);
}

static double ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* The static kvstore image (thousands of functions, OpenSSL inside):
 * build/examples/kvstore.ta next to this test's build tree, else this
 * build's own (sanitizer builds link TAs dynamically: far fewer). */
static void test_kvstore_image(void **state)
{
    char exe[512] = "", root[512] = "", image[600] = "";
    struct talos_cfg *cfg = NULL, *p = NULL;
    struct talos_cfg_stats st = {0};
    struct timespec t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
    uint8_t *s = NULL;
    size_t n = 0, min_funcs = 1000;
    char msg[256] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    (void)state;
    assert_true(k > 0);
    exe[k] = '\0';
    /* exe = ROOT/BUILD/tests/unit/test_cfg: cut three components. */
    snprintf(root, sizeof(root), "%s", exe);
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(root, '/');
        assert_non_null(slash);
        *slash = '\0';
    }
    snprintf(image, sizeof(image), "%s/../build/examples/kvstore.ta", root);
    if (access(image, R_OK) != 0) {
        snprintf(image, sizeof(image), "%s/examples/kvstore.ta", root);
        min_funcs = 100;
    }
    if (access(image, R_OK) != 0)
        skip();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (talos_cfg_build(image, &cfg, msg, sizeof(msg)) != TALOS_OK)
        fail_msg("build %s: %s", image, msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    talos_cfg_stats(cfg, &st);
    assert_true(st.functions > min_funcs);
    assert_true(st.migration_points >= 1); /* kv_fill calls talos_migration_point */
    assert_int_equal(st.ecall_entries, 6); /* kvstore's ecall table */
    for (size_t i = 0; i < st.ecall_entries; i++) {
        const struct talos_cfg_func *fn = talos_cfg_func_at(cfg, talos_cfg_ecall_entry(cfg, i));
        assert_non_null(fn);
        assert_int_equal(strncmp(fn->name, "kv_", 3), 0);
        assert_true(talos_cfg_migration_point(cfg, fn->addr) & TALOS_CFG_MP_ECALL);
    }
    assert_int_equal(talos_cfg_serialize(cfg, &s, &n), TALOS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    assert_int_equal(talos_cfg_parse(s, n, &p), TALOS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t3);
    print_message("%s: %zu functions, %zu blocks, %zu call sites, built in %.0f ms; "
                  "CFG file %zu bytes, parsed in %.0f ms\n",
                  image, st.functions, st.blocks, st.direct_calls + st.indirect_calls, ms(&t0, &t1),
                  n, ms(&t2, &t3));
    talos_cfg_free(p);
    talos_cfg_free(cfg);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_edges),      cmocka_unit_test(test_blocks_and_jumps),
        cmocka_unit_test(test_migration_point), cmocka_unit_test(test_digest_stable),
        cmocka_unit_test(test_file_roundtrip),  cmocka_unit_test(test_file_hostile),
        cmocka_unit_test(test_refusals),        cmocka_unit_test(test_kvstore_image),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
