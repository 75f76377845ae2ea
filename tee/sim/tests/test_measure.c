/* The sim measurement rule: file (host) and memory (TA) agree, code changes
 * change it, writable data does not, hostile files are refused as IMAGE.
 * Also the TA's view of its own mappings (enclave.c memory_map). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "tee/sim/common/measure.h"
#include "tee/tee.h"

/* The enclave side is not in the host libraries unit tests link; include it
 * to test memory_map in this (real) process. */
#include "tee/sim/enclave/enclave.c"
#include "tests/tmpdir.h"
#include "tests/bytes.h"

struct image {
    char dir[64], path[96];
    uint8_t *bytes;
    size_t len;
};

static uint8_t bss_block[1 << 16];
static int data_word = 42;
static const char rodata_text[] = "talos rodata marker";

static void write_all(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

/* A private copy of this test binary, loaded in memory and on disk. */
static int setup(void **state)
{
    struct image *im = calloc(1, sizeof(*im));
    struct stat st;
    int fd = -1;

    assert_non_null(im);
    assert_non_null(test_tmpdir_make(im->dir, sizeof(im->dir), "me"));
    snprintf(im->path, sizeof(im->path), "%s/image", im->dir);
    fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    im->len = (size_t)st.st_size;
    im->bytes = malloc(im->len);
    assert_non_null(im->bytes);
    assert_int_equal(read(fd, im->bytes, im->len), (ssize_t)im->len);
    close(fd);
    *state = im;
    return 0;
}

static int teardown(void **state)
{
    struct image *im = *state;
    unlink(im->path);
    rmdir(im->dir);
    free(im->bytes);
    free(im);
    return 0;
}

static Elf64_Ehdr ehdr_of(const uint8_t *b)
{
    Elf64_Ehdr eh;
    memcpy(&eh, b, sizeof(eh));
    return eh;
}

/* Offset of the first program header with PT_LOAD and the wanted PF_W/PF_X. */
static size_t find_phdr(const uint8_t *b, uint32_t want_flags, Elf64_Phdr *out)
{
    Elf64_Ehdr eh = ehdr_of(b);
    for (size_t i = 0; i < eh.e_phnum; i++) {
        size_t off = eh.e_phoff + i * eh.e_phentsize;
        memcpy(out, b + off, sizeof(*out));
        if (out->p_type == PT_LOAD && (out->p_flags & (PF_W | PF_X)) == want_flags && out->p_filesz > 64)
            return off;
    }
    fail_msg("no PT_LOAD segment with flags %#x", want_flags);
    return 0;
}

/* Measure the copy after `patch` changed it; im->bytes is restored after. */
static int measure_patched(struct image *im, size_t len, uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    write_all(im->path, im->bytes, len);
    return talos_sim_measure_file(im->path, out);
}

static void test_file_equals_memory(void **state)
{
    struct image *im = *state;
    uint8_t file[TALOS_MEASUREMENT_BYTES], mem[TALOS_MEASUREMENT_BYTES],
        copy[TALOS_MEASUREMENT_BYTES];

    assert_int_equal(talos_sim_measure_file("/proc/self/exe", file), TALOS_OK);
    assert_int_equal(talos_sim_measure_self(mem), TALOS_OK);
    assert_memory_equal(file, mem, TALOS_MEASUREMENT_BYTES);
    assert_int_equal(measure_patched(im, im->len, copy), TALOS_OK);
    assert_memory_equal(copy, mem, TALOS_MEASUREMENT_BYTES);
    /* The enclave op is the same function. */
    assert_int_equal(talos_tee_enclave.measure_self(copy), TALOS_OK);
    assert_memory_equal(copy, mem, TALOS_MEASUREMENT_BYTES);
}

/* The code digest comes with the measurement from one pass, and alone from
 * another; the introspection op (measure_self) gives the launch
 * measurement while the code is unchanged, and the SHA-256 of the changed
 * code once a measured byte changes in memory (a read-only data byte here,
 * made writable for the test as the host would write it), then the launch
 * one again once the byte is back (D42). */
static void test_code_digest_introspection(void **state)
{
    uint8_t sha[TALOS_MEASUREMENT_BYTES], b3[TALOS_SIM_CODE_DIGEST_BYTES],
        b3_again[TALOS_SIM_CODE_DIGEST_BYTES], m[TALOS_MEASUREMENT_BYTES],
        launch[TALOS_MEASUREMENT_BYTES], now[TALOS_MEASUREMENT_BYTES];
    long pg = sysconf(_SC_PAGESIZE);
    char *page = (char *)((uintptr_t)rodata_text & ~(uintptr_t)(pg - 1));
    volatile char *byte = (volatile char *)(uintptr_t)rodata_text;
    (void)state;

    assert_int_equal(talos_sim_digest_self(sha, b3), TALOS_OK);
    assert_int_equal(talos_sim_measure_self(m), TALOS_OK);
    assert_memory_equal(sha, m, TALOS_MEASUREMENT_BYTES);
    assert_int_equal(talos_sim_digest_self(NULL, b3_again), TALOS_OK);
    assert_memory_equal(b3, b3_again, TALOS_SIM_CODE_DIGEST_BYTES);
    assert_int_equal(talos_sim_digest_self(NULL, NULL), TALOS_ERR_INVALID_ARG);

    assert_int_equal(talos_tee_enclave.launch_measurement(launch), TALOS_OK);
    assert_memory_equal(launch, m, TALOS_MEASUREMENT_BYTES);
    assert_int_equal(talos_tee_enclave.measure_self(now), TALOS_OK);
    assert_memory_equal(now, launch, TALOS_MEASUREMENT_BYTES);

    assert_int_equal(mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE), 0);
    byte[0] ^= 0x20;
    assert_int_equal(talos_tee_enclave.measure_self(now), TALOS_OK);
    assert_memory_not_equal(now, launch, TALOS_MEASUREMENT_BYTES);
    assert_int_equal(talos_sim_measure_self(m), TALOS_OK);
    assert_memory_equal(now, m, TALOS_MEASUREMENT_BYTES); /* the SHA-256 of what is there */
    byte[0] ^= 0x20;
    assert_int_equal(mprotect(page, (size_t)pg, PROT_READ), 0);
    assert_int_equal(talos_tee_enclave.measure_self(now), TALOS_OK);
    assert_memory_equal(now, launch, TALOS_MEASUREMENT_BYTES);
}

