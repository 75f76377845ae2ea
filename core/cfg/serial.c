/* The canonical CFG file: writer and its one strict reader (docs/cfg.md).
 *
 * Big-endian through core/wire. Offsets inside a function are u32 from its
 * start, so a reader checks "inside the function" with one comparison. The
 * file ends with the SHA-256 of everything before it, which is also the
 * CFG's digest. The reader accepts exactly the bytes the writer produces:
 * every order is strict, every cross-reference is checked, and the parsed
 * model must serialize back to the same digest. */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/wire.h"
#include "talos/err.h"
#include "core/cfg/internal.h"

/* Smallest encodings, to refuse a count the remaining bytes cannot hold
 * before allocating for it. */
#define MIN_FUNC (4 + 1 + 8 + 4 + 4 + 4 + 4 + 4 + 4 + 4)
#define MIN_BLOCK 4
#define MIN_EDGE (4 + 8 + 1)
#define MIN_CALL (4 + 1 + 1 + 8)
#define MIN_IJUMP 4
#define MIN_ECALL 8
#define HEADER_LEN (8 + 2 + 2 + TALOS_CFG_DIGEST_BYTES + 4)
/* Longest instruction of any supported machine (x86: 15 bytes). */
#define MAX_INSN_LEN 15

static void write_func(struct talos_wr *w, const struct talos_cfg_func *fn)
{
    size_t b = 0;

    if (fn->size > UINT32_MAX || fn->n_blocks > UINT32_MAX) {
        w->err = w->err ? w->err : TALOS_ERR_TOO_LARGE;
        return;
    }
    talos_wr_str(w, fn->name);
    talos_wr_u64(w, fn->addr);
    talos_wr_u32(w, (uint32_t)fn->size);
    talos_wr_u32(w, fn->undecoded);
    talos_wr_u32(w, (uint32_t)fn->n_blocks);
    for (size_t i = 0; i < fn->n_blocks; i++)
        talos_wr_u32(w, (uint32_t)(fn->blocks[i] - fn->addr));
    talos_wr_u32(w, (uint32_t)fn->n_edges);
    for (size_t i = 0; i < fn->n_edges; i++) {
        /* Edges are sorted by source block: walk the blocks along. */
        while (b + 1 < fn->n_blocks && fn->blocks[b] < fn->edges[i].from)
            b++;
        talos_wr_u32(w, (uint32_t)b);
        talos_wr_u64(w, fn->edges[i].to);
        talos_wr_u8(w, fn->edges[i].kind);
    }
    talos_wr_u32(w, (uint32_t)fn->n_calls);
    for (size_t i = 0; i < fn->n_calls; i++) {
        const struct talos_cfg_call *c = &fn->calls[i];
        talos_wr_u32(w, (uint32_t)(c->site - fn->addr));
        talos_wr_u8(w, (uint8_t)(c->ret - c->site));
        talos_wr_u8(w, c->indirect);
        talos_wr_u64(w, c->target);
    }
    talos_wr_u32(w, (uint32_t)fn->n_ijumps);
    for (size_t i = 0; i < fn->n_ijumps; i++)
        talos_wr_u32(w, (uint32_t)(fn->ijumps[i] - fn->addr));
}

int cfg_serialize_body(const struct talos_cfg *cfg, size_t hint, uint8_t **out, size_t *len)
{
    struct talos_wr w = {0};

    *out = NULL;
    *len = 0;
    if (cfg->n_funcs > UINT32_MAX || cfg->n_ecalls > UINT32_MAX)
        return TALOS_ERR_TOO_LARGE;
    talos_wr_init(&w, TALOS_CFG_FILE_MAX - TALOS_CFG_DIGEST_BYTES);
    talos_wr_reserve(&w, hint); /* a parsed file's size: no growth on the way */
    talos_wr_raw(&w, CFG_MAGIC, 8);
    talos_wr_u16(&w, CFG_FORMAT_VERSION);
    talos_wr_u16(&w, cfg->machine);
    talos_wr_raw(&w, cfg->code_digest, TALOS_CFG_DIGEST_BYTES);
    talos_wr_u32(&w, (uint32_t)cfg->n_funcs);
    for (size_t i = 0; i < cfg->n_funcs && !w.err; i++)
        write_func(&w, &cfg->funcs[i]);
    talos_wr_u32(&w, (uint32_t)cfg->n_ecalls);
    for (size_t i = 0; i < cfg->n_ecalls; i++)
        talos_wr_u64(&w, cfg->ecalls[i]);
    if (w.err) {
        int rc = w.err;
        talos_wr_free(&w);
        return rc;
    }
    /* The buffer passes to the caller as is. */
    *out = w.p;
    *len = w.len;
    return TALOS_OK;
}

