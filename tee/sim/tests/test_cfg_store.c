/* The sim platform's kept CFG files (tee/sim/host/cfg_store.c, D43): what
 * it saves it loads back, and a kept file that is damaged, truncated,
 * another image's, another extractor's, or unsafe on disk is refused with
 * the right code, never used, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cfg/cfg.h"
#include "core/crypto.h"
#include "tee/sim/host/cfg_store.h"
#include "tests/tmpdir.h"
#include "tools/cfg/cfg.h"

struct fixture {
    char base[256], state[300], file[512];
    uint8_t sha[TALOS_SHA256_BYTES], digest[TALOS_CFG_DIGEST_BYTES];
    uint8_t *cfg; /* a canonical CFG file */
    size_t cfg_len;
    struct sim_cfg_store *s;
};

static char why[512];

/* A real CFG: that of the static non-TALOS program the build makes for
 * test_image_check (ROOT/BUILD/tests/data/plain-static). */
static void plain_static(char *out, size_t cap)
{
    char exe[400] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    assert_true(k > 0);
    exe[k] = '\0';
    for (int i = 0; i < 2; i++) { /* BUILD/tests/unit/test_x -> BUILD/tests */
        char *slash = strrchr(exe, '/');
        assert_non_null(slash);
        *slash = '\0';
    }
    snprintf(out, cap, "%s/data/plain-static", exe);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct talos_cfg *cfg = NULL;
    char img[512], msg[256] = "";
    int fd = -1;

    assert_non_null(f);
    assert_non_null(test_tmpdir_make(f->base, sizeof(f->base), "cfgstore"));
    snprintf(f->state, sizeof(f->state), "%s/st", f->base);
    assert_int_equal(mkdir(f->state, 0700), 0);
    plain_static(img, sizeof(img));
    if (talos_cfg_build(img, &cfg, msg, sizeof(msg)) != TALOS_OK)
        fail_msg("no CFG for %s (built by make all): %s", img, msg);
    assert_int_equal(talos_cfg_serialize(cfg, &f->cfg, &f->cfg_len), TALOS_OK);
    talos_cfg_digest(cfg, f->digest);
    talos_cfg_free(cfg);
    assert_true((fd = open(img, O_RDONLY | O_CLOEXEC)) >= 0);
    assert_int_equal(sim_cfg_store_hash_fd(fd, f->sha), TALOS_OK);
    close(fd);
    assert_int_equal(sim_cfg_store_open(f->state, &f->s), TALOS_OK);
    sim_cfg_store_path(f->s, f->sha, f->file, sizeof(f->file));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sim_cfg_store_close(f->s);
    test_tmpdir_remove(f->base);
    free(f->cfg);
    free(f);
    return 0;
}

static int load(struct fixture *f, const uint8_t sha[TALOS_SHA256_BYTES])
{
    uint8_t d[TALOS_CFG_DIGEST_BYTES], *file = NULL;
    size_t len = 0;
    int rc = sim_cfg_store_load(f->s, sha, d, &file, &len, why, sizeof(why));

    if (rc == TALOS_OK) {
        assert_int_equal(len, f->cfg_len);
        assert_memory_equal(file, f->cfg, len);
        assert_memory_equal(d, f->digest, sizeof(d));
    } else {
        assert_null(file);
        assert_int_equal(len, 0);
    }
    free(file);
    return rc;
}

