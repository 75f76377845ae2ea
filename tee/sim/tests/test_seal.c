/* The sim platform: seal keys, its identity files (CA, platform key and
 * certificate, secret), and TA launch. Also the TA side of seal_key.
 *
 * One file over 400 lines: the cases of one platform's identity and keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/crypto.h"
#include "tee/sim/host/ca.h"
#include "tee/tee.h"

/* The enclave side is not in the host libraries unit tests link; include it
 * to drive its seal_key with a fake host. */
#include "tee/sim/enclave/enclave.c"
#include "tests/tmpdir.h"

struct fixture {
    char base[64];
    const struct talos_tee_host_ops *ops;
};

static const uint8_t m1[TALOS_MEASUREMENT_BYTES] = {1}, m2[TALOS_MEASUREMENT_BYTES] = {2};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_non_null(test_tmpdir_make(f->base, sizeof(f->base), "se"));
    f->ops = talos_tee_host_find("sim");
    assert_non_null(f->ops);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    test_tmpdir_remove(f->base);
    free(f);
    return 0;
}

/* base/<st> (created if missing) with CA base/<ca>. */
static int open_at(struct fixture *f, const char *st, const char *ca, struct talos_platform **p)
{
    char sd[128], cd[128];
    struct talos_backend_option ca_opt = {"ca", cd};
    struct talos_platform_config cfg = {.state_dir = sd, .options = &ca_opt, .n_options = 1};

    snprintf(sd, sizeof(sd), "%s/%s", f->base, st);
    snprintf(cd, sizeof(cd), "%s/%s", f->base, ca);
    mkdir(sd, 0700);
    return f->ops->open(&cfg, p);
}

static void path_of(struct fixture *f, const char *rel, char out[160])
{
    snprintf(out, 160, "%s/%s", f->base, rel);
}

static void test_seal_keys(void **state)
{
    struct fixture *f = *state;
    struct talos_platform *a = NULL, *b = NULL;
    uint8_t k1[TALOS_SEAL_KEY_BYTES], k1b[TALOS_SEAL_KEY_BYTES], k2[TALOS_SEAL_KEY_BYTES],
        kb[TALOS_SEAL_KEY_BYTES], want[TALOS_SEAL_KEY_BYTES], secret[TALOS_SIM_SECRET_BYTES],
        info[36];
    char p[160];
    int fd = -1;

    assert_int_equal(open_at(f, "sa", "ca", &a), TALOS_OK);
    assert_int_equal(open_at(f, "sb", "ca", &b), TALOS_OK);
    assert_int_equal(f->ops->seal_key(a, m1, TALOS_SEAL_MEASUREMENT, k1), TALOS_OK);
    assert_int_equal(f->ops->seal_key(a, m1, TALOS_SEAL_MEASUREMENT, k1b), TALOS_OK);
    assert_memory_equal(k1, k1b, TALOS_SEAL_KEY_BYTES);
    assert_int_equal(f->ops->seal_key(a, m2, TALOS_SEAL_MEASUREMENT, k2), TALOS_OK);
    assert_memory_not_equal(k1, k2, TALOS_SEAL_KEY_BYTES);
    assert_int_equal(f->ops->seal_key(b, m1, TALOS_SEAL_MEASUREMENT, kb), TALOS_OK);
    assert_memory_not_equal(k1, kb, TALOS_SEAL_KEY_BYTES);
    /* The documented derivation, from the secret on disk. */
    path_of(f, "sa/platform.secret", p);
    fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, secret, TALOS_SIM_SECRET_BYTES), TALOS_SIM_SECRET_BYTES);
    close(fd);
    memcpy(info, "\0\0\0\1", 4);
    memcpy(info + 4, m1, TALOS_MEASUREMENT_BYTES);
    assert_int_equal(talos_hkdf(secret, TALOS_SIM_SECRET_BYTES, "talos-seal-v1", 13, info, 36, want,
                                TALOS_SEAL_KEY_BYTES),
                     TALOS_OK);
    assert_memory_equal(k1, want, TALOS_SEAL_KEY_BYTES);
    /* Invalid policies are refused and leave no key behind. */
    memset(k2, 0xee, TALOS_SEAL_KEY_BYTES);
    assert_int_equal(f->ops->seal_key(a, m1, (enum talos_seal_policy)0, k2), TALOS_ERR_INVALID_ARG);
    assert_memory_equal(k2, (uint8_t[TALOS_SEAL_KEY_BYTES]){0}, TALOS_SEAL_KEY_BYTES);
    assert_int_equal(f->ops->seal_key(a, m1, (enum talos_seal_policy)2, k2), TALOS_ERR_INVALID_ARG);
    f->ops->close(a);
    f->ops->close(b);
    /* The same state dir after a restart: the same key. */
    assert_int_equal(open_at(f, "sa", "ca", &a), TALOS_OK);
    assert_int_equal(f->ops->seal_key(a, m1, TALOS_SEAL_MEASUREMENT, k1b), TALOS_OK);
    assert_memory_equal(k1, k1b, TALOS_SEAL_KEY_BYTES);
    f->ops->close(a);
}

