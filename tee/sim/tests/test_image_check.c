/* The sim platform's image check (tee/sim/host/image_check.c, the host op
 * check_image): a TA image is accepted; anything else is refused as IMAGE
 * with a reason that says why, hostile headers included, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/abi_note.h"
#include "tee/sim/host/image_check.h"
#include "tee/tee.h"
#include "tests/tmpdir.h"

struct fixture {
    char build[512];   /* ROOT/BUILD of this test binary */
    uint8_t *ta;       /* build/examples/kvstore.ta */
    size_t ta_len;
};

static char why[512];

/* exe = ROOT/BUILD/tests/unit/test_image_check: the build tree is three
 * components up. */
static void build_dir(char *out, size_t cap)
{
    char exe[512] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    assert_true(k > 0);
    exe[k] = '\0';
    snprintf(out, cap, "%s", exe);
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(out, '/');
        assert_non_null(slash);
        *slash = '\0';
    }
}

static uint8_t *slurp(const char *path, size_t *len)
{
    struct stat st;
    uint8_t *b = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        fail_msg("cannot open %s (built by make all)", path);
    assert_int_equal(fstat(fd, &st), 0);
    b = malloc((size_t)st.st_size);
    assert_non_null(b);
    assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char p[600];

    assert_non_null(f);
    build_dir(f->build, sizeof(f->build));
    snprintf(p, sizeof(p), "%s/examples/kvstore.ta", f->build);
    f->ta = slurp(p, &f->ta_len);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->ta);
    free(f);
    return 0;
}

/* Check n bytes of b, handed over in a memfd as a platform would get them. */
static int check_bytes(const void *b, size_t n)
{
    int fd = memfd_create("image", MFD_CLOEXEC);
    int rc = 0;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    memset(why, 0, sizeof(why));
    rc = talos_sim_check_image(fd, why, sizeof(why));
    close(fd);
    return rc;
}

static int check_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    assert_true(fd >= 0);
    rc = talos_sim_check_image(fd, why, sizeof(why));
    close(fd);
    return rc;
}

/* IMAGE, with a one-line reason that contains `what`. */
static void assert_refused(int rc, const char *what)
{
    assert_int_equal(rc, TALOS_ERR_IMAGE);
    if (!strstr(why, what))
        fail_msg("reason '%s' lacks '%s'", why, what);
    assert_null(strchr(why, '\n'));
}

/* A copy of the TA image with n bytes at off replaced, checked. */
static int check_patched(struct fixture *f, size_t off, const void *val, size_t n)
{
    uint8_t *c = malloc(f->ta_len);
    int rc = 0;

    assert_non_null(c);
    assert_true(off + n <= f->ta_len);
    memcpy(c, f->ta, f->ta_len);
    memcpy(c + off, val, n);
    rc = check_bytes(c, f->ta_len);
    free(c);
    return rc;
}

static Elf64_Ehdr ehdr(const struct fixture *f)
{
    Elf64_Ehdr eh;
    memcpy(&eh, f->ta, sizeof(eh));
    return eh;
}

/* File offset of the first program header of type `type`, or 0. */
static size_t phdr_at(const struct fixture *f, uint32_t type, Elf64_Phdr *out)
{
    Elf64_Ehdr eh = ehdr(f);
    for (size_t i = 0; i < eh.e_phnum; i++) {
        size_t off = eh.e_phoff + i * sizeof(Elf64_Phdr);
        memcpy(out, f->ta + off, sizeof(*out));
        if (out->p_type == type)
            return off;
    }
    return 0;
}

/* Offset of the runtime note's name ("TALOS\0" after its header). */
static size_t note_name_at(const struct fixture *f)
{
    const struct talos_abi_note want = {sizeof(TALOS_ABI_NOTE_NAME), 4, TALOS_ABI_NOTE_TYPE,
                                        TALOS_ABI_NOTE_NAME, TALOS_ABI_VERSION};
    const uint8_t *hit = memmem(f->ta, f->ta_len, &want, sizeof(want));
    if (!hit)
        fail_msg("no .note.talos bytes in kvstore.ta");
    assert_null(memmem(hit + 1, f->ta_len - (size_t)(hit + 1 - f->ta), &want, sizeof(want)));
    return (size_t)(hit - f->ta) + offsetof(struct talos_abi_note, name);
}

static void test_ta_accepted(void **state)
{
    struct fixture *f = *state;
    char p[600];
    int fd = -1;

    assert_int_equal(check_bytes(f->ta, f->ta_len), TALOS_OK);
    assert_string_equal(why, "");
    /* From the file itself: read with pread, its offset left alone. */
    snprintf(p, sizeof(p), "%s/examples/kvstore.ta", f->build);
    fd = open(p, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 100, SEEK_SET), 100);
    assert_int_equal(talos_sim_check_image(fd, why, sizeof(why)), TALOS_OK);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 100);
    close(fd);
    /* Other TA images of this build too. */
    snprintf(p, sizeof(p), "%s/examples/ledger.ta", f->build);
    assert_int_equal(check_path(p), TALOS_OK);
    /* why may be NULL. */
    fd = memfd_create("image", MFD_CLOEXEC);
    assert_int_equal(write(fd, "#!", 2), 2);
    assert_int_equal(talos_sim_check_image(fd, NULL, 0), TALOS_ERR_IMAGE);
    close(fd);
}

