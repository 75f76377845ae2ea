/* The CFG model: storage, the builder shared by extractor and parser, and
 * the lookups a verifier needs. Plain C over core/: no ELF, no Capstone.
 *
 * One job over 400 lines: the model's invariants (sorted, disjoint,
 * every edge inside its function) are established by the builder and
 * relied upon by the lookups; keeping both here keeps them in one view. */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "talos/err.h"
#include "core/cfg/internal.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 64;
    void *np = NULL;

    if (need <= *cap)
        return TALOS_OK;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return TALOS_ERR_NOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return TALOS_ERR_NOMEM;
    np = realloc(*p, ncap * elem);
    if (!np)
        return TALOS_ERR_NOMEM;
    *p = np;
    *cap = ncap;
    return TALOS_OK;
}

#define GROW(arr, n, cap) grow((void **)&(arr), &(cap), (n) + 1, sizeof(*(arr)))

int cfg_new(uint16_t machine, struct talos_cfg **out)
{
    struct talos_cfg *cfg = calloc(1, sizeof(*cfg));

    *out = NULL;
    if (!cfg)
        return TALOS_ERR_NOMEM;
    cfg->machine = machine;
    *out = cfg;
    return TALOS_OK;
}

void talos_cfg_free(struct talos_cfg *cfg)
{
    if (!cfg)
        return;
    free(cfg->funcs);
    free(cfg->offs);
    free(cfg->names);
    free(cfg->blocks);
    free(cfg->edges);
    free(cfg->calls);
    free(cfg->ijumps);
    free(cfg->ecalls);
    free(cfg->mps);
    free(cfg);
}