static void test_identity_files(void **state)
{
    struct fixture *f = *state;
    struct talos_sim_identity id1, id2, id3;
    char sd[160], ca1[160], ca2[160], p[160];
    struct stat st;

    path_of(f, "idst", sd);
    path_of(f, "ca-x/nested/dir", ca1);
    path_of(f, "ca-y", ca2);
    assert_int_equal(mkdir(sd, 0700), 0);
    assert_int_equal(talos_sim_identity_open(sd, ca1, &id1), TALOS_OK);
    path_of(f, "idst/platform.key", p);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    path_of(f, "idst/platform.secret", p);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    path_of(f, "ca-x/nested/dir/ca.key", p);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Reopen: same key, same certificate. */
    assert_int_equal(talos_sim_identity_open(sd, ca1, &id2), TALOS_OK);
    assert_memory_equal(id1.platform_id, id2.platform_id, TALOS_PLATFORM_ID_BYTES);
    assert_int_equal(id1.cert_der_len, id2.cert_der_len);
    assert_memory_equal(id1.cert_der, id2.cert_der, id1.cert_der_len);
    talos_sim_identity_close(&id2);
    /* Another CA: same platform key, certificate re-issued by the new CA. */
    assert_int_equal(talos_sim_identity_open(sd, ca2, &id3), TALOS_OK);
    assert_memory_equal(id1.platform_id, id3.platform_id, TALOS_PLATFORM_ID_BYTES);
    assert_memory_not_equal(id1.ca_pem, id3.ca_pem, id1.ca_pem_len < id3.ca_pem_len ? id1.ca_pem_len : id3.ca_pem_len);
    assert_true(id1.cert_der_len != id3.cert_der_len || memcmp(id1.cert_der, id3.cert_der, id1.cert_der_len) != 0);
    talos_sim_identity_close(&id3);
    talos_sim_identity_close(&id1);
    /* A damaged secret is refused, never silently replaced. */
    path_of(f, "idst/platform.secret", p);
    assert_int_equal(truncate(p, 5), 0);
    assert_int_equal(talos_sim_identity_open(sd, ca1, &id1), TALOS_ERR_BACKEND);
    assert_null(id1.key);
    assert_int_equal(talos_sim_identity_open(NULL, ca1, &id1), TALOS_ERR_INVALID_ARG);
}

/* The identity files must be this user's alone (os/sdir): found with lax
 * permissions, another owner, or as a symlink, they are refused, never
 * replaced. The owner cases need root (uid 65534 plays another user). */
static void expect_unsafe(const char *sd, const char *ca)
{
    struct talos_sim_identity id;
    assert_int_equal(talos_sim_identity_open(sd, ca, &id), TALOS_ERR_UNSAFE_FILE);
    assert_null(id.key);
}

/* Files and folders of a platform identity with a mode it must refuse. */
static const struct {
    const char *path; /* below the fixture's base */
    mode_t bad, good;
} bad_modes[] = {
    {"rst/platform.secret", 0644, 0600}, {"rst/platform.key", 0640, 0600},
    {"rca/ca.key", 0604, 0600},          {"rst/platform.pem", 0666, 0644},
    {"rca", 0777, 0700},                 {"rst", 0770, 0700},
};