static void test_not_tas(void **state)
{
    struct fixture *f = *state;
    static const char script[] = "#!/bin/sh\necho not an ELF file at all, just a script\n";
    char p[600];
    int pipefd[2];

    /* A PIE, dynamically linked program of the system. */
    assert_refused(check_path("/bin/ls"), "PIE (ET_DYN) image: TAs are built non-PIE");
    assert_refused(check_bytes(script, sizeof(script) - 1), "not an ELF file");
    assert_refused(check_bytes("", 0), "not an ELF file");
    /* Static, non-PIE, for this machine: everything but the runtime. */
    snprintf(p, sizeof(p), "%s/tests/data/plain-static", f->build);
    assert_refused(check_path(p), "no TALOS runtime note (.note.talos): not a TA image");
    /* Not a regular file at all. */
    assert_int_equal(pipe(pipefd), 0);
    assert_refused(talos_sim_check_image(pipefd[0], why, sizeof(why)), "not a regular file");
    close(pipefd[0]);
    close(pipefd[1]);
    /* A file that says it is larger than what it reads (sysfs: 4096 bytes
     * announced, a few read): IO, and no guess from the bytes that came. */
    {
        int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= EI_NIDENT) {
            assert_int_equal(talos_sim_check_image(fd, why, sizeof(why)), TALOS_ERR_IO);
            assert_non_null(strstr(why, "changed size"));
        }
        if (fd >= 0)
            close(fd);
    }
    /* Over the size limit: refused before a byte is read (a sparse file). */
    {
        int fd = memfd_create("huge", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)TALOS_SIM_IMAGE_MAX + 1), 0);
        assert_refused(talos_sim_check_image(fd, why, sizeof(why)), "over the");
        close(fd);
    }
    assert_int_equal(talos_sim_check_image(-1, why, sizeof(why)), TALOS_ERR_INVALID_ARG);
}

static void test_patched_headers(void **state)
{
    struct fixture *f = *state;
    const uint16_t dyn = ET_DYN, rel = ET_REL;
    const uint16_t other = ehdr(f).e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    const uint8_t class32 = ELFCLASS32, msb = ELFDATA2MSB;
    char want[64];

    snprintf(want, sizeof(want), "built for machine %u", other);
    assert_refused(check_patched(f, offsetof(Elf64_Ehdr, e_machine), &other, 2), want);
    assert_refused(check_patched(f, offsetof(Elf64_Ehdr, e_machine), &other, 2), "this node runs");
    assert_refused(check_patched(f, offsetof(Elf64_Ehdr, e_type), &dyn, 2),
                   "PIE (ET_DYN) image: TAs are built non-PIE");
    assert_refused(check_patched(f, offsetof(Elf64_Ehdr, e_type), &rel, 2), "not an executable");
    assert_refused(check_patched(f, EI_CLASS, &class32, 1), "not a 64-bit ELF file");
    assert_refused(check_patched(f, EI_DATA, &msb, 1), "not a little-endian ELF file");
}

static void test_patched_segments(void **state)
{
    struct fixture *f = *state;
    const uint32_t interp = PT_INTERP, dynamic = PT_DYNAMIC;
    const uint64_t huge = UINT64_MAX - 15, past = (uint64_t)f->ta_len;
    Elf64_Phdr ph;
    size_t stack = phdr_at(f, PT_GNU_STACK, &ph);
    size_t load = phdr_at(f, PT_LOAD, &ph);
    size_t note = phdr_at(f, PT_NOTE, &ph);
    uint64_t small = 0;

    assert_true(stack && load && note);
    /* A static image that says it needs an interpreter or dynamic linking. */
#ifdef TALOS_SAN_DYNAMIC_TAS
    assert_int_equal(check_patched(f, stack, &interp, 4), TALOS_OK); /* test-only build */
    assert_int_equal(check_patched(f, stack, &dynamic, 4), TALOS_OK);
#else
    assert_refused(check_patched(f, stack, &interp, 4),
                   "dynamically linked (PT_INTERP): TAs are static");
    assert_refused(check_patched(f, stack, &dynamic, 4),
                   "dynamically linked (PT_DYNAMIC): TAs are static");
#endif
    /* Segments outside the file, wrapping, or larger on disk than in memory. */
    assert_refused(check_patched(f, load + offsetof(Elf64_Phdr, p_offset), &huge, 8),
                   "lies outside the file");
    assert_refused(check_patched(f, load + offsetof(Elf64_Phdr, p_offset), &past, 8),
                   "lies outside the file");
    assert_refused(check_patched(f, load + offsetof(Elf64_Phdr, p_filesz), &huge, 8),
                   "lies outside the file");
    assert_refused(check_patched(f, note + offsetof(Elf64_Phdr, p_filesz), &huge, 8),
                   "PT_NOTE segment");
    phdr_at(f, PT_LOAD, &ph);
    small = ph.p_filesz - 1;
    assert_refused(check_patched(f, load + offsetof(Elf64_Phdr, p_memsz), &small, 8),
                   "more file bytes than memory");
    /* No PT_LOAD at all: every LOAD turned into a NULL entry. */
    {
        uint8_t *c = malloc(f->ta_len);
        Elf64_Ehdr eh = ehdr(f);
        assert_non_null(c);
        memcpy(c, f->ta, f->ta_len);
        for (size_t i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr p;
            memcpy(&p, c + eh.e_phoff + i * sizeof(p), sizeof(p));
            if (p.p_type == PT_LOAD)
                p.p_type = PT_NULL;
            memcpy(c + eh.e_phoff + i * sizeof(p), &p, sizeof(p));
        }
        assert_refused(check_bytes(c, f->ta_len), "no loadable (PT_LOAD) segment");
        free(c);
    }
    /* Program or section headers that do not fit. */
    assert_refused(check_patched(f, offsetof(Elf64_Ehdr, e_phoff), &huge, 8),
                   "corrupt program headers");
    assert_refused(check_patched(f, offsetof(Elf64_Ehdr, e_shoff), &past, 8),
                   "corrupt section headers");
    assert_refused(check_bytes(f->ta, sizeof(Elf64_Ehdr) + 1), "corrupt program headers");
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    const size_t cuts[] = {1, 4, 16, 63, 64, 65, 120, 1000, 4096, f->ta_len / 2, f->ta_len - 1};

    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        assert_int_equal(check_bytes(f->ta, cuts[i]), TALOS_ERR_IMAGE);
        assert_true(why[0] != '\0');
        assert_null(strchr(why, '\n'));
    }
}

