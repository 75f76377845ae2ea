/* x86-64 back end over Capstone: classify each instruction as graph.c
 * needs it. Another machine adds a file like this one and a row in
 * extract.c's table of back ends; nothing else changes. */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>

#include "talos/err.h"
#include "tools/cfg/internal.h"

struct x86_dis {
    csh h;
    cs_insn *insn;
};

static int x86_open(void **dis, char *msg, size_t msg_cap)
{
    struct x86_dis *d = calloc(1, sizeof(*d));
    cs_err e = CS_ERR_OK;
    int rc = TALOS_ERR_NOMEM;

    *dis = NULL;
    if (!d)
        goto out;
    e = cs_open(CS_ARCH_X86, CS_MODE_64, &d->h);
    if (e != CS_ERR_OK) {
        rc = e == CS_ERR_MEM ? TALOS_ERR_NOMEM : TALOS_ERR_NOT_IMPLEMENTED;
        snprintf(msg, msg_cap, "capstone cannot disassemble x86-64: %s", cs_strerror(e));
        free(d);
        d = NULL;
        goto out;
    }
    /* Groups and operands (jump targets) live in the detail. */
    e = cs_option(d->h, CS_OPT_DETAIL, CS_OPT_ON);
    if (e == CS_ERR_OK)
        d->insn = cs_malloc(d->h);
    if (e != CS_ERR_OK || !d->insn) {
        rc = e == CS_ERR_OK ? TALOS_ERR_NOMEM : TALOS_ERR_NOT_IMPLEMENTED;
        snprintf(msg, msg_cap, "capstone: cannot enable instruction detail: %s", cs_strerror(e));
        cs_close(&d->h);
        free(d);
        d = NULL;
        goto out;
    }
    *dis = d;
    rc = TALOS_OK;
out:
    return rc;
}

static void x86_close(void *dis)
{
    struct x86_dis *d = dis;

    if (!d)
        return;
    cs_free(d->insn, 1);
    cs_close(&d->h);
    free(d);
}

static int in_group(const cs_detail *det, uint8_t g)
{
    for (uint8_t i = 0; i < det->groups_count; i++)
        if (det->groups[i] == g)
            return 1;
    return 0;
}

/* The single immediate operand of a near jump or call, if it has one. */
static int direct_target(const cs_insn *insn, uint64_t *target)
{
    const cs_x86 *x = &insn->detail->x86;

    if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
        return 0;
    *target = (uint64_t)x->operands[0].imm;
    return 1;
}

static void classify(const cs_insn *insn, struct cfg_insn *out)
{
    const cs_detail *det = insn->detail;
    uint64_t t = 0;

    out->kind = CFG_I_PLAIN;
    out->target = 0;
    if (in_group(det, CS_GRP_CALL)) {
        /* Far calls (lcall) leave the address space's flat model: treat
         * them as indirect. */
        if (insn->id != X86_INS_LCALL && direct_target(insn, &t)) {
            out->kind = CFG_I_CALL;
            out->target = t;
        } else {
            out->kind = CFG_I_ICALL;
        }
    } else if (in_group(det, CS_GRP_JUMP)) {
        int uncond = insn->id == X86_INS_JMP || insn->id == X86_INS_LJMP;
        if (insn->id != X86_INS_LJMP && direct_target(insn, &t)) {
            out->kind = uncond ? CFG_I_JUMP : CFG_I_CJUMP;
            out->target = t;
        } else {
            out->kind = CFG_I_IJUMP;
        }
    } else if (in_group(det, CS_GRP_RET) || in_group(det, CS_GRP_IRET)) {
        out->kind = CFG_I_RET;
    } else if (insn->id == X86_INS_UD2 || insn->id == X86_INS_UD2B || insn->id == X86_INS_UD0 ||
               insn->id == X86_INS_HLT) {
        out->kind = CFG_I_STOP;
    }
}

static int x86_decode(void *dis, const uint8_t *code, size_t size, uint64_t addr,
                      struct cfg_insns *out)
{
    struct x86_dis *d = dis;
    int rc = TALOS_OK;

    while (size > 0) {
        struct cfg_insn ci = {.addr = addr};
        /* cs_disasm_iter advances code/size/addr past a decoded insn. */
        if (cs_disasm_iter(d->h, &code, &size, &addr, d->insn)) {
            ci.len = (uint8_t)d->insn->size;
            classify(d->insn, &ci);
        } else {
            ci.len = 1;
            ci.kind = CFG_I_BAD;
            code++;
            size--;
            addr++;
        }
        if ((rc = cfg_insns_push(out, &ci)) != TALOS_OK)
            break;
    }
    return rc;
}

const struct cfg_arch cfg_arch_x86_64 = {
    .machine = 62, /* EM_X86_64 */
    .open = x86_open,
    .close = x86_close,
    .decode = x86_decode,
};