int cfg_func_begin(struct talos_cfg *cfg, const char *name, size_t name_len, uint64_t addr,
                   uint64_t size)
{
    struct talos_cfg_func *fn = NULL;
    struct cfg_func_off *off = NULL;
    int rc = TALOS_OK;

    if (name_len == 0 || name_len > TALOS_CFG_NAME_MAX)
        return TALOS_ERR_INVALID_ARG;
    if ((rc = GROW(cfg->funcs, cfg->n_funcs, cfg->cap_funcs)) != TALOS_OK)
        return rc;
    if ((rc = GROW(cfg->offs, cfg->n_funcs, cfg->cap_offs)) != TALOS_OK)
        return rc;
    if ((rc = grow((void **)&cfg->names, &cfg->cap_names, cfg->n_names + name_len + 1, 1)) !=
        TALOS_OK)
        return rc;
    fn = &cfg->funcs[cfg->n_funcs];
    off = &cfg->offs[cfg->n_funcs];
    memset(fn, 0, sizeof(*fn));
    fn->addr = addr;
    fn->size = size;
    off->name = cfg->n_names;
    off->block0 = cfg->n_blocks;
    off->edge0 = cfg->n_edges;
    off->call0 = cfg->n_calls;
    off->ijump0 = cfg->n_ijumps;
    /* Names reach terminals and JSON: keep them printable ASCII. */
    for (size_t i = 0; i < name_len; i++) {
        unsigned char c = (unsigned char)name[i];
        cfg->names[cfg->n_names++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    cfg->names[cfg->n_names++] = '\0';
    cfg->n_funcs++;
    return TALOS_OK;
}

static struct talos_cfg_func *cur(struct talos_cfg *cfg)
{
    return cfg->n_funcs ? &cfg->funcs[cfg->n_funcs - 1] : NULL;
}

int cfg_add_block(struct talos_cfg *cfg, uint64_t addr)
{
    int rc = cur(cfg) ? GROW(cfg->blocks, cfg->n_blocks, cfg->cap_blocks) : TALOS_ERR_INVALID_ARG;

    if (rc != TALOS_OK)
        return rc;
    cfg->blocks[cfg->n_blocks++] = addr;
    cur(cfg)->n_blocks++;
    return TALOS_OK;
}

int cfg_add_edge(struct talos_cfg *cfg, uint64_t from, uint64_t to, uint8_t kind)
{
    int rc = cur(cfg) ? GROW(cfg->edges, cfg->n_edges, cfg->cap_edges) : TALOS_ERR_INVALID_ARG;

    if (rc != TALOS_OK)
        return rc;
    cfg->edges[cfg->n_edges++] = (struct talos_cfg_edge){.from = from, .to = to, .kind = kind};
    cur(cfg)->n_edges++;
    return TALOS_OK;
}

int cfg_add_call(struct talos_cfg *cfg, uint64_t site, uint64_t ret, uint64_t target,
                 uint8_t indirect)
{
    int rc = cur(cfg) ? GROW(cfg->calls, cfg->n_calls, cfg->cap_calls) : TALOS_ERR_INVALID_ARG;

    if (rc != TALOS_OK)
        return rc;
    cfg->calls[cfg->n_calls++] = (struct talos_cfg_call){
        .site = site,
        .ret = ret,
        .target = indirect ? 0 : target,
        .callee = TALOS_CFG_NO_FUNC,
        .indirect = indirect ? 1 : 0,
    };
    cur(cfg)->n_calls++;
    return TALOS_OK;
}

int cfg_add_ijump(struct talos_cfg *cfg, uint64_t addr)
{
    int rc = cur(cfg) ? GROW(cfg->ijumps, cfg->n_ijumps, cfg->cap_ijumps) : TALOS_ERR_INVALID_ARG;

    if (rc != TALOS_OK)
        return rc;
    cfg->ijumps[cfg->n_ijumps++] = addr;
    cur(cfg)->n_ijumps++;
    return TALOS_OK;
}

int cfg_add_ecall(struct talos_cfg *cfg, uint64_t addr)
{
    int rc = GROW(cfg->ecalls, cfg->n_ecalls, cfg->cap_ecalls);

    if (rc != TALOS_OK)
        return rc;
    cfg->ecalls[cfg->n_ecalls++] = addr;
    return TALOS_OK;
}

size_t cfg_bound(const void *base, size_t n, size_t stride, size_t key_off, uint64_t key,
                 int upper)
{
    const uint8_t *b = base;
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k = 0;
        memcpy(&k, b + mid * stride + key_off, sizeof(k));
        if (k < key || (upper && k == key))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t cfg_func_index(const struct talos_cfg *cfg, uint64_t addr)
{
    size_t lo = CFG_BOUND(cfg->funcs, cfg->n_funcs, struct talos_cfg_func, addr, addr, 0);

    /* Function counts are bounded far below UINT32_MAX by the file size. */
    return (lo < cfg->n_funcs && cfg->funcs[lo].addr == addr) ? (uint32_t)lo : TALOS_CFG_NO_FUNC;
}

static int is_mp_call(const struct talos_cfg *cfg, const struct talos_cfg_call *c)
{
    return c->callee != TALOS_CFG_NO_FUNC &&
           strcmp(cfg->funcs[c->callee].name, TALOS_CFG_MP_CALLEE) == 0;
}

/* Merge the two sorted sources of migration points into one sorted set. */
static int build_mps(struct talos_cfg *cfg)
{
    size_t n_call_mps = 0, i = 0, j = 0, k = 0;

    for (size_t c = 0; c < cfg->n_calls; c++)
        n_call_mps += (size_t)is_mp_call(cfg, &cfg->calls[c]);
    cfg->mps = calloc(n_call_mps + cfg->n_ecalls + 1, sizeof(*cfg->mps));
    if (!cfg->mps)
        return TALOS_ERR_NOMEM;
    while (i < cfg->n_calls || j < cfg->n_ecalls) {
        uint64_t a = UINT64_MAX;
        unsigned kind = 0;
        if (i < cfg->n_calls && !is_mp_call(cfg, &cfg->calls[i])) {
            i++;
            continue;
        }
        if (i < cfg->n_calls)
            a = cfg->calls[i].ret, kind = TALOS_CFG_MP_CALL;
        if (j < cfg->n_ecalls && cfg->ecalls[j] <= a)
            a = cfg->ecalls[j], kind = TALOS_CFG_MP_ECALL;
        if (k > 0 && cfg->mps[k - 1].addr == a)
            cfg->mps[k - 1].kinds |= kind;
        else
            cfg->mps[k++] = (struct cfg_mp){.addr = a, .kinds = kind};
        if (kind == TALOS_CFG_MP_CALL)
            i++;
        else
            j++;
    }
    cfg->n_mps = k;
    return TALOS_OK;
}

/* Pointers, callees, counts, migration points; then the digest: hashed from
 * a fresh serialization, or, for a parsed file, taken from the file once
 * the serialization proves byte for byte equal to it (canon). */
int cfg_finalize_canonical(struct talos_cfg *cfg, const uint8_t *canon, size_t canon_len,
                           const uint8_t canon_digest[TALOS_CFG_DIGEST_BYTES])
{
    uint8_t *body = NULL;
    size_t len = 0;
    int rc = TALOS_OK;

    for (size_t i = 0; i < cfg->n_funcs; i++) {
        struct talos_cfg_func *fn = &cfg->funcs[i];
        const struct cfg_func_off *off = &cfg->offs[i];
        fn->name = cfg->names + off->name;
        fn->blocks = cfg->blocks + off->block0;
        /* An array nothing was added to is NULL (NULL + 0 is undefined). */
        fn->edges = cfg->edges ? cfg->edges + off->edge0 : NULL;
        fn->calls = cfg->calls ? cfg->calls + off->call0 : NULL;
        fn->ijumps = cfg->ijumps ? cfg->ijumps + off->ijump0 : NULL;
        for (size_t c = off->call0; c < off->call0 + fn->n_calls; c++) {
            struct talos_cfg_call *call = &cfg->calls[c];
            if (!call->indirect)
                call->callee = cfg_func_index(cfg, call->target);
        }
    }
    /* Second pass: callee names are all known now. */
    for (size_t i = 0; i < cfg->n_funcs; i++) {
        struct talos_cfg_func *fn = &cfg->funcs[i];
        for (size_t c = 0; c < fn->n_calls; c++) {
            fn->n_indirect_calls += fn->calls[c].indirect;
            fn->n_migration_points += (size_t)is_mp_call(cfg, &fn->calls[c]);
        }
    }
    if ((rc = build_mps(cfg)) != TALOS_OK)
        goto out;
    if ((rc = cfg_serialize_body(cfg, canon_len, &body, &len)) != TALOS_OK)
        goto out;
    if (!canon)
        talos_sha256(body, len, cfg->digest);
    else if (len == canon_len && memcmp(body, canon, len) == 0)
        memcpy(cfg->digest, canon_digest, TALOS_CFG_DIGEST_BYTES);
    else
        rc = TALOS_ERR_MALFORMED;
out:
    free(body);
    return rc;
}

int cfg_finalize(struct talos_cfg *cfg)
{
    return cfg_finalize_canonical(cfg, NULL, 0, NULL);
}

/* --- lookups ----------------------------------------------------------------------- */

void talos_cfg_digest(const struct talos_cfg *cfg, uint8_t out[TALOS_CFG_DIGEST_BYTES])
{
    memcpy(out, cfg->digest, TALOS_CFG_DIGEST_BYTES);
}

void talos_cfg_code_digest(const struct talos_cfg *cfg, uint8_t out[TALOS_CFG_DIGEST_BYTES])
{
    memcpy(out, cfg->code_digest, TALOS_CFG_DIGEST_BYTES);
}

uint16_t talos_cfg_machine(const struct talos_cfg *cfg)
{
    return cfg->machine;
}

size_t talos_cfg_n_funcs(const struct talos_cfg *cfg)
{
    return cfg->n_funcs;
}

const struct talos_cfg_func *talos_cfg_func(const struct talos_cfg *cfg, size_t i)
{
    return i < cfg->n_funcs ? &cfg->funcs[i] : NULL;
}

const struct talos_cfg_func *talos_cfg_func_at(const struct talos_cfg *cfg, uint64_t addr)
{
    /* The number of functions starting at or below addr. */
    size_t lo = CFG_BOUND(cfg->funcs, cfg->n_funcs, struct talos_cfg_func, addr, addr, 1);

    if (lo == 0)
        return NULL;
    const struct talos_cfg_func *fn = &cfg->funcs[lo - 1];
    return addr - fn->addr < fn->size ? fn : NULL;
}

const struct talos_cfg_func *talos_cfg_func_named(const struct talos_cfg *cfg, const char *name,
                                                  size_t *from)
{
    for (size_t i = from ? *from : 0; i < cfg->n_funcs; i++) {
        if (strcmp(cfg->funcs[i].name, name) == 0) {
            if (from)
                *from = i + 1;
            return &cfg->funcs[i];
        }
    }
    if (from)
        *from = cfg->n_funcs;
    return NULL;
}

const char *talos_cfg_callee_name(const struct talos_cfg *cfg, const struct talos_cfg_call *call,
                                  char buf[TALOS_CFG_SYNTH_NAME_BYTES])
{
    static const char digits[] = "0123456789abcdef";
    uint64_t t = call->target;
    char tmp[16] = {0};
    size_t n = 0;

    if (call->indirect)
        return "indirect";
    if (call->callee < cfg->n_funcs)
        return cfg->funcs[call->callee].name;
    do {
        tmp[n++] = digits[t & 15];
        t >>= 4;
    } while (t != 0);
    buf[0] = '0';
    buf[1] = 'x';
    for (size_t i = 0; i < n; i++)
        buf[2 + i] = tmp[n - 1 - i];
    buf[2 + n] = '\0';
    return buf;
}

int talos_cfg_call_for_return(const struct talos_cfg *cfg, uint64_t ret,
                              const struct talos_cfg_call **call)
{
    size_t lo = CFG_BOUND(cfg->calls, cfg->n_calls, struct talos_cfg_call, ret, ret, 0);

    *call = NULL;
    if (lo >= cfg->n_calls || cfg->calls[lo].ret != ret)
        return TALOS_ERR_NOT_FOUND;
    *call = &cfg->calls[lo];
    return TALOS_OK;
}

unsigned talos_cfg_migration_point(const struct talos_cfg *cfg, uint64_t addr)
{
    size_t lo = CFG_BOUND(cfg->mps, cfg->n_mps, struct cfg_mp, addr, addr, 0);

    return (lo < cfg->n_mps && cfg->mps[lo].addr == addr) ? cfg->mps[lo].kinds : 0;
}

size_t talos_cfg_n_ecall_entries(const struct talos_cfg *cfg)
{
    return cfg->n_ecalls;
}

uint64_t talos_cfg_ecall_entry(const struct talos_cfg *cfg, size_t i)
{
    return i < cfg->n_ecalls ? cfg->ecalls[i] : 0;
}

void talos_cfg_stats(const struct talos_cfg *cfg, struct talos_cfg_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->functions = cfg->n_funcs;
    out->blocks = cfg->n_blocks;
    for (size_t i = 0; i < cfg->n_edges; i++) {
        if (cfg->edges[i].kind == TALOS_CFG_EDGE_JUMP)
            out->jump_edges++;
        else
            out->fall_edges++;
    }
    for (size_t i = 0; i < cfg->n_funcs; i++) {
        out->indirect_calls += cfg->funcs[i].n_indirect_calls;
        out->migration_points += cfg->funcs[i].n_migration_points;
        out->undecoded_bytes += cfg->funcs[i].undecoded;
    }
    out->direct_calls = cfg->n_calls - out->indirect_calls;
    out->indirect_jumps = cfg->n_ijumps;
    out->ecall_entries = cfg->n_ecalls;
}

/* ELF e_machine values (elf.h) of the 64-bit machines TALOS targets; the
 * model itself is machine-neutral, extraction is per machine (arch_*.c). */
static const struct {
    uint16_t machine;
    const char *name;
} machines[] = {
    {62, "x86-64"},
    {183, "aarch64"},
    {243, "riscv64"},
};

const char *talos_cfg_machine_name(uint16_t machine)
{
    for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
        if (machines[i].machine == machine)
            return machines[i].name;
    return "unknown";
}