static void test_identity_refusals(void **state)
{
    struct fixture *f = *state;
    struct talos_sim_identity id;
    uint8_t before[TALOS_SIM_SECRET_BYTES], after[TALOS_SIM_SECRET_BYTES];
    char sd[160], ca[160], p[160], victim[160];
    struct stat st;
    int fd = -1;

    path_of(f, "rst", sd);
    path_of(f, "rca", ca);
    assert_int_equal(talos_sim_identity_open(sd, ca, &id), TALOS_OK);
    talos_sim_identity_close(&id);
    assert_int_equal(stat(sd, &st), 0); /* created 0700 when missing */
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(ca, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    path_of(f, "rst/platform.secret", p);
    fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, before, TALOS_SIM_SECRET_BYTES), TALOS_SIM_SECRET_BYTES);
    close(fd);

    /* Each mode refused, then the right one back. The secret readable by
     * others: refused, and left as it is; keys likewise, in the state dir
     * and in the CA dir; the certificate may be read by all, not written;
     * directories writable by others. */
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        path_of(f, bad_modes[i].path, p);
        assert_int_equal(chmod(p, bad_modes[i].bad), 0);
        expect_unsafe(sd, ca);
        assert_int_equal(chmod(p, bad_modes[i].good), 0);
    }
    /* Anything foreign in the CA dir, even a file it does not read. */
    path_of(f, "rca/planted", p);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0666), 0);
    close(fd);
    expect_unsafe(sd, ca);
    assert_int_equal(unlink(p), 0);
    /* A symlink where the lock file goes: refused, the target untouched. */
    path_of(f, "victim", victim);
    fd = open(victim, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    path_of(f, "rst/platform.lock", p);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink(victim, p), 0);
    expect_unsafe(sd, ca);
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_size, 4);
    assert_int_equal(unlink(p), 0);
    if (geteuid() == 0) {
        path_of(f, "rst/platform.secret", p);
        assert_int_equal(chown(p, 65534, 65534), 0);
        expect_unsafe(sd, ca);
        assert_int_equal(chown(p, 0, 0), 0);
        assert_int_equal(chown(ca, 65534, 65534), 0);
        expect_unsafe(sd, ca);
        assert_int_equal(chown(ca, 0, 0), 0);
    }
    /* Through all of it the secret stayed the same. */
    assert_int_equal(talos_sim_identity_open(sd, ca, &id), TALOS_OK);
    talos_sim_identity_close(&id);
    path_of(f, "rst/platform.secret", p);
    fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, after, TALOS_SIM_SECRET_BYTES), TALOS_SIM_SECRET_BYTES);
    close(fd);
    assert_memory_equal(before, after, TALOS_SIM_SECRET_BYTES);
}

/* Several nodes start at once on one fresh CA directory: one CA results,
 * and every platform's evidence verifies against it. */
static void test_ca_created_once(void **state)
{
    struct fixture *f = *state;
    enum { NODES = 6 };
    int go[2] = {-1, -1};
    pid_t kids[NODES];
    char ca[160], p[160];
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    struct talos_claims c;

    path_of(f, "race-ca", ca);
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < NODES; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            char st[32], b = 0;
            struct talos_platform *pl = NULL;
            uint8_t ev[TALOS_EVIDENCE_MAX];
            size_t len = sizeof(ev);
            FILE *out = NULL;
            close(go[1]);
            (void)!read(go[0], &b, 1); /* all start together */
            snprintf(st, sizeof(st), "race-%d", i);
            if (open_at(f, st, "race-ca", &pl) != TALOS_OK ||
                f->ops->quote(pl, m1, m2, m1, (uint8_t[TALOS_REPORT_DATA_BYTES]){0}, ev, &len) !=
                    TALOS_OK)
                _exit(1);
            snprintf(p, sizeof(p), "%s/race-%d/ev", f->base, i);
            out = fopen(p, "wb");
            if (!out || fwrite(ev, 1, len, out) != len || fclose(out) != 0)
                _exit(1);
            f->ops->close(pl);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < NODES; i++) {
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    path_of(f, "race-ca/ca.pem", p);
    {
        FILE *in = fopen(p, "rb");
        assert_non_null(in);
        pem = malloc(4096);
        pem_len = fread(pem, 1, 4096, in);
        fclose(in);
    }
    for (int i = 0; i < NODES; i++) {
        uint8_t ev[TALOS_EVIDENCE_MAX];
        size_t len = 0;
        FILE *in = NULL;
        snprintf(p, sizeof(p), "%s/race-%d/ev", f->base, i);
        in = fopen(p, "rb");
        assert_non_null(in);
        len = fread(ev, 1, sizeof(ev), in);
        fclose(in);
        assert_int_equal(talos_verify_evidence(ev, len, pem, pem_len, TALOS_VERIFY_ALLOW_SIM, &c), TALOS_OK);
    }
    free(pem);
}

/* Put a CLOEXEC copy of `fd` at `at` (when at >= 0) or above 60. */
static int move_fd(int fd, int at)
{
    int r = -1;

    if (fd == at) /* dup3 refuses equal numbers; just set the flag */
        r = fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 ? fd : -1;
    else
        r = at >= 0 ? dup3(fd, at, O_CLOEXEC) : fcntl(fd, F_DUPFD_CLOEXEC, 60);
    assert_true(r >= 0);
    return r;
}

