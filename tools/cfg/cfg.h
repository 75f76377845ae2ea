/* The CFG tools (tools/cfg): build a TA image's CFG from its ELF file
 * (extract.c + arch_*.c: libelf, and Capstone, of which tools/cfg is the
 * only user) and print it as JSON (json.c, jansson). Untrusted tooling:
 * linked into the CLI, the node (the sim platform computes each image's
 * CFG digest) and the tests, never into a TA. The model they fill and
 * print is core/cfg/cfg.h's. */
#ifndef TALOS_TOOLS_CFG_H
#define TALOS_TOOLS_CFG_H

#include <stddef.h>
#include <stdio.h>

#include "core/cfg/cfg.h"

/* Build the CFG of the ELF image at `path`. On success *out owns a model
 * (free with talos_cfg_free). On failure *out is NULL, and when msg is not
 * NULL it receives one line saying what is wrong (msg_cap bytes, always
 * NUL-terminated):
 *   TALOS_ERR_IO               the file cannot be opened or read
 *   TALOS_ERR_IMAGE            not an ELF executable, no symbol table, a
 *                              symbol or section outside the file
 *   TALOS_ERR_NOT_IMPLEMENTED  a machine without a disassembler back end
 *                              here (x86-64 only for now), or 32-bit ELF
 *   TALOS_ERR_TOO_LARGE        the CFG would not fit TALOS_CFG_FILE_MAX
 *   TALOS_ERR_NOMEM
 * Functions come from STT_FUNC/STT_GNU_IFUNC symbols of non-zero size in
 * executable sections; aliases (same address) become one function. */
int talos_cfg_build(const char *path, struct talos_cfg **out, char *msg, size_t msg_cap)
    __attribute__((warn_unused_result));

/* The rules of extraction as this build applies them: bump
 * TALOS_CFG_EXTRACTOR_VERSION with any change to tools/cfg that gives
 * another CFG for the same image. A CFG kept from an earlier extraction
 * (the sim platform's state dir, D43) is used only under the same tag. */
#define TALOS_CFG_EXTRACTOR_VERSION 1

/* "talos-cfg/<TALOS_CFG_EXTRACTOR_VERSION> capstone/<major>.<minor>" into
 * out (cap bytes, NUL-terminated, truncated; TALOS_CFG_EXTRACTOR_TAG_BYTES
 * is enough): the disassembler's version is part of it, as another
 * Capstone may decode some bytes differently. */
#define TALOS_CFG_EXTRACTOR_TAG_BYTES 64
void talos_cfg_extractor_tag(char *out, size_t cap);

/* JSON: the whole model on f, streamed one function at a time:
 * {"digest", "code_digest", "machine", "counts", "ecall_entries",
 *  "functions": [{"name", "addr", "size", "blocks", "edges", "calls",
 *  "call_sites", "indirect_calls", "indirect_jumps", "migration_points",
 *  "undecoded_bytes"}]}. Addresses are JSON integers. TALOS_ERR_IO when
 * writing fails. */
int talos_cfg_write_json(const struct talos_cfg *cfg, FILE *f) __attribute__((warn_unused_result));

/* One function's JSON object (the shape of an element of "functions"),
 * followed by a newline. TALOS_ERR_IO when writing fails. */
int talos_cfg_write_func_json(const struct talos_cfg *cfg, const struct talos_cfg_func *fn, FILE *f)
    __attribute__((warn_unused_result));

#endif