int talos_cfg_serialize(const struct talos_cfg *cfg, uint8_t **out, size_t *len)
{
    uint8_t *body = NULL, *all = NULL;
    size_t n = 0;
    int rc = cfg_serialize_body(cfg, 0, &body, &n);

    *out = NULL;
    *len = 0;
    if (rc != TALOS_OK)
        goto out;
    all = realloc(body, n + TALOS_CFG_DIGEST_BYTES);
    if (!all) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    body = NULL;
    memcpy(all + n, cfg->digest, TALOS_CFG_DIGEST_BYTES);
    *out = all;
    *len = n + TALOS_CFG_DIGEST_BYTES;
out:
    free(body);
    return rc;
}

/* Is off the start of one of the function's n blocks (sorted offsets)? */
static int is_block_start(const uint64_t *blocks, size_t n, uint64_t addr)
{
    size_t lo = cfg_bound(blocks, n, sizeof(blocks[0]), 0, addr, 0);

    return lo < n && blocks[lo] == addr;
}

/* A count followed by entries of at least `min` bytes each. */
static int read_count(struct talos_rd *r, size_t min, uint32_t *n)
{
    *n = talos_rd_u32(r);
    if (r->err || *n > talos_rd_left(r) / min)
        return TALOS_ERR_MALFORMED;
    return TALOS_OK;
}

static int read_blocks(struct talos_rd *r, struct talos_cfg *cfg, uint64_t addr, uint32_t size)
{
    uint32_t n = 0, prev = 0;
    int rc = read_count(r, MIN_BLOCK, &n);

    if (rc != TALOS_OK || n == 0)
        return TALOS_ERR_MALFORMED;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = talos_rd_u32(r);
        if (r->err || off >= size || (i == 0 && off != 0) || (i > 0 && off <= prev))
            return TALOS_ERR_MALFORMED;
        if ((rc = cfg_add_block(cfg, addr + off)) != TALOS_OK)
            return rc;
        prev = off;
    }
    return TALOS_OK;
}

static int read_edges(struct talos_rd *r, struct talos_cfg *cfg, uint64_t addr, uint32_t size,
                      const uint64_t *blocks, size_t n_blocks)
{
    uint32_t n = 0, pfrom = 0;
    uint64_t pto = 0;
    uint8_t pkind = 0;
    int rc = read_count(r, MIN_EDGE, &n);

    if (rc != TALOS_OK)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t from = talos_rd_u32(r);
        uint64_t to = talos_rd_u64(r);
        uint8_t kind = talos_rd_u8(r);
        if (r->err || from >= n_blocks || kind > TALOS_CFG_EDGE_JUMP)
            return TALOS_ERR_MALFORMED;
        /* Strictly increasing (from, to, kind): sorted, no duplicates. */
        if (i > 0 &&
            (from < pfrom || (from == pfrom && (to < pto || (to == pto && kind <= pkind)))))
            return TALOS_ERR_MALFORMED;
        if (kind == TALOS_CFG_EDGE_FALL && (from + 1 >= n_blocks || to != blocks[from + 1]))
            return TALOS_ERR_MALFORMED;
        if (kind == TALOS_CFG_EDGE_JUMP && to - addr < size &&
            !is_block_start(blocks, n_blocks, to))
            return TALOS_ERR_MALFORMED;
        if ((rc = cfg_add_edge(cfg, blocks[from], to, kind)) != TALOS_OK)
            return rc;
        pfrom = from, pto = to, pkind = kind;
    }
    return TALOS_OK;
}

static int read_calls(struct talos_rd *r, struct talos_cfg *cfg, uint64_t addr, uint32_t size,
                      const uint64_t *blocks, size_t n_blocks)
{
    uint32_t n = 0;
    uint64_t next = 0; /* lowest offset the next call may start at */
    int rc = read_count(r, MIN_CALL, &n);

    if (rc != TALOS_OK)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = talos_rd_u32(r);
        uint8_t len = talos_rd_u8(r);
        uint8_t indirect = talos_rd_u8(r);
        uint64_t target = talos_rd_u64(r);
        uint64_t ret = (uint64_t)off + len;
        if (r->err || off < next || len == 0 || len > MAX_INSN_LEN || ret > size || indirect > 1 ||
            (indirect && target != 0))
            return TALOS_ERR_MALFORMED;
        /* A call ends its block: the return address starts the next one. */
        if (ret < size && !is_block_start(blocks, n_blocks, addr + ret))
            return TALOS_ERR_MALFORMED;
        if ((rc = cfg_add_call(cfg, addr + off, addr + ret, target, indirect)) != TALOS_OK)
            return rc;
        next = ret;
    }
    return TALOS_OK;
}

static int read_ijumps(struct talos_rd *r, struct talos_cfg *cfg, uint64_t addr, uint32_t size)
{
    uint32_t n = 0, prev = 0;
    int rc = read_count(r, MIN_IJUMP, &n);

    if (rc != TALOS_OK)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = talos_rd_u32(r);
        if (r->err || off >= size || (i > 0 && off <= prev))
            return TALOS_ERR_MALFORMED;
        if ((rc = cfg_add_ijump(cfg, addr + off)) != TALOS_OK)
            return rc;
        prev = off;
    }
    return TALOS_OK;
}

