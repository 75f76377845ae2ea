/* Inside tools/cfg: the per-machine disassembler back ends and the graph
 * builder the extractor drives, over the model's builder (core/cfg/internal.h). */
#ifndef TALOS_TOOLS_CFG_INTERNAL_H
#define TALOS_TOOLS_CFG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/cfg/internal.h"
#include "tools/cfg/cfg.h"

/* --- disassembler back ends (arch_x86.c, ...) --------------------------------------- */

enum cfg_insn_kind {
    CFG_I_PLAIN = 0, /* falls through to the next instruction */
    CFG_I_JUMP,      /* unconditional direct jump */
    CFG_I_CJUMP,     /* conditional direct jump */
    CFG_I_IJUMP,     /* indirect jump */
    CFG_I_CALL,      /* direct call */
    CFG_I_ICALL,     /* indirect call */
    CFG_I_RET,       /* return */
    CFG_I_STOP,      /* never falls through (trap, halt) */
    CFG_I_BAD,       /* one byte the back end could not decode; falls through */
};

struct cfg_insn {
    uint64_t addr;
    uint64_t target; /* CFG_I_JUMP, CFG_I_CJUMP, CFG_I_CALL */
    uint8_t len;
    uint8_t kind; /* enum cfg_insn_kind */
};

struct cfg_insns {
    struct cfg_insn *v;
    size_t n, cap;
};

/* Append one instruction (grows the vector). */
int cfg_insns_push(struct cfg_insns *v, const struct cfg_insn *in);

struct cfg_arch {
    uint16_t machine; /* ELF e_machine */
    /* A decoder instance; msg gets one line on failure. */
    int (*open)(void **dis, char *msg, size_t msg_cap);
    void (*close)(void *dis);
    /* Decode [code, code + size) loaded at addr, linearly, into out
     * (appended). Undecodable bytes become CFG_I_BAD, one byte each, and
     * decoding goes on after them: every byte belongs to one entry. */
    int (*decode)(void *dis, const uint8_t *code, size_t size, uint64_t addr,
                  struct cfg_insns *out);
};

extern const struct cfg_arch cfg_arch_x86_64;

/* --- graph (graph.c) ----------------------------------------------------------- */

/* Add the function [addr, addr + size) named name (name_len bytes) whose
 * instructions are insns: blocks, edges, calls, indirect jumps.
 * scratch is a reusable buffer of the caller's (freed by it). */
int cfg_add_function(struct talos_cfg *cfg, const char *name, size_t name_len, uint64_t addr,
                     uint64_t size, const struct cfg_insns *insns, uint64_t **scratch,
                     size_t *scratch_cap);

#endif