/* The stand-in TA of test_launch_fds: this test binary again (an ELF: a #!
 * script cannot run from the close-on-exec descriptor the launcher execs),
 * told by an environment variable the launcher passes on. It writes on its
 * fd 3 what it was given, one line each: the channel, where fd 4 leads, a
 * pipe on fd 5 (the report pipe), any other descriptor up to 9, a variable
 * of the test's environment that the launcher must not pass, no_new_privs
 * and the core size limit, and, when the test runs as root, its user and
 * groups. */
#define PROBE_ENV "TALOS_TEST_LAUNCH_PROBE"
#define HIDDEN_ENV "TEST_SEAL_NOT_FOR_TAS"

static int core_limit_zero(void)
{
    struct rlimit r = {1, 1};

    return getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_cur == 0 && r.rlim_max == 0;
}

static int launch_probe(void)
{
    char line[256], link[128];
    struct stat st;
    ssize_t n = 0;
    int len = 0;

    len = snprintf(line, sizeof(line), "chan\n");
    n = readlink("/proc/self/fd/4", link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = '\0';
    len += snprintf(line + len, sizeof(line) - (size_t)len, "shm:%s\n", link);
    if (fstat(5, &st) == 0 && S_ISFIFO(st.st_mode))
        len += snprintf(line + len, sizeof(line) - (size_t)len, "report\n");
    for (int x = 6; x <= 9; x++)
        if (fcntl(x, F_GETFD) >= 0)
            len += snprintf(line + len, sizeof(line) - (size_t)len, "leak%d\n", x);
    if (getenv(HIDDEN_ENV))
        len += snprintf(line + len, sizeof(line) - (size_t)len, "env-leak\n");
    len += snprintf(line + len, sizeof(line) - (size_t)len, "nnp:%d core:%s\n",
                    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), core_limit_zero() ? "0" : "not 0");
    if (getenv("TALOS_TEST_AS_ROOT"))
        len += snprintf(line + len, sizeof(line) - (size_t)len, "uid:%u gid:%u groups:%d\n",
                        (unsigned)getuid(), (unsigned)getgid(), getgroups(0, NULL));
    len += snprintf(line + len, sizeof(line) - (size_t)len, "end\n");
    return write(3, line, (size_t)len) == len ? 0 : 1;
}

/* Launch this binary as a stand-in TA (launch_probe) with the channel at
 * chan_at and /dev/null (as shm) at shm_at in this process, both
 * close-on-exec, and fd 7 open without CLOEXEC; return what it wrote on
 * its fd 3. */