static int name_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || n > TALOS_CFG_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] >= 0x7f)
            return 0;
    return 1;
}

static int read_func(struct talos_rd *r, struct talos_cfg *cfg, uint64_t *end)
{
    size_t name_len = 0;
    const uint8_t *name = talos_rd_bytes(r, &name_len, TALOS_CFG_NAME_MAX);
    uint64_t addr = talos_rd_u64(r);
    uint32_t size = talos_rd_u32(r);
    uint32_t undecoded = talos_rd_u32(r);
    const struct cfg_func_off *off = NULL;
    int rc = TALOS_OK;

    /* Functions are sorted and disjoint: each starts at or after the end
     * of the one before (*end). */
    if (r->err || !name_ok(name, name_len) || size == 0 || addr < *end ||
        addr > UINT64_MAX - size || undecoded > size)
        return TALOS_ERR_MALFORMED;
    if ((rc = cfg_func_begin(cfg, (const char *)name, name_len, addr, size)) != TALOS_OK)
        return rc;
    cfg->funcs[cfg->n_funcs - 1].undecoded = undecoded;
    off = &cfg->offs[cfg->n_funcs - 1];
    if ((rc = read_blocks(r, cfg, addr, size)) != TALOS_OK)
        return rc;
    /* The function's blocks are complete: later reads only use them. */
    const uint64_t *blocks = cfg->blocks + off->block0;
    size_t n_blocks = cfg->n_blocks - off->block0;
    if ((rc = read_edges(r, cfg, addr, size, blocks, n_blocks)) != TALOS_OK)
        return rc;
    if ((rc = read_calls(r, cfg, addr, size, blocks, n_blocks)) != TALOS_OK)
        return rc;
    if ((rc = read_ijumps(r, cfg, addr, size)) != TALOS_OK)
        return rc;
    *end = addr + size;
    return TALOS_OK;
}

int talos_cfg_parse(const void *p, size_t len, struct talos_cfg **out)
{
    const uint8_t *bytes = p;
    struct talos_cfg *cfg = NULL;
    struct talos_rd r = {0};
    uint8_t want[TALOS_CFG_DIGEST_BYTES] = {0};
    uint8_t magic[8] = {0};
    uint64_t end = 0, prev_ecall = 0;
    uint32_t n_funcs = 0, n_ecalls = 0;
    uint16_t version = 0, machine = 0;
    size_t body_len = 0;
    int rc = TALOS_ERR_MALFORMED;

    *out = NULL;
    if (len > TALOS_CFG_FILE_MAX)
        return TALOS_ERR_TOO_LARGE;
    if (!p || len < HEADER_LEN + 4 + TALOS_CFG_DIGEST_BYTES)
        return TALOS_ERR_MALFORMED;
    /* The trailer catches accidental damage before any field is read; it
     * proves nothing about who wrote the file (the digest does, once
     * compared with an expected one). */
    body_len = len - TALOS_CFG_DIGEST_BYTES;
    talos_sha256(bytes, body_len, want);
    if (!talos_ct_eq(want, bytes + body_len, TALOS_CFG_DIGEST_BYTES))
        return TALOS_ERR_MALFORMED;
    talos_rd_init(&r, bytes, body_len);
    talos_rd_raw(&r, magic, sizeof(magic));
    version = talos_rd_u16(&r);
    machine = talos_rd_u16(&r);
    if (r.err || memcmp(magic, CFG_MAGIC, 8) != 0 || version != CFG_FORMAT_VERSION ||
        strcmp(talos_cfg_machine_name(machine), "unknown") == 0)
        goto out;
    if ((rc = cfg_new(machine, &cfg)) != TALOS_OK)
        goto out;
    rc = TALOS_ERR_MALFORMED;
    talos_rd_raw(&r, cfg->code_digest, TALOS_CFG_DIGEST_BYTES);
    if (read_count(&r, MIN_FUNC, &n_funcs) != TALOS_OK)
        goto out;
    for (uint32_t i = 0; i < n_funcs; i++)
        if ((rc = read_func(&r, cfg, &end)) != TALOS_OK)
            goto out;
    rc = TALOS_ERR_MALFORMED;
    if (read_count(&r, MIN_ECALL, &n_ecalls) != TALOS_OK)
        goto out;
    for (uint32_t i = 0; i < n_ecalls; i++) {
        uint64_t a = talos_rd_u64(&r);
        if (r.err || (i > 0 && a <= prev_ecall) || cfg_func_index(cfg, a) == TALOS_CFG_NO_FUNC)
            goto out;
        if ((rc = cfg_add_ecall(cfg, a)) != TALOS_OK)
            goto out;
        rc = TALOS_ERR_MALFORMED;
        prev_ecall = a;
    }
    if (talos_rd_finish(&r) != TALOS_OK)
        goto out;
    /* Canonical: what we parsed serializes back to the very same body. */
    rc = cfg_finalize_canonical(cfg, bytes, body_len, want);
out:
    if (rc != TALOS_OK) {
        talos_cfg_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return rc;
}
