/* Is this file a TA image the sim platform can run? (Contract in
 * image_check.h.) The file is hostile: it is read once into private memory
 * and parsed there with libelf (elf_memory), so every header is read from
 * one consistent copy however the file changes meanwhile, and every offset
 * and size is checked against that copy before a byte is looked at. */
#include "tee/sim/host/image_check.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/abi_note.h"
#include "core/reason.h"
#include "talos/err.h"

/* The machine a sim TA runs on is the one talosd runs on: sim starts TAs
 * as ordinary processes of this host. */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_MACHINE EM_RISCV
#else
#error "the sim backend runs TAs on x86-64, AArch64 or RISC-V 64 only"
#endif

/* TAs are linked statically (Makefile, TA_LINK). Sanitizer builds
 * (make SAN=1) cannot be: ASan does not link statically, so their TAs are
 * dynamic and that build alone defines TALOS_SAN_DYNAMIC_TAS. Test-only: a
 * normal build never accepts a dynamic image. */
#ifdef TALOS_SAN_DYNAMIC_TAS
#define STATIC_ONLY 0
#else
#define STATIC_ONLY 1
#endif

#define IMAGE(...) talos_reason(TALOS_ERR_IMAGE, why, cap, __VA_ARGS__)

struct image {
    uint8_t *bytes;
    size_t size;
    Elf *elf;
    int note_found;
};

/* [off, off + len) lies inside the image, without overflow. */
static int in_file(const struct image *im, uint64_t off, uint64_t len)
{
    return off <= im->size && len <= im->size - off;
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_RISCV: return "RISC-V";
    case EM_386: return "i386";
    case EM_ARM: return "ARM";
    default: return "unknown";
    }
}

