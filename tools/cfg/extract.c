/* talos_cfg_build: ELF image -> CFG model. libelf finds the functions
 * (symbol table) and their bytes; a per-machine back end decodes them;
 * graph.c turns instructions into blocks and edges. */
#include <capstone/capstone.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/reason.h"
#include "talos/err.h"
#include "talos/ta.h"
#include "tools/cfg/internal.h"

/* Back ends by ELF machine. AArch64 and RISC-V add a row here. */
static const struct cfg_arch *const arches[] = {
    &cfg_arch_x86_64,
};

/* The ecall table is read with the layout of this build's talos/ta.h:
 * right for every LP64 machine TALOS targets. */
_Static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8, "TA images are LP64");
#define MAX_ECALLS 4096
#define TA_DESC_SYMBOL "talos_ta_desc"

struct section {
    GElf_Shdr sh;
    const uint8_t *data; /* SHF_ALLOC + SHT_PROGBITS sections only, else NULL */
};

struct sym {
    uint64_t addr, size;
    const char *name; /* NULL: the symbol has no name */
    size_t scn;
    int rank; /* among aliases at one address, the lowest rank names the function */
};

struct image {
    Elf *elf;
    size_t shnum;
    struct section *scns;
    struct sym *syms;
    size_t n_syms;
    uint64_t desc_addr; /* talos_ta_desc, 0 when absent */
};

static const struct cfg_arch *arch_find(uint16_t machine)
{
    for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
        if (arches[i]->machine == machine)
            return arches[i];
    return NULL;
}

static int load_sections(struct image *im, char *msg, size_t cap)
{
    if (elf_getshdrnum(im->elf, &im->shnum) != 0)
        return talos_reason(TALOS_ERR_IMAGE, msg, cap, "bad section headers: %s", elf_errmsg(-1));
    im->scns = calloc(im->shnum ? im->shnum : 1, sizeof(*im->scns));
    if (!im->scns)
        return TALOS_ERR_NOMEM;
    for (size_t i = 1; i < im->shnum; i++) {
        Elf_Scn *scn = elf_getscn(im->elf, i);
        Elf_Data *d = NULL;
        if (!scn || !gelf_getshdr(scn, &im->scns[i].sh))
            return talos_reason(TALOS_ERR_IMAGE, msg, cap, "bad section header %zu", i);
        if (!(im->scns[i].sh.sh_flags & SHF_ALLOC) || im->scns[i].sh.sh_type != SHT_PROGBITS ||
            im->scns[i].sh.sh_size == 0)
            continue;
        /* libelf refuses a section that reaches past the end of the file. */
        d = elf_getdata(scn, NULL);
        if (!d || !d->d_buf || d->d_size != im->scns[i].sh.sh_size)
            return talos_reason(TALOS_ERR_IMAGE, msg, cap, "section %zu lies outside the file", i);
        im->scns[i].data = d->d_buf;
    }
    return TALOS_OK;
}

static int sym_rank(const char *name, unsigned char bind)
{
    if (name && strcmp(name, TALOS_CFG_MP_CALLEE) == 0)
        return 0; /* migration points are recognized by this name */
    return bind == STB_GLOBAL ? 1 : bind == STB_WEAK ? 2 : 3;
}

static int add_sym(struct image *im, size_t *cap, const GElf_Sym *s, const char *name)
{
    const struct section *sc = &im->scns[s->st_shndx];
    uint64_t off = s->st_value - sc->sh.sh_addr;

    if (!sc->data || !(sc->sh.sh_flags & SHF_EXECINSTR))
        return TALOS_OK; /* not code this image holds */
    if (s->st_value < sc->sh.sh_addr || off > sc->sh.sh_size || s->st_size > sc->sh.sh_size - off)
        return TALOS_ERR_IMAGE;
    if (im->n_syms == *cap) {
        size_t ncap = *cap ? *cap * 2 : 1024;
        struct sym *np = realloc(im->syms, ncap * sizeof(*np));
        if (!np)
            return TALOS_ERR_NOMEM;
        im->syms = np;
        *cap = ncap;
    }
    im->syms[im->n_syms++] = (struct sym){
        .addr = s->st_value,
        .size = s->st_size,
        .name = name && name[0] ? name : NULL,
        .scn = s->st_shndx,
        .rank = sym_rank(name, GELF_ST_BIND(s->st_info)),
    };
    return TALOS_OK;
}

