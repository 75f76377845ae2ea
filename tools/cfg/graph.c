/* From one function's instruction list to its blocks, edges and call
 * sites. Machine-neutral: the back ends classify, this file decides.
 *
 * Leaders (block starts): the entry, every direct jump target inside the
 * function, and the instruction after every jump, return, trap and call.
 * Calls end blocks (unlike most CFG definitions) so that every return
 * address, and so every place a thread can resume, is a block start. A
 * jump target inside an instruction (glibc jumps over a `lock` prefix)
 * still starts a block: blocks partition the function's bytes at the
 * leaders, and a block's exit is decided by the last instruction that
 * starts in it. */
#include <stdlib.h>

#include "talos/err.h"
#include "tools/cfg/internal.h"

int cfg_insns_push(struct cfg_insns *v, const struct cfg_insn *in)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 1024;
        struct cfg_insn *np = NULL;
        if (ncap > SIZE_MAX / sizeof(*np))
            return TALOS_ERR_NOMEM;
        np = realloc(v->v, ncap * sizeof(*np));
        if (!np)
            return TALOS_ERR_NOMEM;
        v->v = np;
        v->cap = ncap;
    }
    v->v[v->n++] = *in;
    return TALOS_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int falls_through(uint8_t kind)
{
    return kind != CFG_I_JUMP && kind != CFG_I_IJUMP && kind != CFG_I_RET && kind != CFG_I_STOP;
}

static int ends_block(uint8_t kind)
{
    return kind != CFG_I_PLAIN && kind != CFG_I_BAD;
}

/* Leaders of the function, sorted and unique, into *scratch; returns the
 * count in *n. */
static int leaders(uint64_t addr, uint64_t size, const struct cfg_insns *insns, uint64_t **scratch,
                   size_t *cap, size_t *n)
{
    size_t k = 0, u = 0;

    /* At most: the entry, plus a target and a next address per insn. */
    if (insns->n > (SIZE_MAX / sizeof(uint64_t) - 1) / 2)
        return TALOS_ERR_NOMEM;
    if (*cap < 2 * insns->n + 1) {
        uint64_t *np = realloc(*scratch, (2 * insns->n + 1) * sizeof(uint64_t));
        if (!np)
            return TALOS_ERR_NOMEM;
        *scratch = np;
        *cap = 2 * insns->n + 1;
    }
    (*scratch)[k++] = addr;
    for (size_t i = 0; i < insns->n; i++) {
        const struct cfg_insn *in = &insns->v[i];
        uint64_t next = in->addr + in->len;
        if ((in->kind == CFG_I_JUMP || in->kind == CFG_I_CJUMP) && in->target - addr < size)
            (*scratch)[k++] = in->target;
        if (ends_block(in->kind) && next - addr < size)
            (*scratch)[k++] = next;
    }
    qsort(*scratch, k, sizeof(uint64_t), cmp_u64);
    for (size_t i = 0; i < k; i++)
        if (u == 0 || (*scratch)[i] != (*scratch)[u - 1])
            (*scratch)[u++] = (*scratch)[i];
    *n = u;
    return TALOS_OK;
}

/* The exits of block [start, end) whose last starting instruction is
 * `last` (NULL: none starts in it, so it only falls through). */
static int block_edges(struct talos_cfg *cfg, uint64_t start, uint64_t end, uint64_t fn_end,
                       const struct cfg_insn *last)
{
    int has_fall = end < fn_end && (!last || falls_through(last->kind));
    int has_jump = last && (last->kind == CFG_I_JUMP || last->kind == CFG_I_CJUMP);
    int rc = TALOS_OK;

    /* Sorted by (to, kind): a conditional jump to the next block gives a
     * fall edge and a jump edge to the same place, fall first. */
    if (has_jump && has_fall && last->target < end) {
        if ((rc = cfg_add_edge(cfg, start, last->target, TALOS_CFG_EDGE_JUMP)) != TALOS_OK)
            return rc;
        has_jump = 0;
    }
    if (has_fall && (rc = cfg_add_edge(cfg, start, end, TALOS_CFG_EDGE_FALL)) != TALOS_OK)
        return rc;
    if (has_jump)
        rc = cfg_add_edge(cfg, start, last->target, TALOS_CFG_EDGE_JUMP);
    return rc;
}

int cfg_add_function(struct talos_cfg *cfg, const char *name, size_t name_len, uint64_t addr,
                     uint64_t size, const struct cfg_insns *insns, uint64_t **scratch,
                     size_t *scratch_cap)
{
    size_t n_lead = 0, j = 0;
    uint64_t fn_end = addr + size;
    uint32_t undecoded = 0;
    int rc = cfg_func_begin(cfg, name, name_len, addr, size);

    if (rc != TALOS_OK)
        return rc;
    if ((rc = leaders(addr, size, insns, scratch, scratch_cap, &n_lead)) != TALOS_OK)
        return rc;
    for (size_t b = 0; b < n_lead; b++)
        if ((rc = cfg_add_block(cfg, (*scratch)[b])) != TALOS_OK)
            return rc;
    /* Walk blocks and instructions together (both sorted by address). */
    for (size_t b = 0; b < n_lead; b++) {
        uint64_t start = (*scratch)[b];
        uint64_t end = b + 1 < n_lead ? (*scratch)[b + 1] : fn_end;
        const struct cfg_insn *last = NULL;
        while (j < insns->n && insns->v[j].addr < end) {
            if (insns->v[j].addr >= start)
                last = &insns->v[j];
            j++;
        }
        if ((rc = block_edges(cfg, start, end, fn_end, last)) != TALOS_OK)
            return rc;
    }
    for (size_t i = 0; i < insns->n; i++) {
        const struct cfg_insn *in = &insns->v[i];
        if (in->kind == CFG_I_CALL || in->kind == CFG_I_ICALL)
            rc = cfg_add_call(cfg, in->addr, in->addr + in->len, in->target,
                              in->kind == CFG_I_ICALL);
        else if (in->kind == CFG_I_IJUMP)
            rc = cfg_add_ijump(cfg, in->addr);
        else if (in->kind == CFG_I_BAD)
            undecoded++;
        if (rc != TALOS_OK)
            return rc;
    }
    cfg->funcs[cfg->n_funcs - 1].undecoded = undecoded;
    return TALOS_OK;
}