/* The kept file's bytes, to damage and put back (mode as saved). */
static uint8_t *kept(struct fixture *f, size_t *len)
{
    struct stat st;
    uint8_t *b = NULL;
    int fd = open(f->file, O_RDONLY | O_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_non_null(b = malloc((size_t)st.st_size + 1));
    assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

static void put(struct fixture *f, const uint8_t *b, size_t len)
{
    int fd = -1;

    unlink(f->file);
    assert_true((fd = open(f->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) >= 0);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
}

static void test_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    char dir[600];

    assert_int_equal(load(f, f->sha), TALOS_ERR_NOT_FOUND);
    assert_int_equal(
        sim_cfg_store_save(f->s, f->sha, f->digest, f->cfg, f->cfg_len, why, sizeof(why)),
        TALOS_OK);
    assert_int_equal(load(f, f->sha), TALOS_OK);
    assert_int_equal(stat(f->file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0444);
    snprintf(dir, sizeof(dir), "%s/cfg", f->state);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    /* Saved again: replaced, still loads. */
    assert_int_equal(
        sim_cfg_store_save(f->s, f->sha, f->digest, f->cfg, f->cfg_len, why, sizeof(why)),
        TALOS_OK);
    assert_int_equal(load(f, f->sha), TALOS_OK);
}

static void test_damaged(void **state)
{
    struct fixture *f = *state;
    uint8_t *good = NULL, *b = NULL, other[TALOS_SHA256_BYTES];
    size_t len = 0, hdr = 0;

    assert_int_equal(
        sim_cfg_store_save(f->s, f->sha, f->digest, f->cfg, f->cfg_len, why, sizeof(why)),
        TALOS_OK);
    good = kept(f, &len);
    hdr = len - f->cfg_len;
    assert_non_null(b = malloc(len));
    /* Every byte of the header, and bytes spread over the CFG file. */
    for (size_t i = 0; i < len; i += i < hdr ? 1 : len / 97) {
        memcpy(b, good, len);
        b[i] ^= 0x20;
        put(f, b, len);
        assert_int_equal(load(f, f->sha), TALOS_ERR_MALFORMED);
    }
    /* Truncated anywhere, empty, one byte more. */
    for (size_t n = 0; n < len; n += n < hdr + 16 ? 1 : len / 31) {
        put(f, good, n);
        assert_int_equal(load(f, f->sha), TALOS_ERR_MALFORMED);
    }
    memcpy(b, good, len);
    put(f, good, len);
    assert_int_equal(load(f, f->sha), TALOS_OK);
    /* Asked for another image: not found; that image's name on this file:
     * another image's CFG. */
    memcpy(other, f->sha, sizeof(other));
    other[31] ^= 1;
    assert_int_equal(load(f, other), TALOS_ERR_NOT_FOUND);
    sim_cfg_store_path(f->s, other, f->file, sizeof(f->file));
    put(f, good, len);
    assert_int_equal(load(f, other), TALOS_ERR_MALFORMED);
    assert_non_null(strstr(why, "another image"));
    sim_cfg_store_path(f->s, f->sha, f->file, sizeof(f->file));
    /* Another extractor's tag (same length, one letter changed). */
    memcpy(b, good, len);
    assert_int_equal(memcmp(b + 10, "talos-cfg/", 10), 0);
    b[10] = 'T';
    put(f, b, len);
    assert_int_equal(load(f, f->sha), TALOS_ERR_MALFORMED);
    assert_non_null(strstr(why, "another extractor"));
    free(b);
    free(good);
}

static void test_unsafe(void **state)
{
    struct fixture *f = *state;
    struct sim_cfg_store *s2 = NULL;

    assert_int_equal(
        sim_cfg_store_save(f->s, f->sha, f->digest, f->cfg, f->cfg_len, why, sizeof(why)),
        TALOS_OK);
    assert_int_equal(chmod(f->file, 0666), 0);
    assert_int_equal(load(f, f->sha), TALOS_ERR_UNSAFE_FILE);
    /* And the platform refuses to start over it. */
    assert_int_equal(sim_cfg_store_open(f->state, &s2), TALOS_ERR_UNSAFE_FILE);
    assert_null(s2);
    unlink(f->file);
    assert_int_equal(symlink("/etc/passwd", f->file), 0);
    assert_int_equal(load(f, f->sha), TALOS_ERR_UNSAFE_FILE);
    /* A save replaces the link (by rename), never writes through it. */
    assert_int_equal(
        sim_cfg_store_save(f->s, f->sha, f->digest, f->cfg, f->cfg_len, why, sizeof(why)),
        TALOS_OK);
    assert_int_equal(load(f, f->sha), TALOS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