static void test_code_byte_changes_measurement(void **state)
{
    struct image *im = *state;
    uint8_t base[TALOS_MEASUREMENT_BYTES], m[TALOS_MEASUREMENT_BYTES];
    Elf64_Phdr ph;

    assert_int_equal(measure_patched(im, im->len, base), TALOS_OK);
    find_phdr(im->bytes, PF_X, &ph);
    im->bytes[ph.p_offset + ph.p_filesz / 2] ^= 0x01;
    assert_int_equal(measure_patched(im, im->len, m), TALOS_OK);
    im->bytes[ph.p_offset + ph.p_filesz / 2] ^= 0x01;
    assert_memory_not_equal(base, m, TALOS_MEASUREMENT_BYTES);
    /* Read-only data is measured too. */
    find_phdr(im->bytes, 0, &ph);
    im->bytes[ph.p_offset + ph.p_filesz - 1] ^= 0x80;
    assert_int_equal(measure_patched(im, im->len, m), TALOS_OK);
    im->bytes[ph.p_offset + ph.p_filesz - 1] ^= 0x80;
    assert_memory_not_equal(base, m, TALOS_MEASUREMENT_BYTES);
}

static void test_unmeasured_bytes(void **state)
{
    struct image *im = *state;
    uint8_t base[TALOS_MEASUREMENT_BYTES], m[TALOS_MEASUREMENT_BYTES];
    Elf64_Ehdr eh = ehdr_of(im->bytes);
    Elf64_Phdr ph;
    size_t last = 0;

    assert_int_equal(measure_patched(im, im->len, base), TALOS_OK);
    /* Writable segment content (.data): excluded by the rule. */
    find_phdr(im->bytes, PF_W, &ph);
    im->bytes[ph.p_offset + ph.p_filesz - 1] ^= 0xff;
    assert_int_equal(measure_patched(im, im->len, m), TALOS_OK);
    im->bytes[ph.p_offset + ph.p_filesz - 1] ^= 0xff;
    assert_memory_equal(base, m, TALOS_MEASUREMENT_BYTES);
    /* The section header table (not loaded) is outside the measurement. */
    last = eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize - 1;
    assert_true(last < im->len);
    im->bytes[last] ^= 0xff;
    assert_int_equal(measure_patched(im, im->len, m), TALOS_OK);
    im->bytes[last] ^= 0xff;
    assert_memory_equal(base, m, TALOS_MEASUREMENT_BYTES);
}