static void launch_with(struct fixture *f, struct talos_platform *pl, const char *script,
                        int chan_at, int shm_at, char *got, size_t cap)
{
    int p[2] = {-1, -1}, rd = -1, wr = -1, nul = -1, pid = 0, status = 0;
    int saved3 = fcntl(3, F_DUPFD_CLOEXEC, 60), saved4 = fcntl(4, F_DUPFD_CLOEXEC, 60);
    size_t n = 0;
    ssize_t r = 0;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    rd = move_fd(p[0], -1);
    wr = move_fd(p[1], -1);
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(nul >= 0);
    nul = move_fd(nul, -1);
    close(p[0]);
    close(p[1]);
    close(3);
    close(4);
    move_fd(wr, chan_at);
    move_fd(nul, shm_at);
    assert_int_equal(fcntl(7, F_GETFD), -1);
    assert_int_equal(dup2(wr, 7), 7);
    close(wr);
    close(nul);
    {
        const struct talos_launch l = {
            .image_path = script, .image_fd = -1, .channel_fd = chan_at, .shm_fd = shm_at};
        assert_int_equal(f->ops->launch(pl, &l, &pid), TALOS_OK);
    }
    assert_true(pid > 0);
    /* Give the test process back its own fds 3 and 4; drop 7. */
    close(7);
    close(3);
    close(4);
    if (saved3 >= 0) {
        move_fd(saved3, 3);
        close(saved3);
    }
    if (saved4 >= 0) {
        move_fd(saved4, 4);
        close(saved4);
    }
    memset(got, 0, cap);
    while (n < cap - 1 && (r = read(rd, got + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    close(rd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
}

static void test_launch_fds(void **state)
{
    struct fixture *f = *state;
    struct talos_platform *pl = NULL;
    char got[256] = {0}, want[256] = {0};
    int pid = 0;

    assert_int_equal(open_at(f, "launch", "ca", &pl), TALOS_OK);
    assert_int_equal(setenv(PROBE_ENV, "1", 1), 0);
    assert_int_equal(setenv(HIDDEN_ENV, "1", 1), 0);
    /* As root, the stand-in runs as nobody (65534 on Debian). */
    if (geteuid() == 0)
        assert_int_equal(setenv("TALOS_TEST_AS_ROOT", "1", 1), 0);
    snprintf(want, sizeof(want), "chan\nshm:/dev/null\nreport\nnnp:1 core:0\n%send\n",
             geteuid() == 0 ? "uid:65534 gid:65534 groups:0\n" : "");
    /* Already at their targets: dup2 onto the same number would keep CLOEXEC. */
    launch_with(f, pl, "/proc/self/exe", 3, 4, got, sizeof(got));
    assert_string_equal(got, want);
    /* Each at the other's target: a naive dup2 order clobbers one. */
    launch_with(f, pl, "/proc/self/exe", 4, 3, got, sizeof(got));
    assert_string_equal(got, want);
    unsetenv(PROBE_ENV);
    unsetenv(HIDDEN_ENV);
    unsetenv("TALOS_TEST_AS_ROOT");
    /* Not an executable image. */
    {
        const struct talos_launch l = {
            .image_path = "/nonexistent/ta", .image_fd = -1, .channel_fd = 0, .shm_fd = -1};
        assert_int_equal(f->ops->launch(pl, &l, &pid), TALOS_ERR_IMAGE);
        assert_int_equal(pid, 0);
    }
    f->ops->close(pl);
}

/* Fake host for the TA side of seal_key. */
struct fake_seal {
    size_t answer_len;
    int status, calls;
    uint8_t req[8];
    size_t req_len;
};

static int fake_seal(void *ctx, uint16_t type, const uint8_t *req, size_t req_len, uint8_t *resp,
                     size_t resp_cap, size_t *resp_len)
{
    struct fake_seal *h = ctx;
    h->calls++;
    assert_int_equal(type, TALOS_HOST_REQ_SEAL_KEY);
    assert_true(req_len <= sizeof(h->req));
    memcpy(h->req, req, req_len);
    h->req_len = req_len;
    if (h->answer_len > resp_cap)
        return TALOS_ERR_TOO_LARGE;
    memset(resp, 0x5a, h->answer_len);
    *resp_len = h->answer_len;
    return h->status;
}

static void test_enclave_seal_key(void **state)
{
    struct fake_seal h = {.answer_len = 32};
    struct talos_tee_env env = {.host_request = fake_seal, .ctx = &h};
    uint8_t key[TALOS_SEAL_KEY_BYTES];

    assert_int_equal(talos_tee_enclave.init(&env), TALOS_OK);
    assert_int_equal(talos_tee_enclave.seal_key(TALOS_SEAL_MEASUREMENT, key), TALOS_OK);
    assert_int_equal(h.req_len, 4);
    assert_memory_equal(h.req, "\0\0\0\1", 4);
    assert_int_equal(key[31], 0x5a);
    for (size_t bad = 0; bad < 3; bad++) {
        h.answer_len = bad == 0 ? 31 : bad == 1 ? 33 : 0;
        assert_int_equal(talos_tee_enclave.seal_key(TALOS_SEAL_MEASUREMENT, key), TALOS_ERR_BACKEND);
        assert_memory_equal(key, (uint8_t[TALOS_SEAL_KEY_BYTES]){0}, TALOS_SEAL_KEY_BYTES);
    }
    h.answer_len = 32;
    h.status = TALOS_ERR_IO;
    assert_int_equal(talos_tee_enclave.seal_key(TALOS_SEAL_MEASUREMENT, key), TALOS_ERR_BACKEND);
    assert_memory_equal(key, (uint8_t[TALOS_SEAL_KEY_BYTES]){0}, TALOS_SEAL_KEY_BYTES);
    h.calls = 0;
    assert_int_equal(talos_tee_enclave.seal_key((enum talos_seal_policy)7, key), TALOS_ERR_INVALID_ARG);
    assert_int_equal(h.calls, 0);
}

int main(void)
{
    if (getenv(PROBE_ENV)) /* started by test_launch_fds as a stand-in TA */
        _exit(launch_probe());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_keys),
        cmocka_unit_test(test_identity_files),
        cmocka_unit_test(test_identity_refusals),
        cmocka_unit_test(test_ca_created_once),
        cmocka_unit_test(test_launch_fds),
        cmocka_unit_test(test_enclave_seal_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
