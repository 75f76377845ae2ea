/* Inside the CFG model (core/cfg) and its tools (tools/cfg): the model's
 * storage, and the builder both the extractor and the parser fill it
 * through. */
#ifndef TALOS_CORE_CFG_INTERNAL_H
#define TALOS_CORE_CFG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/cfg/cfg.h"

/* Where one function's entries start in the shared arrays. Pointers are
 * only set by cfg_finalize: the arrays move while they grow. */
struct cfg_func_off {
    size_t name, block0, edge0, call0, ijump0;
};

struct cfg_mp {
    uint64_t addr;
    unsigned kinds; /* TALOS_CFG_MP_* */
};

struct talos_cfg {
    uint16_t machine;
    uint8_t code_digest[TALOS_CFG_DIGEST_BYTES];
    uint8_t digest[TALOS_CFG_DIGEST_BYTES]; /* set by cfg_finalize */

    struct talos_cfg_func *funcs;
    struct cfg_func_off *offs; /* parallel to funcs */
    size_t n_funcs, cap_funcs, cap_offs;

    char *names; /* NUL-terminated names, back to back */
    size_t n_names, cap_names;
    uint64_t *blocks;
    size_t n_blocks, cap_blocks;
    struct talos_cfg_edge *edges;
    size_t n_edges, cap_edges;
    /* All call sites, function after function: sorted by site and, as the
     * sites do not overlap, by return address too. */
    struct talos_cfg_call *calls;
    size_t n_calls, cap_calls;
    uint64_t *ijumps;
    size_t n_ijumps, cap_ijumps;
    uint64_t *ecalls; /* sorted ecall handler entries */
    size_t n_ecalls, cap_ecalls;

    struct cfg_mp *mps; /* sorted by addr; set by cfg_finalize */
    size_t n_mps;
};

/* --- builder (model.c) ---------------------------------------------------------
 * Functions are added in address order, each followed by its blocks, edges,
 * calls and indirect jumps in sorted order; the callers guarantee the
 * order (the parser checks it, the extractor produces it). */
int cfg_new(uint16_t machine, struct talos_cfg **out);
/* Starts a function; name is name_len bytes, not NUL-terminated. */
int cfg_func_begin(struct talos_cfg *cfg, const char *name, size_t name_len, uint64_t addr,
                   uint64_t size);
/* The following append to the function begun last. */
int cfg_add_block(struct talos_cfg *cfg, uint64_t addr);
int cfg_add_edge(struct talos_cfg *cfg, uint64_t from, uint64_t to, uint8_t kind);
int cfg_add_call(struct talos_cfg *cfg, uint64_t site, uint64_t ret, uint64_t target,
                 uint8_t indirect);
int cfg_add_ijump(struct talos_cfg *cfg, uint64_t addr);
int cfg_add_ecall(struct talos_cfg *cfg, uint64_t addr);
/* Index of the function starting exactly at addr, or TALOS_CFG_NO_FUNC
 * (binary search: valid once all functions are added). */
uint32_t cfg_func_index(const struct talos_cfg *cfg, uint64_t addr);

/* Binary search over n elements `stride` bytes apart, sorted by the u64 at
 * byte key_off of each: how many have a key below `key` (with `upper`: at
 * or below it). CFG_BOUND names the array, its element type and key field. */
size_t cfg_bound(const void *base, size_t n, size_t stride, size_t key_off, uint64_t key,
                 int upper);
#define CFG_BOUND(arr, n, type, field, key, upper)                                         \
    cfg_bound(arr, n, sizeof(type), offsetof(type, field), key, upper)
/* Sets the public pointers, resolves callees, derives counts and migration
 * points, and computes the digest. Once, after the last add. */
int cfg_finalize(struct talos_cfg *cfg);
/* The same for a parsed file: its body must be exactly the model's
 * serialization (TALOS_ERR_MALFORMED otherwise), and its SHA-256, digest,
 * becomes the CFG's digest without hashing the body a second time. */
int cfg_finalize_canonical(struct talos_cfg *cfg, const uint8_t *body, size_t len,
                           const uint8_t digest[TALOS_CFG_DIGEST_BYTES]);

/* --- serialization (serial.c) ------------------------------------------------ */

#define CFG_MAGIC "TALOSCFG"
#define CFG_FORMAT_VERSION 1

/* Serialize without the trailer into *out and *len (malloc'd). */
int cfg_serialize_body(const struct talos_cfg *cfg, size_t hint, uint8_t **out, size_t *len);

#endif