static int load_symbols(struct image *im, char *msg, size_t cap)
{
    size_t sym_cap = 0, symtab = 0, n = 0;
    Elf_Data *d = NULL;

    for (size_t i = 1; i < im->shnum && !symtab; i++)
        if (im->scns[i].sh.sh_type == SHT_SYMTAB)
            symtab = i;
    if (!symtab)
        return talos_reason(TALOS_ERR_IMAGE, msg, cap, "no symbol table (stripped image?)");
    d = elf_getdata(elf_getscn(im->elf, symtab), NULL);
    if (!d)
        return talos_reason(TALOS_ERR_IMAGE, msg, cap, "unreadable symbol table: %s",
                            elf_errmsg(-1));
    n = d->d_size / sizeof(Elf64_Sym);
    if (n > INT_MAX) /* gelf_getsym takes an int index */
        return talos_reason(TALOS_ERR_IMAGE, msg, cap, "symbol table of %zu entries", n);
    for (int i = 0; (size_t)i < n; i++) {
        GElf_Sym s = {0};
        const char *name = NULL;
        int type = 0, rc = TALOS_OK;
        if (!gelf_getsym(d, i, &s))
            return talos_reason(TALOS_ERR_IMAGE, msg, cap, "bad symbol %d", i);
        type = GELF_ST_TYPE(s.st_info);
        name = elf_strptr(im->elf, im->scns[symtab].sh.sh_link, s.st_name);
        if (type == STT_OBJECT && name && strcmp(name, TA_DESC_SYMBOL) == 0 &&
            s.st_size >= sizeof(struct talos_ta_desc))
            im->desc_addr = s.st_value;
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_size == 0 ||
            s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE || s.st_shndx >= im->shnum)
            continue;
        if ((rc = add_sym(im, &sym_cap, &s, name)) == TALOS_ERR_IMAGE)
            return talos_reason(rc, msg, cap, "function %s at 0x%llx lies outside its section",
                                name ? name : "?", (unsigned long long)s.st_value);
        if (rc != TALOS_OK)
            return rc;
    }
    return TALOS_OK;
}

/* Address, then which alias names the function: a total order, so the
 * result does not depend on the symbol table's order. */
static int cmp_sym(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    int c = 0;

    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    if (!x->name || !y->name)
        return !x->name - !y->name;
    /* "free" rather than "__free" or "__libc_free". */
    if ((c = (int)strspn(x->name, "_") - (int)strspn(y->name, "_")) != 0)
        return c;
    if ((c = strcmp(x->name, y->name)) != 0)
        return c;
    return (x->size < y->size) - (x->size > y->size);
}

/* Copy n bytes at virtual address va out of the loaded sections. */
static int read_va(const struct image *im, uint64_t va, void *dst, size_t n)
{
    for (size_t i = 1; i < im->shnum; i++) {
        const struct section *sc = &im->scns[i];
        uint64_t off = va - sc->sh.sh_addr;
        if (sc->data && va >= sc->sh.sh_addr && off < sc->sh.sh_size && n <= sc->sh.sh_size - off) {
            memcpy(dst, sc->data + off, n);
            return 1;
        }
    }
    return 0;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Ecall handlers from the TA descriptor: each is entered at a call
 * boundary. An image without a readable descriptor has none. */
static int add_ecalls(const struct image *im, struct talos_cfg *cfg)
{
    uint8_t desc[sizeof(struct talos_ta_desc)] = {0};
    uint8_t row[sizeof(struct talos_ecall)] = {0};
    uint64_t *fns = NULL, table = 0, n = 0;
    size_t k = 0;
    int rc = TALOS_OK;

    if (!im->desc_addr || !read_va(im, im->desc_addr, desc, sizeof(desc)))
        return TALOS_OK;
    table = le64(desc + offsetof(struct talos_ta_desc, ecalls));
    n = le64(desc + offsetof(struct talos_ta_desc, n_ecalls));
    if (n == 0 || n > MAX_ECALLS)
        return TALOS_OK;
    fns = calloc(n, sizeof(*fns));
    if (!fns)
        return TALOS_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        if (!read_va(im, table + i * sizeof(row), row, sizeof(row)))
            goto out;
        uint64_t fn = le64(row + offsetof(struct talos_ecall, fn));
        if (cfg_func_index(cfg, fn) != TALOS_CFG_NO_FUNC)
            fns[k++] = fn;
    }
    qsort(fns, k, sizeof(*fns), cmp_u64);
    for (size_t i = 0; i < k && rc == TALOS_OK; i++)
        if (i == 0 || fns[i] != fns[i - 1])
            rc = cfg_add_ecall(cfg, fns[i]);
out:
    free(fns);
    return rc;
}

