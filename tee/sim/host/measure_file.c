/* Host side of the measurement: the same rule as measure.c, over an image
 * file parsed with libelf. The file is hostile: every offset and size from
 * its headers is checked against the file size before a byte is read. */
#include "tee/sim/common/measure.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "talos/err.h"

/* [off, off + len) lies inside a file of `size` bytes, without overflow. */
static int in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static int collect_segments(Elf *elf, const uint8_t *raw, uint64_t size,
                            struct talos_sim_segment *segs, size_t *n)
{
    GElf_Ehdr eh = {0};
    size_t phnum = 0;

    *n = 0;
    if (elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64 || !gelf_getehdr(elf, &eh))
        return TALOS_ERR_IMAGE;
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return TALOS_ERR_IMAGE;
    if (elf_getphdrnum(elf, &phnum) != 0 || phnum == 0)
        return TALOS_ERR_IMAGE;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph = {0};

        if (!gelf_getphdr(elf, (int)i, &ph))
            return TALOS_ERR_IMAGE;
        if (ph.p_type != PT_LOAD)
            continue;
        if (*n >= TALOS_SIM_MAX_SEGMENTS || !in_file(ph.p_offset, ph.p_filesz, size))
            return TALOS_ERR_IMAGE;
        segs[*n].vaddr = ph.p_vaddr;
        segs[*n].memsz = ph.p_memsz;
        segs[*n].filesz = ph.p_filesz;
        segs[*n].flags = ph.p_flags;
        segs[*n].content = raw + ph.p_offset;
        (*n)++;
    }
    return TALOS_OK;
}

int talos_sim_measure_file(const char *path, uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    struct talos_sim_segment *segs = NULL;
    struct stat st = {0};
    Elf *elf = NULL;
    const char *raw = NULL;
    size_t raw_len = 0, n = 0;
    int fd = -1, logged = 0;
    int rc = TALOS_ERR_IMAGE;

    memset(out, 0, TALOS_MEASUREMENT_BYTES);
    if (!path)
        return TALOS_ERR_INVALID_ARG;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return TALOS_ERR_BACKEND;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT || errno == EACCES ? TALOS_ERR_IMAGE : TALOS_ERR_IO;
        TLOG_WARN("measure %s: cannot open: %s", path, strerror(errno));
        logged = 1;
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    segs = calloc(TALOS_SIM_MAX_SEGMENTS, sizeof(*segs));
    if (!segs) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    /* ELF_C_READ copies the file into private memory: the bytes measured
     * cannot change under us, and a concurrent truncation cannot SIGBUS. */
    elf = elf_begin(fd, ELF_C_READ, NULL);
    if (!elf)
        goto out;
    raw = elf_rawfile(elf, &raw_len);
    if (!raw || (uint64_t)raw_len != (uint64_t)st.st_size)
        goto out;
    rc = collect_segments(elf, (const uint8_t *)raw, raw_len, segs, &n);
    if (rc == TALOS_OK)
        rc = talos_sim_measure_segments(segs, n, out);
out:
    if (rc == TALOS_ERR_IMAGE && !logged)
        TLOG_WARN("measure %s: not a loadable 64-bit ELF TA image", path);
    if (elf)
        elf_end(elf);
    if (fd >= 0)
        close(fd);
    free(segs);
    return rc;
}