/* The whole file, read with pread from offset 0 (never through a path). */
static int read_image(int fd, struct image *im, char *why, size_t cap)
{
    struct stat st;
    size_t got = 0;

    if (fstat(fd, &st) != 0)
        return talos_reason(errno == EBADF ? TALOS_ERR_INVALID_ARG : TALOS_ERR_IO, why, cap,
                            "cannot stat the image: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return IMAGE("not a regular file");
    if ((uint64_t)st.st_size > TALOS_SIM_IMAGE_MAX)
        return IMAGE("%jd bytes, over the %u-byte limit of a TA image", (intmax_t)st.st_size,
                     TALOS_SIM_IMAGE_MAX);
    if ((size_t)st.st_size < EI_NIDENT)
        return IMAGE("not an ELF file");
    im->size = (size_t)st.st_size;
    /* One byte more than the size seen detects a file that grew. */
    if (!(im->bytes = malloc(im->size + 1)))
        return talos_reason(TALOS_ERR_NOMEM, why, cap, "out of memory for a %zu-byte image",
                            im->size);
    while (got <= im->size) {
        ssize_t r = pread(fd, im->bytes + got, im->size + 1 - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return talos_reason(TALOS_ERR_IO, why, cap, "cannot read the image: %s",
                                strerror(errno));
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got != im->size)
        return talos_reason(TALOS_ERR_IO, why, cap, "the image changed size while read");
    return TALOS_OK;
}

/* ELF identification and header: what kind of program this is. */
static int check_header(struct image *im, GElf_Ehdr *eh, char *why, size_t cap)
{
    const uint8_t *id = im->bytes;

    if (memcmp(id, ELFMAG, SELFMAG) != 0)
        return IMAGE("not an ELF file");
    if (id[EI_CLASS] != ELFCLASS64)
        return IMAGE("not a 64-bit ELF file (class %u)", id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return IMAGE("not a little-endian ELF file (data encoding %u)", id[EI_DATA]);
    im->elf = elf_memory((char *)im->bytes, im->size);
    if (!im->elf || elf_kind(im->elf) != ELF_K_ELF || !gelf_getehdr(im->elf, eh))
        return IMAGE("corrupt ELF headers (%s)", elf_errmsg(-1));
    if (eh->e_machine != HOST_MACHINE)
        return IMAGE("built for machine %u (%s), this node runs %u (%s)", eh->e_machine,
                     machine_name(eh->e_machine), HOST_MACHINE, machine_name(HOST_MACHINE));
    if (eh->e_type == ET_DYN)
        return IMAGE("PIE (ET_DYN) image: TAs are built non-PIE");
    if (eh->e_type != ET_EXEC)
        return IMAGE("ELF type %u, not an executable (ET_EXEC)", eh->e_type);
    /* The header tables' sizes from the header itself: libelf quietly
     * clamps its counts to what fits in the file, so a cut-off table would
     * pass unseen. TAs never need the extended numbering (PN_XNUM, or
     * e_shnum 0 with a table) that puts the real counts in section 0. */
    if (eh->e_phnum == PN_XNUM || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        !in_file(im, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
        return IMAGE("corrupt program headers");
    /* Section headers are not loaded, but the CFG extraction reads them. */
    if ((eh->e_shnum == 0 && eh->e_shoff != 0) ||
        (eh->e_shnum > 0 && (eh->e_shentsize != sizeof(Elf64_Shdr) ||
                             !in_file(im, eh->e_shoff,
                                      (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))))
        return IMAGE("corrupt section headers");
    return TALOS_OK;
}

/* The runtime's note among the notes of one Elf_Data, if there. */
static int scan_notes(struct image *im, Elf_Data *d, char *why, size_t cap)
{
    GElf_Nhdr nh;
    size_t off = 0, next = 0, name_off = 0, desc_off = 0;
    uint32_t version = 0;

    if (!d || !d->d_buf)
        return TALOS_OK;
    while (off < d->d_size && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
        off = next;
        if (nh.n_type != TALOS_ABI_NOTE_TYPE || nh.n_namesz != sizeof(TALOS_ABI_NOTE_NAME) ||
            name_off > d->d_size || d->d_size - name_off < nh.n_namesz ||
            memcmp((const char *)d->d_buf + name_off, TALOS_ABI_NOTE_NAME, nh.n_namesz) != 0)
            continue;
        if (nh.n_descsz != sizeof(version) || desc_off > d->d_size ||
            d->d_size - desc_off < sizeof(version))
            return IMAGE("malformed TALOS runtime note (%u-byte description)", nh.n_descsz);
        memcpy(&version, (const char *)d->d_buf + desc_off, sizeof(version));
        if (version != TALOS_ABI_VERSION)
            return IMAGE("TALOS runtime ABI version %u, this node runs version %u", version,
                         TALOS_ABI_VERSION);
        im->note_found = 1;
    }
    return TALOS_OK;
}

/* Program headers: static, loadable, inside the file; notes in PT_NOTE. */
static int check_segments(struct image *im, const GElf_Ehdr *eh, char *why, size_t cap)
{
    size_t loads = 0;
    int rc = TALOS_OK;

    /* e_phnum, whose table check_header found inside the file. */
    for (size_t i = 0; i < eh->e_phnum && rc == TALOS_OK; i++) {
        GElf_Phdr ph;

        if (!gelf_getphdr(im->elf, (int)i, &ph))
            return IMAGE("corrupt program header %zu", i);
        if (ph.p_type == PT_INTERP && STATIC_ONLY)
            return IMAGE("dynamically linked (PT_INTERP): TAs are static");
        if (ph.p_type == PT_DYNAMIC && STATIC_ONLY)
            return IMAGE("dynamically linked (PT_DYNAMIC): TAs are static");
        if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
            continue;
        if (!in_file(im, ph.p_offset, ph.p_filesz))
            return IMAGE("%s segment %zu lies outside the file",
                         ph.p_type == PT_LOAD ? "PT_LOAD" : "PT_NOTE", i);
        if (ph.p_type == PT_LOAD) {
            if (ph.p_filesz > ph.p_memsz)
                return IMAGE("PT_LOAD segment %zu has more file bytes than memory", i);
            loads++;
            continue;
        }
        rc = scan_notes(im,
                        elf_getdata_rawchunk(im->elf, (int64_t)ph.p_offset, ph.p_filesz,
                                             ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR),
                        why, cap);
    }
    if (rc == TALOS_OK && loads == 0)
        return IMAGE("no loadable (PT_LOAD) segment");
    return rc;
}

/* SHT_NOTE sections: the runtime note may be found there too (an image
 * whose notes are not all in PT_NOTE segments). */
static int check_note_sections(struct image *im, char *why, size_t cap)
{
    Elf_Scn *scn = NULL;
    int rc = TALOS_OK;

    while (rc == TALOS_OK && !im->note_found && (scn = elf_nextscn(im->elf, scn)) != NULL) {
        GElf_Shdr sh;

        if (!gelf_getshdr(scn, &sh))
            return IMAGE("corrupt section header %zu", elf_ndxscn(scn));
        if (sh.sh_type != SHT_NOTE)
            continue;
        if (!in_file(im, sh.sh_offset, sh.sh_size))
            return IMAGE("note section %zu lies outside the file", elf_ndxscn(scn));
        rc = scan_notes(im, elf_getdata(scn, NULL), why, cap);
    }
    return rc;
}

int talos_sim_check_image(int fd, char *why, size_t cap)
{
    struct image im = {0};
    GElf_Ehdr eh;
    int rc = TALOS_OK;

    if (why && cap)
        why[0] = '\0';
    if (elf_version(EV_CURRENT) == EV_NONE)
        return talos_reason(TALOS_ERR_BACKEND, why, cap, "libelf: %s", elf_errmsg(-1));
    if ((rc = read_image(fd, &im, why, cap)) != TALOS_OK)
        goto out;
    if ((rc = check_header(&im, &eh, why, cap)) != TALOS_OK)
        goto out;
    if ((rc = check_segments(&im, &eh, why, cap)) != TALOS_OK)
        goto out;
    if ((rc = check_note_sections(&im, why, cap)) != TALOS_OK)
        goto out;
    if (!im.note_found)
        rc = IMAGE("no TALOS runtime note (.note.talos): not a TA image");
out:
    if (im.elf)
        elf_end(im.elf);
    free(im.bytes);
    return rc;
}
