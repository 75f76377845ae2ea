/* The control-flow graph (CFG) of a TA image: functions, basic blocks,
 * direct jump edges, call sites and migration points, with one canonical
 * serialization (a "CFG file") whose SHA-256 is the CFG's digest.
 *
 * This is the model (model.c, serial.c, check.c): plain C over core/ (wire
 * codec, SHA-256) — parse a CFG file, look up call sites and migration
 * points, check a migrated thread's context. It is trusted code, linked
 * into every TA image: a migration target loads its CFG with it to check
 * thread contexts (ta/flow.c). Building a model from an ELF image (libelf,
 * Capstone) and printing it (jansson) are tools/cfg/cfg.h's, which no TA
 * links. docs/cfg.md describes the model and the file format.
 *
 * All addresses are virtual addresses of the image as linked (TA images are
 * non-PIE). Every function returns TALOS_OK or a negative talos_err.
 */
#ifndef TALOS_CORE_CFG_H
#define TALOS_CORE_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "talos/common.h"

/* Longest function name kept (bytes); longer symbol names are cut. */
#define TALOS_CFG_NAME_MAX 1024
/* Largest CFG file the parser accepts, and the serializer produces. */
#define TALOS_CFG_FILE_MAX (64u << 20)
/* A call to this function is a migration point: the thread resumes at the
 * instruction after the call. */
#define TALOS_CFG_MP_CALLEE "talos_migration_point"
/* Room for a callee name made up for a target without a symbol: "0x" and
 * 16 hex digits. */
#define TALOS_CFG_SYNTH_NAME_BYTES 19

struct talos_cfg;

enum talos_cfg_edge_kind {
    TALOS_CFG_EDGE_FALL = 0, /* fall-through to the next block (also after a call) */
    TALOS_CFG_EDGE_JUMP = 1, /* direct jump, or the taken side of a conditional one */
};

/* An edge between blocks. `from` is the start of a block of the function;
 * `to` is the start of a block of the same function, or, for a jump that
 * leaves the function (a tail call), any address. */
struct talos_cfg_edge {
    uint64_t from;
    uint64_t to;
    uint8_t kind; /* enum talos_cfg_edge_kind */
};

#define TALOS_CFG_NO_FUNC UINT32_MAX

/* A call instruction at `site`; `ret` = site + its length is the return
 * address pushed by the call, and always the start of a block (or the end
 * of the function). */
struct talos_cfg_call {
    uint64_t site;
    uint64_t ret;
    uint64_t target;  /* direct target; 0 when indirect */
    uint32_t callee;  /* index of the function starting at target, or TALOS_CFG_NO_FUNC */
    uint8_t indirect; /* 1: through a register or memory, target unknown */
};

/* One function, from a symbol of the image. Arrays are sorted by address
 * and owned by the model. */
struct talos_cfg_func {
    const char *name; /* printable ASCII; other bytes of the symbol name became '?' */
    uint64_t addr;
    uint64_t size;
    /* Block starts, strictly increasing; blocks[0] == addr. Block i spans
     * [blocks[i], blocks[i+1]) and the last one ends at addr + size. */
    const uint64_t *blocks;
    size_t n_blocks;
    const struct talos_cfg_edge *edges; /* sorted by (from, to, kind) */
    size_t n_edges;
    const struct talos_cfg_call *calls; /* sorted by site */
    size_t n_calls;
    const uint64_t *ijumps; /* indirect jump sites (switch tables, tail calls through pointers) */
    size_t n_ijumps;
    uint32_t undecoded; /* bytes the disassembler could not decode (skipped one by one) */
    /* Derived when the model is built or parsed (not serialized): */
    size_t n_indirect_calls;
    size_t n_migration_points; /* calls to TALOS_CFG_MP_CALLEE */
};

/* Totals over the whole model. */
struct talos_cfg_stats {
    size_t functions, blocks, jump_edges, fall_edges;
    size_t direct_calls, indirect_calls, indirect_jumps;
    size_t migration_points, ecall_entries, undecoded_bytes;
};

/* Parse a CFG file (the output of talos_cfg_serialize). The bytes are
 * hostile: every count, offset, order and cross-reference is checked, and
 * the file must be canonical (serializing the result gives back the same
 * bytes). TALOS_ERR_MALFORMED for anything that is not a valid CFG file,
 * TALOS_ERR_TOO_LARGE when len > TALOS_CFG_FILE_MAX, TALOS_ERR_NOMEM.
 * The input is not kept. */
int talos_cfg_parse(const void *p, size_t len, struct talos_cfg **out)
    __attribute__((warn_unused_result));

/* Accepts NULL. */
void talos_cfg_free(struct talos_cfg *cfg);