static void test_not_an_image(void **state)
{
    struct image *im = *state;
    uint8_t m[TALOS_MEASUREMENT_BYTES];
    size_t cuts[] = {0, 1, 4, 16, 63, 64, 64 + 20};
    Elf64_Ehdr eh = ehdr_of(im->bytes);
    Elf64_Phdr ph;

    write_all(im->path, "#!/bin/sh\necho not an ELF\n", 26);
    assert_int_equal(talos_sim_measure_file(im->path, m), TALOS_ERR_IMAGE);
    assert_true(test_is_zero(m, TALOS_MEASUREMENT_BYTES));
    assert_int_equal(talos_sim_measure_file("/nonexistent/talos", m), TALOS_ERR_IMAGE);
    assert_int_equal(talos_sim_measure_file(im->dir, m), TALOS_ERR_IMAGE);
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        assert_int_equal(measure_patched(im, cuts[i], m), TALOS_ERR_IMAGE);
    /* Cut inside the program headers, and inside the last byte of a code
     * segment. */
    assert_int_equal(measure_patched(im, eh.e_phoff + eh.e_phentsize * eh.e_phnum - 1, m),
                     TALOS_ERR_IMAGE);
    find_phdr(im->bytes, PF_X, &ph);
    assert_int_equal(measure_patched(im, ph.p_offset + ph.p_filesz - 1, m), TALOS_ERR_IMAGE);
}

static void patch_and_expect_image(struct image *im, size_t off, const void *val, size_t n)
{
    uint8_t saved[16], m[TALOS_MEASUREMENT_BYTES];
    assert_true(n <= sizeof(saved));
    memcpy(saved, im->bytes + off, n);
    memcpy(im->bytes + off, val, n);
    assert_int_equal(measure_patched(im, im->len, m), TALOS_ERR_IMAGE);
    memcpy(im->bytes + off, saved, n);
}

static void test_hostile_headers(void **state)
{
    struct image *im = *state;
    const uint8_t class32 = ELFCLASS32;
    const uint16_t rel = ET_REL, core = ET_CORE;
    const uint64_t huge = UINT64_MAX - 15, big = (uint64_t)im->len;
    Elf64_Phdr ph;
    size_t at = find_phdr(im->bytes, PF_X, &ph);
    uint64_t small = ph.p_filesz - 1;

    patch_and_expect_image(im, EI_CLASS, &class32, 1);
    patch_and_expect_image(im, offsetof(Elf64_Ehdr, e_type), &rel, 2);
    patch_and_expect_image(im, offsetof(Elf64_Ehdr, e_type), &core, 2);
    patch_and_expect_image(im, at + offsetof(Elf64_Phdr, p_offset), &huge, 8); /* wraps */
    patch_and_expect_image(im, at + offsetof(Elf64_Phdr, p_offset), &big, 8);  /* past end */
    patch_and_expect_image(im, at + offsetof(Elf64_Phdr, p_filesz), &huge, 8);
    patch_and_expect_image(im, at + offsetof(Elf64_Phdr, p_memsz), &small, 8); /* filesz > memsz */
    patch_and_expect_image(im, at + offsetof(Elf64_Phdr, p_memsz), &huge, 8);  /* 16 EiB of zeros */
    patch_and_expect_image(im, offsetof(Elf64_Ehdr, e_phoff), &huge, 8);
}

