/* os/sdir: private directories and files. Every refusal is UNSAFE_FILE
 * with a reason naming the path, and leaves what it found untouched.
 * Tests that need another owner (uid 65534) run only as root.
 *
 * One file over 400 lines: one case per refusal of one module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "os/sdir.h"
#include "tests/tmpdir.h"

#define NOBODY 65534

struct fixture {
    char base[64];
};

static char why[TALOS_SDIR_WHY_BYTES];

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_non_null(test_tmpdir_make(f->base, sizeof(f->base), "sd"));
    umask(022);
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

/* base/rel, in one of four rotating buffers (enough for one call). */
static const char *at(struct fixture *f, const char *rel)
{
    static char p[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", f->base, rel);
    return p[i];
}

static void put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void assert_content(const char *path, const char *text)
{
    char buf[256] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
    close(fd);
    assert_string_equal(buf, text);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

/* rc is UNSAFE_FILE and the reason names `name` and says `what`. */
static void assert_unsafe(int rc, const char *name, const char *what)
{
    assert_int_equal(rc, TALOS_ERR_UNSAFE_FILE);
    if (!strstr(why, name) || !strstr(why, what))
        fail_msg("reason '%s' lacks '%s' or '%s'", why, name, what);
    assert_null(strchr(why, '\n'));
}

static int as_root(void) { return geteuid() == 0; }

static struct talos_sdir *open_ok(const char *path, unsigned flags)
{
    struct talos_sdir *d = NULL;
    int rc = talos_sdir_open(path, flags, &d, why, sizeof(why));
    if (rc != TALOS_OK)
        fail_msg("open %s: %d: %s", path, rc, why);
    return d;
}

static void make_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
}

static void test_create(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = NULL;
    struct stat st;

    d = open_ok(at(f, "a/b/state"), TALOS_SDIR_CREATE);
    assert_int_equal(mode_of(at(f, "a/b/state")), 0700);
    assert_int_equal(mode_of(at(f, "a")), 0755); /* parents: like mkdir -p */
    assert_string_equal(talos_sdir_path(d), at(f, "a/b/state"));
    assert_int_equal(fstat(talos_sdir_fd(d), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(fcntl(talos_sdir_fd(d), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    talos_sdir_close(d);
    /* Again, and with a trailing slash: the same directory, accepted. */
    talos_sdir_close(open_ok(at(f, "a/b/state/"), TALOS_SDIR_CREATE));
    /* A 0755 directory of ours is fine: only writing is kept from others. */
    assert_int_equal(mkdir(at(f, "open"), 0755), 0);
    talos_sdir_close(open_ok(at(f, "open"), 0));
    assert_int_equal(talos_sdir_open(at(f, "missing"), 0, &d, why, sizeof(why)),
                     TALOS_ERR_NOT_FOUND);
    assert_null(d);
    assert_int_equal(talos_sdir_open("", TALOS_SDIR_CREATE, &d, why, sizeof(why)),
                     TALOS_ERR_INVALID_ARG);
    talos_sdir_close(NULL);
}

static void test_dir_refused(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = NULL;
    char p[256];

    snprintf(p, sizeof(p), "%s", at(f, "d"));
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(chmod(p, 0777), 0);
    assert_unsafe(talos_sdir_open(p, TALOS_SDIR_CREATE, &d, why, sizeof(why)), p, "mode 0777");
    assert_null(d);
    assert_int_equal(chmod(p, 0720), 0);
    assert_unsafe(talos_sdir_open(p, 0, &d, why, sizeof(why)), p, "write");
    assert_int_equal(chmod(p, 0702), 0);
    assert_unsafe(talos_sdir_open(p, 0, &d, why, sizeof(why)), p, "write");
    assert_int_equal(chmod(p, 0700), 0);
    /* A symlink to a good directory is refused, with or without a slash. */
    assert_int_equal(symlink(p, at(f, "link")), 0);
    assert_unsafe(talos_sdir_open(at(f, "link"), TALOS_SDIR_CREATE, &d, why, sizeof(why)),
                  at(f, "link"), "symbolic link");
    assert_unsafe(talos_sdir_open(at(f, "link/"), 0, &d, why, sizeof(why)), at(f, "link"),
                  "symbolic link");
    put(at(f, "file"), "x", 0600);
    assert_unsafe(talos_sdir_open(at(f, "file"), TALOS_SDIR_CREATE, &d, why, sizeof(why)),
                  at(f, "file"), "not a directory");
    if (!as_root())
        return;
    assert_int_equal(chown(p, NOBODY, NOBODY), 0);
    assert_unsafe(talos_sdir_open(p, TALOS_SDIR_CREATE, &d, why, sizeof(why)), p, "uid 65534");
    assert_null(d);
}

static void test_ancestors(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = NULL;

    /* Others may write to the parent: they could rename ours away and put
     * their own in its place. */
    assert_int_equal(mkdir(at(f, "pub"), 0700), 0);
    assert_int_equal(chmod(at(f, "pub"), 0777), 0);
    assert_unsafe(talos_sdir_open(at(f, "pub/state"), TALOS_SDIR_CREATE, &d, why, sizeof(why)),
                  "pub", "parent directory");
    /* Deeper down too. */
    assert_unsafe(talos_sdir_open(at(f, "pub/x/y"), TALOS_SDIR_CREATE, &d, why, sizeof(why)),
                  "pub", "parent directory");
    /* Sticky, like /tmp: others cannot touch what is ours. */
    assert_int_equal(chmod(at(f, "pub"), 01777), 0);
    talos_sdir_close(open_ok(at(f, "pub/state"), 0));
    if (!as_root())
        return;
    assert_int_equal(mkdir(at(f, "theirs"), 0755), 0);
    assert_int_equal(chown(at(f, "theirs"), NOBODY, NOBODY), 0);
    assert_unsafe(talos_sdir_open(at(f, "theirs/state"), TALOS_SDIR_CREATE, &d, why, sizeof(why)),
                  "theirs", "uid 65534");
}

static void test_sub(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = open_ok(at(f, "s"), TALOS_SDIR_CREATE), *sub = NULL;

    assert_int_equal(talos_sdir_sub(d, "images", TALOS_SDIR_CREATE, &sub, why, sizeof(why)),
                     TALOS_OK);
    assert_int_equal(mode_of(at(f, "s/images")), 0700);
    assert_string_equal(talos_sdir_path(sub), at(f, "s/images"));
    talos_sdir_close(sub);
    assert_int_equal(chmod(at(f, "s/images"), 0777), 0);
    assert_unsafe(talos_sdir_sub(d, "images", TALOS_SDIR_CREATE, &sub, why, sizeof(why)),
                  at(f, "s/images"), "mode 0777");
    assert_null(sub);
    assert_int_equal(mkdir(at(f, "elsewhere"), 0700), 0);
    assert_int_equal(symlink(at(f, "elsewhere"), at(f, "s/img2")), 0);
    assert_unsafe(talos_sdir_sub(d, "img2", TALOS_SDIR_CREATE, &sub, why, sizeof(why)),
                  at(f, "s/img2"), "symbolic link");
    assert_int_equal(talos_sdir_sub(d, "../s", 0, &sub, why, sizeof(why)), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_sdir_sub(d, "..", 0, &sub, why, sizeof(why)), TALOS_ERR_INVALID_ARG);
    assert_int_equal(talos_sdir_sub(d, "none", 0, &sub, why, sizeof(why)), TALOS_ERR_NOT_FOUND);
    talos_sdir_close(d);
}

static void test_entries(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = open_ok(at(f, "e"), TALOS_SDIR_CREATE);

    put(at(f, "e/pub.pem"), "cert", 0644);
    put(at(f, "e/key"), "k", 0600);
    assert_int_equal(mkdir(at(f, "e/images"), 0700), 0);
    make_socket(at(f, "e/talosd.sock"));
    assert_int_equal(talos_sdir_check_entries(d, why, sizeof(why)), TALOS_OK);

    assert_int_equal(symlink("/etc/passwd", at(f, "e/talosd.pid")), 0);
    assert_unsafe(talos_sdir_check_entries(d, why, sizeof(why)), at(f, "e/talosd.pid"),
                  "symbolic link");
    assert_int_equal(unlink(at(f, "e/talosd.pid")), 0);

    assert_int_equal(chmod(at(f, "e/pub.pem"), 0666), 0);
    assert_unsafe(talos_sdir_check_entries(d, why, sizeof(why)), at(f, "e/pub.pem"), "write");
    assert_int_equal(chmod(at(f, "e/pub.pem"), 0644), 0);

    assert_int_equal(chmod(at(f, "e/images"), 0777), 0);
    assert_unsafe(talos_sdir_check_entries(d, why, sizeof(why)), at(f, "e/images"), "write");
    assert_int_equal(chmod(at(f, "e/images"), 0700), 0);
    assert_int_equal(talos_sdir_check_entries(d, why, sizeof(why)), TALOS_OK);

    if (as_root()) {
        assert_int_equal(chown(at(f, "e/key"), NOBODY, NOBODY), 0);
        assert_unsafe(talos_sdir_check_entries(d, why, sizeof(why)), at(f, "e/key"),
                      "uid 65534");
    }
    talos_sdir_close(d);
}

static void test_open_file(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = open_ok(at(f, "o"), TALOS_SDIR_CREATE);
    int fd = 7;

    put(at(f, "victim"), "precious", 0644);
    /* A symlink is refused, not followed: the victim is neither created
     * through it nor truncated. */
    assert_int_equal(symlink(at(f, "victim"), at(f, "o/talosd.pid")), 0);
    assert_unsafe(talos_sdir_open_file(d, "talosd.pid", TALOS_SDIR_CREATE | TALOS_SDIR_RDWR, 0644,
                                       &fd, why, sizeof(why)),
                  at(f, "o/talosd.pid"), "symbolic link");
    assert_int_equal(fd, -1);
    assert_content(at(f, "victim"), "precious");
    assert_int_equal(symlink(at(f, "nothing-here"), at(f, "o/dangling")), 0);
    assert_unsafe(talos_sdir_open_file(d, "dangling", TALOS_SDIR_CREATE | TALOS_SDIR_RDWR, 0644,
                                       &fd, why, sizeof(why)),
                  at(f, "o/dangling"), "symbolic link");
    assert_int_equal(access(at(f, "nothing-here"), F_OK), -1);

    /* Created when asked, with its mode; missing otherwise. */
    assert_int_equal(talos_sdir_open_file(d, "new", TALOS_SDIR_CREATE | TALOS_SDIR_RDWR, 0640, &fd,
                                          why, sizeof(why)),
                     TALOS_OK);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    close(fd);
    assert_int_equal(mode_of(at(f, "o/new")), 0640);
    assert_int_equal(talos_sdir_open_file(d, "none", 0, 0, &fd, why, sizeof(why)),
                     TALOS_ERR_NOT_FOUND);

    /* Wrong types. */
    assert_int_equal(mkdir(at(f, "o/dir"), 0700), 0);
    assert_unsafe(talos_sdir_open_file(d, "dir", TALOS_SDIR_CREATE | TALOS_SDIR_RDWR, 0600, &fd,
                                       why, sizeof(why)),
                  at(f, "o/dir"), "not a regular file");
    assert_unsafe(talos_sdir_open_file(d, "dir", 0, 0, &fd, why, sizeof(why)), at(f, "o/dir"),
                  "not a regular file");
    make_socket(at(f, "o/sock"));
    assert_unsafe(talos_sdir_open_file(d, "sock", 0, 0, &fd, why, sizeof(why)), at(f, "o/sock"),
                  "not a regular file");
    assert_int_equal(talos_sdir_open_file(d, "a/b", 0, 0, &fd, why, sizeof(why)),
                     TALOS_ERR_INVALID_ARG);

    /* Modes, owners and links. */
    put(at(f, "o/lax"), "x", 0664);
    assert_unsafe(talos_sdir_open_file(d, "lax", 0, 0, &fd, why, sizeof(why)), at(f, "o/lax"),
                  "mode 0664");
    put(at(f, "o/linked"), "x", 0600);
    assert_int_equal(link(at(f, "o/linked"), at(f, "linked-elsewhere")), 0);
    assert_unsafe(talos_sdir_open_file(d, "linked", 0, 0, &fd, why, sizeof(why)),
                  at(f, "o/linked"), "2 hard links");
    if (as_root()) {
        put(at(f, "o/theirs"), "x", 0600);
        assert_int_equal(chown(at(f, "o/theirs"), NOBODY, NOBODY), 0);
        assert_unsafe(talos_sdir_open_file(d, "theirs", TALOS_SDIR_RDWR, 0, &fd, why, sizeof(why)),
                      at(f, "o/theirs"), "uid 65534");
    }
    talos_sdir_close(d);
}

/* A FIFO planted where a file is expected must not block the open. */
static void test_fifo(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = open_ok(at(f, "fi"), TALOS_SDIR_CREATE);
    int fd = -1;

    assert_int_equal(mkfifo(at(f, "fi/platform.secret"), 0600), 0);
    alarm(10); /* a blocking open fails the test instead of hanging it */
    assert_unsafe(talos_sdir_open_file(d, "platform.secret", TALOS_SDIR_SECRET, 0, &fd, why,
                                       sizeof(why)),
                  at(f, "fi/platform.secret"), "FIFO");
    alarm(0);
    talos_sdir_close(d);
}

static void test_secret(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = open_ok(at(f, "sec"), TALOS_SDIR_CREATE);
    uint8_t *buf = NULL;
    size_t len = 0;
    int fd = -1;

    put(at(f, "sec/platform.secret"), "0123456789abcdef0123456789abcdef", 0644);
    /* Not writable by others, but readable: fine for a certificate ... */
    assert_int_equal(talos_sdir_open_file(d, "platform.secret", 0, 0, &fd, why, sizeof(why)),
                     TALOS_OK);
    close(fd);
    /* ... refused for a secret, by open and by read. */
    assert_unsafe(talos_sdir_open_file(d, "platform.secret", TALOS_SDIR_SECRET, 0, &fd, why,
                                       sizeof(why)),
                  at(f, "sec/platform.secret"), "mode 0644");
    assert_unsafe(talos_sdir_read(d, "platform.secret", TALOS_SDIR_SECRET, 64, &buf, &len, why,
                                  sizeof(why)),
                  at(f, "sec/platform.secret"), "secret");
    assert_null(buf);
    assert_int_equal(chmod(at(f, "sec/platform.secret"), 0604), 0);
    assert_unsafe(talos_sdir_read(d, "platform.secret", TALOS_SDIR_SECRET, 64, &buf, &len, why,
                                  sizeof(why)),
                  at(f, "sec/platform.secret"), "secret");
    assert_int_equal(chmod(at(f, "sec/platform.secret"), 0600), 0);
    assert_int_equal(talos_sdir_read(d, "platform.secret", TALOS_SDIR_SECRET, 64, &buf, &len, why,
                                     sizeof(why)),
                     TALOS_OK);
    assert_int_equal(len, 32);
    assert_memory_equal(buf, "0123456789abcdef0123456789abcdef", 32);
    talos_sdir_free(buf, len);
    /* The size cap. */
    assert_int_equal(talos_sdir_read(d, "platform.secret", TALOS_SDIR_SECRET, 31, &buf, &len, why,
                                     sizeof(why)),
                     TALOS_ERR_TOO_LARGE);
    assert_null(buf);
    assert_int_equal(talos_sdir_read(d, "absent", 0, 31, &buf, &len, why, sizeof(why)),
                     TALOS_ERR_NOT_FOUND);
    talos_sdir_close(d);
}

static int count_entries(const char *dir)
{
    char cmd[300];
    FILE *p = NULL;
    int n = -1;
    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void test_write(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = open_ok(at(f, "w"), TALOS_SDIR_CREATE);
    uint8_t *buf = NULL;
    size_t len = 0;

    umask(077); /* the mode asked for is the mode written, whatever the umask */
    assert_int_equal(talos_sdir_write(d, "ca.pem", "first", 5, 0644, why, sizeof(why)), TALOS_OK);
    umask(022);
    assert_int_equal(mode_of(at(f, "w/ca.pem")), 0644);
    assert_int_equal(talos_sdir_write(d, "ca.pem", "second", 6, 0600, why, sizeof(why)), TALOS_OK);
    assert_int_equal(mode_of(at(f, "w/ca.pem")), 0600);
    assert_int_equal(talos_sdir_read(d, "ca.pem", 0, 100, &buf, &len, why, sizeof(why)), TALOS_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "second", 6);
    talos_sdir_free(buf, len);
    assert_int_equal(count_entries(at(f, "w")), 1); /* no temporary file left */
    /* A symlink at the name is replaced, never written through. */
    put(at(f, "victim"), "precious", 0644);
    assert_int_equal(symlink(at(f, "victim"), at(f, "w/platform.key")), 0);
    assert_int_equal(talos_sdir_write(d, "platform.key", "k", 1, 0600, why, sizeof(why)),
                     TALOS_OK);
    assert_content(at(f, "victim"), "precious");
    assert_int_equal(mode_of(at(f, "w/platform.key")), 0600);
    assert_int_equal(talos_sdir_write(d, "../x", "k", 1, 0600, why, sizeof(why)),
                     TALOS_ERR_INVALID_ARG);
    /* A directory in the way: IO, and no temporary file left. */
    assert_int_equal(mkdir(at(f, "w/busy"), 0700), 0);
    assert_int_equal(talos_sdir_write(d, "busy", "k", 1, 0600, why, sizeof(why)), TALOS_ERR_IO);
    assert_non_null(strstr(why, at(f, "w/busy")));
    assert_int_equal(count_entries(at(f, "w")), 3);
    talos_sdir_close(d);
}

static void test_unlink_socket(void **state)
{
    struct fixture *f = *state;
    struct talos_sdir *d = open_ok(at(f, "u"), TALOS_SDIR_CREATE);

    assert_int_equal(talos_sdir_unlink_socket(d, "talosd.sock", why, sizeof(why)), TALOS_OK);
    make_socket(at(f, "u/talosd.sock"));
    assert_int_equal(talos_sdir_unlink_socket(d, "talosd.sock", why, sizeof(why)), TALOS_OK);
    assert_int_equal(access(at(f, "u/talosd.sock"), F_OK), -1);
    /* Anything but our socket stays. */
    put(at(f, "u/talosd.sock"), "not a socket", 0600);
    assert_unsafe(talos_sdir_unlink_socket(d, "talosd.sock", why, sizeof(why)),
                  at(f, "u/talosd.sock"), "regular file");
    assert_content(at(f, "u/talosd.sock"), "not a socket");
    assert_int_equal(unlink(at(f, "u/talosd.sock")), 0);
    make_socket(at(f, "their.sock"));
    assert_int_equal(symlink(at(f, "their.sock"), at(f, "u/talosd.sock")), 0);
    assert_unsafe(talos_sdir_unlink_socket(d, "talosd.sock", why, sizeof(why)),
                  at(f, "u/talosd.sock"), "symbolic link");
    assert_int_equal(unlink(at(f, "u/talosd.sock")), 0);
    if (as_root()) {
        make_socket(at(f, "u/talosd.sock"));
        assert_int_equal(chown(at(f, "u/talosd.sock"), NOBODY, NOBODY), 0);
        assert_unsafe(talos_sdir_unlink_socket(d, "talosd.sock", why, sizeof(why)),
                      at(f, "u/talosd.sock"), "uid 65534");
        assert_int_equal(access(at(f, "u/talosd.sock"), F_OK), 0);
    }
    talos_sdir_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ancestors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlink_socket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