static int add_functions(struct image *im, const struct cfg_arch *arch, struct talos_cfg *cfg,
                         char *msg, size_t cap)
{
    struct cfg_insns insns = {0};
    struct talos_sha256_ctx *sha = NULL;
    uint64_t *scratch = NULL, end = 0;
    size_t scratch_cap = 0;
    void *dis = NULL;
    int rc = arch->open(&dis, msg, cap);

    if (rc != TALOS_OK)
        goto out;
    if ((rc = talos_sha256_begin(&sha)) != TALOS_OK)
        goto out;
    qsort(im->syms, im->n_syms, sizeof(*im->syms), cmp_sym);
    for (size_t i = 0; i < im->n_syms; i++) {
        const struct sym *s = &im->syms[i];
        const struct section *sc = &im->scns[s->scn];
        const uint8_t *code = sc->data + (s->addr - sc->sh.sh_addr);
        char synth[TALOS_CFG_SYNTH_NAME_BYTES + 4] = "";
        const char *name = s->name;
        /* One function per address (the best-ranked alias, first after
         * sorting); a symbol starting inside the previous function
         * overlaps it and is left out: functions are disjoint. */
        if ((i > 0 && s->addr == s[-1].addr) || s->addr < end || s->size > UINT32_MAX)
            continue;
        if (!name) {
            snprintf(synth, sizeof(synth), "0x%llx", (unsigned long long)s->addr);
            name = synth;
        }
        insns.n = 0;
        if ((rc = arch->decode(dis, code, s->size, s->addr, &insns)) != TALOS_OK)
            goto out;
        rc = cfg_add_function(cfg, name, strnlen(name, TALOS_CFG_NAME_MAX), s->addr, s->size,
                              &insns, &scratch, &scratch_cap);
        if (rc != TALOS_OK)
            goto out;
        talos_sha256_add(sha, code, s->size);
        end = s->addr + s->size;
    }
    rc = talos_sha256_end(sha, cfg->code_digest);
    sha = NULL;
out:
    if (sha) {
        uint8_t discard[TALOS_SHA256_BYTES] = {0};
        (void)talos_sha256_end(sha, discard);
    }
    if (dis)
        arch->close(dis);
    free(scratch);
    free(insns.v);
    return rc;
}

int talos_cfg_build(const char *path, struct talos_cfg **out, char *msg, size_t msg_cap)
{
    struct image im = {0};
    struct talos_cfg *cfg = NULL;
    const struct cfg_arch *arch = NULL;
    GElf_Ehdr eh = {0};
    int fd = -1;
    int rc = TALOS_ERR_INVALID_ARG;

    if (msg && msg_cap)
        msg[0] = '\0';
    if (!out)
        return rc;
    *out = NULL;
    if (!path)
        goto out;
    if (elf_version(EV_CURRENT) == EV_NONE) {
        rc = talos_reason(TALOS_ERR_NOT_IMPLEMENTED, msg, msg_cap, "libelf: %s", elf_errmsg(-1));
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = talos_reason(TALOS_ERR_IO, msg, msg_cap, "cannot open %s: %m", path);
        goto out;
    }
    im.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!im.elf || elf_kind(im.elf) != ELF_K_ELF || !gelf_getehdr(im.elf, &eh)) {
        rc = talos_reason(TALOS_ERR_IMAGE, msg, msg_cap, "%s is not an ELF file", path);
        goto out;
    }
    if (gelf_getclass(im.elf) != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        rc = talos_reason(TALOS_ERR_NOT_IMPLEMENTED, msg, msg_cap,
                          "only 64-bit little-endian images are supported");
        goto out;
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        rc = talos_reason(TALOS_ERR_IMAGE, msg, msg_cap, "%s is not an executable (ELF type %u)",
                          path, (unsigned)eh.e_type);
        goto out;
    }
    arch = arch_find(eh.e_machine);
    if (!arch) {
        rc = talos_reason(TALOS_ERR_NOT_IMPLEMENTED, msg, msg_cap,
                          "no CFG extraction for ELF machine %u (%s) yet: only x86-64 is supported",
                          (unsigned)eh.e_machine, talos_cfg_machine_name(eh.e_machine));
        goto out;
    }
    if ((rc = load_sections(&im, msg, msg_cap)) != TALOS_OK)
        goto out;
    if ((rc = load_symbols(&im, msg, msg_cap)) != TALOS_OK)
        goto out;
    if ((rc = cfg_new(eh.e_machine, &cfg)) != TALOS_OK)
        goto out;
    if ((rc = add_functions(&im, arch, cfg, msg, msg_cap)) != TALOS_OK)
        goto out;
    if ((rc = add_ecalls(&im, cfg)) != TALOS_OK)
        goto out;
    rc = cfg_finalize(cfg);
    if (rc == TALOS_ERR_TOO_LARGE)
        talos_reason(rc, msg, msg_cap, "the CFG exceeds %u MiB", TALOS_CFG_FILE_MAX >> 20);
out:
    if (rc != TALOS_OK) {
        if (msg && msg_cap && !msg[0])
            talos_reason(rc, msg, msg_cap, "%s", talos_strerror(rc));
        talos_cfg_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    free(im.syms);
    free(im.scns);
    if (im.elf)
        elf_end(im.elf);
    if (fd >= 0)
        close(fd);
    return rc;
}

void talos_cfg_extractor_tag(char *out, size_t cap)
{
    int major = 0, minor = 0;

    (void)cs_version(&major, &minor);
    snprintf(out, cap, "talos-cfg/%d capstone/%d.%d", TALOS_CFG_EXTRACTOR_VERSION, major, minor);
}