/* The rule written out by hand for two tiny segments. */
static void test_rule_vector(void **state)
{
    static const uint8_t code[3] = {0x90, 0x90, 0xc3};
    const struct talos_sim_segment segs[] = {
        {.vaddr = 0x401000, .memsz = 5, .filesz = 3, .flags = PF_R | PF_X, .content = code},
        {.vaddr = 0x402000, .memsz = 8, .filesz = 2, .flags = PF_R | PF_W, .content = code},
    };
    uint8_t buf[16 + 20 + 5], want[TALOS_MEASUREMENT_BYTES], got[TALOS_MEASUREMENT_BYTES];

    memcpy(buf, "talos-measure-v1", 16);
    memcpy(buf + 16, "\x00\x00\x00\x00\x00\x40\x10\x00" "\x00\x00\x00\x00\x00\x00\x00\x05"
                     "\x00\x00\x00\x05", 20);
    memcpy(buf + 36, code, 3);
    buf[39] = buf[40] = 0;
    talos_sha256(buf, sizeof(buf), want);
    assert_int_equal(talos_sim_measure_segments(segs, 2, got), TALOS_OK);
    assert_memory_equal(got, want, TALOS_MEASUREMENT_BYTES);
    /* Only writable segments: nothing to measure. */
    assert_int_equal(talos_sim_measure_segments(segs + 1, 1, got), TALOS_ERR_IMAGE);
    assert_true(test_is_zero(got, TALOS_MEASUREMENT_BYTES));
    assert_int_equal(talos_sim_measure_segments(segs, TALOS_SIM_MAX_SEGMENTS + 1, got), TALOS_ERR_IMAGE);
}

static const struct talos_region *region_of(const struct talos_region *r, size_t n, const void *p)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    for (size_t i = 0; i < n; i++)
        if (a >= r[i].start && a < r[i].end)
            return &r[i];
    return NULL;
}

static void test_memory_map(void **state)
{
    struct talos_region r[512];
    size_t n = 512, small = 2;
    void *arena = mmap((void *)(uintptr_t)TALOS_ARENA_BASE, 1 << 16, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    const struct talos_region *x = NULL;

    if (arena != (void *)(uintptr_t)TALOS_ARENA_BASE)
        fail_msg("cannot map the arena at %#llx: %s (a sanitizer's own mappings there?)",
                 (unsigned long long)TALOS_ARENA_BASE, strerror(errno));
    bss_block[0] = 1;
    assert_int_equal(talos_tee_enclave.memory_map(r, &n), TALOS_OK);
    assert_true(n > 4 && n <= 512);
    x = region_of(r, n, (const void *)(uintptr_t)test_memory_map);
    assert_non_null(x);
    assert_int_equal(x->kind, TALOS_REGION_CODE);
    assert_int_equal(x->prot, TALOS_PROT_R | TALOS_PROT_X);
    x = region_of(r, n, rodata_text);
    assert_non_null(x);
    assert_int_equal(x->kind, TALOS_REGION_RODATA);
    x = region_of(r, n, &data_word);
    assert_non_null(x);
    assert_int_equal(x->kind, TALOS_REGION_DATA);
    assert_true(x->prot & TALOS_PROT_W);
    x = region_of(r, n, &bss_block[sizeof(bss_block) - 1]);
    assert_non_null(x);
    assert_int_equal(x->kind, TALOS_REGION_DATA);
    x = region_of(r, n, arena);
    assert_non_null(x);
    assert_int_equal(x->kind, TALOS_REGION_ARENA);
    x = region_of(r, n, &n); /* the stack */
    assert_non_null(x);
    assert_int_equal(x->kind, TALOS_REGION_OTHER);
    x = region_of(r, n, (const void *)(uintptr_t)memcpy); /* libc */
    assert_non_null(x);
    assert_int_equal(x->kind, TALOS_REGION_OTHER);
    /* Too small an array: TOO_LARGE and the count needed. */
    assert_int_equal(talos_tee_enclave.memory_map(r, &small), TALOS_ERR_TOO_LARGE);
    assert_true(small > 2);
    munmap(arena, 1 << 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_equals_memory),
        cmocka_unit_test(test_code_byte_changes_measurement),
        cmocka_unit_test(test_code_digest_introspection),
        cmocka_unit_test(test_unmeasured_bytes),
        cmocka_unit_test(test_not_an_image),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_rule_vector),
        cmocka_unit_test(test_memory_map),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
