/* The sim platform's image check (tee/sim/host/image_check.c,
 * talos_sim_check_image): hostile image files before anything runs them.
 *
 * Input: the bytes of one image file, handed over in a memfd as a node
 * would hand the platform an open image. Checked:
 *  - the answer is TALOS_OK or IMAGE, never anything else and never a
 *    crash (the input fits in memory, so IO and NOMEM cannot happen);
 *  - a refusal has a one-line, non-empty reason that fits its buffer;
 *  - an accepted image really is what the check promises, re-read here by
 *    hand: a 64-bit little-endian ELF ET_EXEC for this machine, without
 *    PT_INTERP and PT_DYNAMIC, whose program headers lie in the input and
 *    which holds the runtime note's bytes;
 *  - the check reads with pread only: the memfd's offset is unchanged.
 * Seeds: a 656-byte static image with the note and one without it
 * (docs/fuzzing.md says how they were made). */
#include <elf.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/abi_note.h"
#include "talos/err.h"
#include "tee/sim/host/image_check.h"
#include "tests/fuzz/fuzz.h"

static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    return fd >= 0 ? 0 : 1;
}

/* What an accepted image must be, from its bytes. */
static void accepted(const uint8_t *data, size_t size)
{
    Elf64_Ehdr eh;

    FUZZ_CHECK(size >= sizeof(eh) && memcmp(data, ELFMAG, SELFMAG) == 0);
    memcpy(&eh, data, sizeof(eh));
    FUZZ_CHECK(data[EI_CLASS] == ELFCLASS64 && data[EI_DATA] == ELFDATA2LSB);
    FUZZ_CHECK(eh.e_type == ET_EXEC);
#if defined(__x86_64__)
    FUZZ_CHECK(eh.e_machine == EM_X86_64);
#elif defined(__aarch64__)
    FUZZ_CHECK(eh.e_machine == EM_AARCH64);
#endif
    FUZZ_CHECK(eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phoff <= size &&
               (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) <= size - eh.e_phoff);
    for (size_t i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        FUZZ_CHECK(ph.p_type != PT_INTERP && ph.p_type != PT_DYNAMIC);
        if (ph.p_type == PT_LOAD)
            FUZZ_CHECK(ph.p_offset <= size && ph.p_filesz <= size - ph.p_offset);
    }
    FUZZ_CHECK(memmem(data, size, TALOS_ABI_NOTE_NAME, sizeof(TALOS_ABI_NOTE_NAME)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    int rc = 0;

    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    FUZZ_CHECK(lseek(fd, 3, SEEK_SET) == 3);
    memset(why, 'x', sizeof(why));
    rc = talos_sim_check_image(fd, why, sizeof(why));
    FUZZ_CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_IMAGE);
    FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL && !strchr(why, '\n'));
    if (rc == TALOS_OK)
        accepted(data, size);
    else
        FUZZ_CHECK(why[0] != '\0');
    return 0;
}