/* The canonical serialization into a malloc'd buffer (*out, *len; the
 * caller frees it). Identical models give identical bytes. */
int talos_cfg_serialize(const struct talos_cfg *cfg, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));

/* SHA-256 of the canonical serialization (without its trailer): the CFG's
 * identity. */
void talos_cfg_digest(const struct talos_cfg *cfg, uint8_t out[TALOS_CFG_DIGEST_BYTES]);

/* SHA-256 over the bytes of every function body, in address order: binds
 * the CFG to the code it describes. A TA can recompute it over its own
 * mapped code. */
void talos_cfg_code_digest(const struct talos_cfg *cfg, uint8_t out[TALOS_CFG_DIGEST_BYTES]);

/* ELF e_machine of the image (EM_X86_64 = 62), and its name ("x86-64",
 * "aarch64", "riscv64"; "unknown" otherwise). */
uint16_t talos_cfg_machine(const struct talos_cfg *cfg);
const char *talos_cfg_machine_name(uint16_t machine);

void talos_cfg_stats(const struct talos_cfg *cfg, struct talos_cfg_stats *out);

/* Functions, sorted by address, disjoint. talos_cfg_func returns NULL when
 * i >= talos_cfg_n_funcs(cfg). */
size_t talos_cfg_n_funcs(const struct talos_cfg *cfg);
const struct talos_cfg_func *talos_cfg_func(const struct talos_cfg *cfg, size_t i);

/* The function whose [addr, addr + size) holds addr, or NULL. */
const struct talos_cfg_func *talos_cfg_func_at(const struct talos_cfg *cfg, uint64_t addr);

/* The first function named `name` at or after index *from (NULL: from 0),
 * or NULL; *from is set past the match, to iterate over same-named local
 * functions. */
const struct talos_cfg_func *talos_cfg_func_named(const struct talos_cfg *cfg, const char *name,
                                                  size_t *from);

/* Name of a call's callee: the function's name; for a direct call to an
 * address that starts no function (a PLT slot, the middle of a function),
 * "0x" and the target in hex, written into buf; "indirect" for an
 * indirect call. Never NULL. */
const char *talos_cfg_callee_name(const struct talos_cfg *cfg, const struct talos_cfg_call *call,
                                  char buf[TALOS_CFG_SYNTH_NAME_BYTES]);

/* Is `ret` a return address, i.e. the instruction right after a call? On
 * success *call is that call site: call->indirect says the callee is
 * unknown, else call->callee / call->target name it. TALOS_ERR_NOT_FOUND
 * otherwise. */
int talos_cfg_call_for_return(const struct talos_cfg *cfg, uint64_t ret,
                              const struct talos_cfg_call **call)
    __attribute__((warn_unused_result));

/* Kinds of migration points, as bits: an address may be both. */
#define TALOS_CFG_MP_CALL 1u  /* right after a call to TALOS_CFG_MP_CALLEE */
#define TALOS_CFG_MP_ECALL 2u /* the entry of an ecall handler (a call boundary) */

/* Where may a thread resume? The TALOS_CFG_MP_* bits of addr; 0 when it is
 * no migration point. */
unsigned talos_cfg_migration_point(const struct talos_cfg *cfg, uint64_t addr);

/* Ecall handler entries found in the image's TA descriptor (talos_ta_desc),
 * sorted; none for an image without one. */
size_t talos_cfg_n_ecall_entries(const struct talos_cfg *cfg);
uint64_t talos_cfg_ecall_entry(const struct talos_cfg *cfg, size_t i);

/* The runtime entry function: the outermost frame of a migrated thread. */
#define TALOS_CFG_ENTRY "main"

/* A migrated thread's context (docs/cfg.md, "Execution-flow checks"):
 * where it resumes, and the return addresses of its stack frames, innermost
 * first, up to the runtime entry: ret[0] returns into the caller of the
 * function holding `resume`, ret[n_ret - 1] into TALOS_CFG_ENTRY. */
struct talos_cfg_thread {
    uint64_t resume;
    const uint64_t *ret;
    size_t n_ret;
};

/* Check a thread context against the CFG. TALOS_OK when: resume is a
 * migration point; every address lies in a function the disassembler
 * decoded completely (undecoded == 0); each ret[i] is the return address of
 * a call site whose callee is the function of the frame below (an indirect
 * call's callee is unknown and accepted); and the outermost frame is in
 * TALOS_CFG_ENTRY. TALOS_ERR_CFG otherwise, with one line in why (cap
 * bytes, NUL-terminated; may be NULL). TALOS_ERR_INVALID_ARG for NULLs. */
int talos_cfg_check_thread(const struct talos_cfg *cfg, const struct talos_cfg_thread *t,
                           char *why, size_t cap) __attribute__((warn_unused_result));

#endif