static void test_note_altered(void **state)
{
    struct fixture *f = *state;
    size_t name = note_name_at(f);
    const uint32_t newer = TALOS_ABI_VERSION + 1, older = TALOS_ABI_VERSION - 1, type2 = 2, descsz = 0;
    char want_newer[80], want_older[80];

    snprintf(want_newer, sizeof(want_newer), "ABI version %u, this node runs version %u", newer,
             TALOS_ABI_VERSION);
    snprintf(want_older, sizeof(want_older), "ABI version %u, this node runs version %u", older,
             TALOS_ABI_VERSION);

    assert_refused(check_patched(f, name + 4, "X", 1), /* "TALOX" */
                   "no TALOS runtime note (.note.talos): not a TA image");
    assert_refused(check_patched(f, name - 4, &type2, 4), "no TALOS runtime note");
    assert_refused(check_patched(f, name + 8, &newer, 4), want_newer);
    /* An image of an earlier runtime (version 1 had no START_FAILED and no
     * PREFAULT frame): refused before it starts, not lost in the pool. */
    assert_refused(check_patched(f, name + 8, &older, 4), want_older);
    assert_refused(check_patched(f, name - 8, &descsz, 4), "malformed TALOS runtime note");
}

/* Through the backend op, as a node calls it. */
static void test_ops(void **state)
{
    struct fixture *f = *state;
    const struct talos_tee_host_ops *sim = talos_tee_host_find("sim");
    const struct talos_tee_host_ops *skel = talos_tee_host_find("skeleton");
    const struct talos_tee_host_ops none = {.name = "none"};
    struct talos_platform *p = NULL;
    char base[64], st[96], ca[96];
    struct talos_backend_option ca_opt = {"ca", ca};
    struct talos_platform_config cfg = {.state_dir = st, .options = &ca_opt, .n_options = 1};
    int fd = memfd_create("image", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, f->ta, f->ta_len), (ssize_t)f->ta_len);
    assert_non_null(test_tmpdir_make(base, sizeof(base), "ic"));
    snprintf(st, sizeof(st), "%s/st", base);
    snprintf(ca, sizeof(ca), "%s/ca", base);
    assert_non_null(sim);
    assert_non_null(sim->check_image);
    assert_int_equal(sim->open(&cfg, &p), TALOS_OK);
    assert_int_equal(talos_tee_check_image(sim, p, fd, why, sizeof(why)), TALOS_OK);
    assert_int_equal(talos_tee_check_image(sim, NULL, fd, why, sizeof(why)),
                     TALOS_ERR_INVALID_ARG);
    sim->close(p);
    assert_int_equal(talos_tee_check_image(skel, NULL, fd, why, sizeof(why)),
                     TALOS_ERR_NOT_IMPLEMENTED);
    assert_non_null(strstr(why, "skeleton"));
    assert_int_equal(talos_tee_check_image(&none, NULL, fd, why, sizeof(why)),
                     TALOS_ERR_NOT_IMPLEMENTED);
    assert_non_null(strstr(why, "none"));
    close(fd);
    test_tmpdir_remove(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ta_accepted),
        cmocka_unit_test(test_not_tas),
        cmocka_unit_test(test_patched_headers),
        cmocka_unit_test(test_patched_segments),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_note_altered),
        cmocka_unit_test(test_ops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
