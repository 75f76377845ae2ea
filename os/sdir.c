/* Private directories and files (rules and contracts in sdir.h).
 *
 * One job over 400 lines: every open below a state directory goes
 * through here (openat, O_NOFOLLOW, owner and mode checks, atomic
 * replace), so that the rules are written once (docs/state-dir.md). */
#include "os/sdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/reason.h"

/* O_DIRECTORY: a directory or nothing; O_NOFOLLOW: not through a symlink. */
#define DIR_OPEN (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct talos_sdir {
    int fd;
    char path[PATH_MAX];
};

static const char *kind_of(mode_t m)
{
    return S_ISREG(m)    ? "regular file"
           : S_ISDIR(m)  ? "directory"
           : S_ISLNK(m)  ? "symbolic link"
           : S_ISSOCK(m) ? "socket"
           : S_ISFIFO(m) ? "FIFO"
                         : "device";
}

/* One path component: what may follow a directory fd in an *at() call
 * without leaving that directory. */
static int is_component(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0 && strlen(name) <= NAME_MAX;
}

/* Owned by us and not writable by group or others: no one else can change
 * the object itself, or, for a directory, what is in it. */
static int check_owner_mode(const struct stat *st, const char *path, char *why, size_t cap)
{
    uid_t me = geteuid();

    if (st->st_uid != me)
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                            "%s: owned by uid %u, not by uid %u that runs this program: refusing "
                            "it (another user may have planted or read what is in it; remove it)",
                            path, (unsigned)st->st_uid, (unsigned)me);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                            "%s: mode %04o lets group or others write to it: refusing it "
                            "(chmod go-w it if nothing foreign is in it, or remove it)",
                            path, (unsigned)(st->st_mode & 07777));
    return TALOS_OK;
}

/* Why opening name (relative to at) as a `want` with O_NOFOLLOW failed,
 * in our words. */
static int open_failed(int at, const char *name, const char *path, const char *want, int err,
                       char *why, size_t cap)
{
    struct stat st;

    if (err == ENOENT)
        return talos_reason(TALOS_ERR_NOT_FOUND, why, cap, "%s: missing", path);
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return talos_reason(TALOS_ERR_IO, why, cap, "%s: cannot open: %s", path, strerror(err));
    if (S_ISLNK(st.st_mode))
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                            "%s: a symbolic link: refusing to follow it (remove it)", path);
    if (err == ENOTDIR || err == EISDIR || err == ENXIO || err == ELOOP)
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap, "%s: a %s, not a %s", path,
                            kind_of(st.st_mode), want);
    return talos_reason(TALOS_ERR_IO, why, cap, "%s: cannot open: %s", path, strerror(err));
}

/* The n-th ancestor of path, for messages only (the checks use the fds). */
static void ancestor_name(const char *path, int n, char *out, size_t cap)
{
    char *canon = realpath(path, NULL);
    char *slash = NULL;

    snprintf(out, cap, "%s", canon ? canon : path);
    free(canon);
    for (int i = 0; i < n; i++) {
        slash = strrchr(out, '/');
        if (!slash)
            break;
        if (slash == out) {
            out[1] = '\0';
            break;
        }
        *slash = '\0';
    }
}

/* Each ancestor of the directory fd, walked through "..": root's or ours,
 * and not writable by others unless sticky (/tmp: there others cannot
 * rename or remove what is ours). Walking the fd's real parents, not the
 * path's text, checks the directory we hold even if a name changes. */
static int check_ancestors(int fd, const char *path, char *why, size_t cap)
{
    char name[PATH_MAX] = "";
    struct stat cur, up;
    int at = -1, parent = -1, rc = TALOS_OK;

    if ((at = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 || fstat(at, &cur) != 0) {
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: %s", path, strerror(errno));
        goto out;
    }
    for (int level = 1;; level++) {
        /* O_PATH: a parent we may search but not list is still checked. */
        parent = openat(at, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0 || fstat(parent, &up) != 0) {
            rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: cannot check its parents: %s", path,
                              strerror(errno));
            goto out;
        }
        if (up.st_dev == cur.st_dev && up.st_ino == cur.st_ino)
            break; /* "/" is its own parent */
        if ((up.st_uid != 0 && up.st_uid != geteuid()) ||
            ((up.st_mode & (S_IWGRP | S_IWOTH)) && !(up.st_mode & S_ISVTX))) {
            ancestor_name(path, level, name, sizeof(name));
            rc = talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                              "%s: its parent directory %s (uid %u, mode %04o) lets another user "
                              "replace it: refusing it (use a directory under one owned by root "
                              "or by you and not writable by others)",
                              path, name, (unsigned)up.st_uid, (unsigned)(up.st_mode & 07777));
            goto out;
        }
        close(at);
        at = parent;
        parent = -1;
        cur = up;
    }
out:
    if (parent >= 0)
        close(parent);
    if (at >= 0)
        close(at);
    return rc;
}

/* mkdir -p of path's parents (0755, like mkdir -p), then path itself 0700. */
static int create_dirs(const char *path, char *why, size_t cap)
{
    char p[PATH_MAX] = "";
    size_t n = strlen(path);

    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, i < n ? 0755 : 0700) != 0 && errno != EEXIST)
            return talos_reason(TALOS_ERR_IO, why, cap, "%s: cannot create %s: %s", path, p,
                                strerror(errno));
        p[i] = i < n ? '/' : '\0';
    }
    return TALOS_OK;
}

static int sdir_new(int fd, const char *path, struct talos_sdir **out, char *why, size_t cap)
{
    struct talos_sdir *d = calloc(1, sizeof(*d));

    if (!d) {
        close(fd);
        return talos_reason(TALOS_ERR_NOMEM, why, cap, "%s: out of memory", path);
    }
    d->fd = fd;
    snprintf(d->path, sizeof(d->path), "%s", path);
    *out = d;
    return TALOS_OK;
}

int talos_sdir_open(const char *path, unsigned flags, struct talos_sdir **out, char *why,
                    size_t cap)
{
    char p[PATH_MAX] = "";
    struct stat st;
    size_t n = path ? strlen(path) : 0;
    int fd = -1, rc = TALOS_ERR_INVALID_ARG;

    if (out)
        *out = NULL;
    if (!out || n == 0 || n >= sizeof(p))
        return talos_reason(rc, why, cap, "%s: not a usable directory path",
                            path ? path : "(null)");
    memcpy(p, path, n + 1);
    /* "dir/" would follow a symlink named dir despite O_NOFOLLOW. */
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    if ((flags & TALOS_SDIR_CREATE) && (rc = create_dirs(p, why, cap)) != TALOS_OK)
        return rc;
    if ((fd = open(p, DIR_OPEN)) < 0)
        return open_failed(AT_FDCWD, p, p, "directory", errno, why, cap);
    if (fstat(fd, &st) != 0)
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: %s", p, strerror(errno));
    else if ((rc = check_owner_mode(&st, p, why, cap)) == TALOS_OK)
        rc = check_ancestors(fd, p, why, cap);
    if (rc != TALOS_OK) {
        close(fd);
        return rc;
    }
    return sdir_new(fd, p, out, why, cap);
}

int talos_sdir_sub(const struct talos_sdir *d, const char *name, unsigned flags,
                   struct talos_sdir **out, char *why, size_t cap)
{
    char p[PATH_MAX + NAME_MAX + 2] = "";
    struct stat st;
    int fd = -1, rc = TALOS_ERR_INVALID_ARG;

    if (out)
        *out = NULL;
    if (!d || !out || !is_component(name))
        return talos_reason(rc, why, cap, "bad subdirectory name");
    if ((size_t)snprintf(p, sizeof(p), "%s/%s", d->path, name) >= PATH_MAX)
        return talos_reason(rc, why, cap, "%s/%s: path too long", d->path, name);
    if ((flags & TALOS_SDIR_CREATE) && mkdirat(d->fd, name, 0700) != 0 && errno != EEXIST)
        return talos_reason(TALOS_ERR_IO, why, cap, "%s: cannot create: %s", p, strerror(errno));
    if ((fd = openat(d->fd, name, DIR_OPEN)) < 0)
        return open_failed(d->fd, name, p, "directory", errno, why, cap);
    if (fstat(fd, &st) != 0)
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: %s", p, strerror(errno));
    else
        rc = check_owner_mode(&st, p, why, cap);
    if (rc != TALOS_OK) {
        close(fd);
        return rc;
    }
    return sdir_new(fd, p, out, why, cap);
}

void talos_sdir_close(struct talos_sdir *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d);
}

int talos_sdir_fd(const struct talos_sdir *d) { return d ? d->fd : -1; }

const char *talos_sdir_path(const struct talos_sdir *d) { return d ? d->path : ""; }

int talos_sdir_check_entries(const struct talos_sdir *d, char *why, size_t cap)
{
    char p[PATH_MAX + NAME_MAX + 2] = "";
    struct dirent *e = NULL;
    struct stat st;
    DIR *dir = NULL;
    int fd = -1, rc = TALOS_OK;

    if (!d)
        return talos_reason(TALOS_ERR_INVALID_ARG, why, cap, "no directory");
    /* A fresh fd: fdopendir takes it over, and its offset is its own. */
    if ((fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        !(dir = fdopendir(fd))) {
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: cannot list: %s", d->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    while (rc == TALOS_OK && (errno = 0, e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name);
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) /* gone since readdir: nothing to check */
                rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: %s", p, strerror(errno));
            continue;
        }
        if (S_ISLNK(st.st_mode))
            rc = talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                              "%s: a symbolic link: refusing it (nothing in this directory is a "
                              "link; remove it)", p);
        else
            rc = check_owner_mode(&st, p, why, cap);
    }
    if (rc == TALOS_OK && errno != 0)
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: cannot list: %s", d->path, strerror(errno));
    closedir(dir);
    return rc;
}

static int check_file(const struct stat *st, const char *path, unsigned flags, char *why,
                      size_t cap)
{
    int rc = TALOS_OK;

    if (!S_ISREG(st->st_mode))
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap, "%s: a %s, not a regular file", path,
                            kind_of(st->st_mode));
    if ((rc = check_owner_mode(st, path, why, cap)) != TALOS_OK)
        return rc;
    /* Another name for the same bytes elsewhere: what we write there shows
     * (or what was planted there is read) through a path we never checked. */
    if (st->st_nlink != 1)
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                            "%s: has %ju hard links: refusing it (remove it)", path,
                            (uintmax_t)st->st_nlink);
    if ((flags & TALOS_SDIR_SECRET) && (st->st_mode & (S_IRWXG | S_IRWXO)))
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                            "%s: mode %04o gives group or others access to a secret: refusing "
                            "it (if no one else could have read or replaced it, chmod 600 it; "
                            "else remove it)",
                            path, (unsigned)(st->st_mode & 07777));
    return TALOS_OK;
}

int talos_sdir_open_file(const struct talos_sdir *d, const char *name, unsigned flags,
                         mode_t mode, int *fd, char *why, size_t cap)
{
    char p[PATH_MAX + NAME_MAX + 2] = "";
    int oflags = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    struct stat st;
    int rc = TALOS_ERR_INVALID_ARG;

    if (fd)
        *fd = -1;
    if (!d || !fd || !is_component(name))
        return talos_reason(rc, why, cap, "bad file name");
    snprintf(p, sizeof(p), "%s/%s", d->path, name);
    oflags |= flags & TALOS_SDIR_RDWR ? O_RDWR : O_RDONLY;
    oflags |= flags & TALOS_SDIR_CREATE ? O_CREAT : 0;
    if ((*fd = openat(d->fd, name, oflags, mode)) < 0)
        return open_failed(d->fd, name, p, "regular file", errno, why, cap);
    if (fstat(*fd, &st) != 0)
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: %s", p, strerror(errno));
    else if ((rc = check_file(&st, p, flags, why, cap)) == TALOS_OK &&
             fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK) != 0)
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s: %s", p, strerror(errno));
    if (rc != TALOS_OK) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int talos_sdir_read(const struct talos_sdir *d, const char *name, unsigned flags, size_t max,
                    uint8_t **buf, size_t *len, char *why, size_t cap)
{
    struct stat st = {0};
    size_t got = 0, want = 0;
    ssize_t r = 0;
    int fd = -1, rc = TALOS_ERR_INVALID_ARG;

    if (!buf || !len)
        return talos_reason(rc, why, cap, "no output buffer");
    *buf = NULL;
    *len = 0;
    if ((rc = talos_sdir_open_file(d, name, flags & TALOS_SDIR_SECRET, 0, &fd, why, cap)) !=
        TALOS_OK)
        return rc;
    if (fstat(fd, &st) != 0) {
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s/%s: %s", d->path, name, strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        rc = talos_reason(TALOS_ERR_TOO_LARGE, why, cap, "%s/%s: %jd bytes, over the %zu allowed",
                          d->path, name, (intmax_t)st.st_size, max);
        goto out;
    }
    /* One byte more than the size we saw detects a file that grew. */
    want = (size_t)st.st_size + 1;
    if (!(*buf = malloc(want))) {
        rc = talos_reason(TALOS_ERR_NOMEM, why, cap, "%s/%s: out of memory", d->path, name);
        goto out;
    }
    while (got < want && (r = read(fd, *buf + got, want - got)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        got += (size_t)r;
    }
    rc = TALOS_OK;
    if (r < 0 || got != (size_t)st.st_size)
        rc = talos_reason(TALOS_ERR_IO, why, cap, "%s/%s: %s", d->path, name,
                          r < 0 ? strerror(errno) : "changed size while read");
    else
        *len = got;
out:
    if (rc != TALOS_OK && *buf) {
        talos_sdir_free(*buf, want);
        *buf = NULL;
    }
    close(fd);
    return rc;
}

void talos_sdir_free(uint8_t *buf, size_t len)
{
    if (!buf)
        return;
    talos_wipe(buf, len);
    free(buf);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int talos_sdir_write(const struct talos_sdir *d, const char *name, const void *p, size_t n,
                     mode_t mode, char *why, size_t cap)
{
    char tmp[NAME_MAX + 1] = "";
    uint64_t nonce = 0;
    int fd = -1, ok = 0, rc = TALOS_ERR_INVALID_ARG;

    if (!d || !is_component(name) || (!p && n))
        return talos_reason(rc, why, cap, "bad file name or content");
    /* An unguessable temporary name; O_EXCL refuses anything already
     * there under it, a symlink included. */
    if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
        nonce = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
    if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.%016llx", name, (unsigned long long)nonce) >=
        sizeof(tmp))
        return talos_reason(rc, why, cap, "%s/%s: name too long", d->path, name);
    rc = TALOS_ERR_IO;
    fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    ok = fchmod(fd, mode) == 0 && write_all(fd, p, n) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    fd = -1;
    if (!ok || renameat(d->fd, tmp, d->fd, name) != 0) {
        int saved = errno;
        unlinkat(d->fd, tmp, 0);
        errno = saved;
        goto out;
    }
    /* The rename itself is durable only once the directory is. */
    if (fsync(d->fd) != 0)
        goto out;
    rc = TALOS_OK;
out:
    if (rc != TALOS_OK)
        talos_reason(rc, why, cap, "%s/%s: cannot write: %s", d->path, name, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

int talos_sdir_unlink_socket(const struct talos_sdir *d, const char *name, char *why, size_t cap)
{
    struct stat st;

    if (!d || !is_component(name))
        return talos_reason(TALOS_ERR_INVALID_ARG, why, cap, "bad socket name");
    if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? TALOS_OK
                               : talos_reason(TALOS_ERR_IO, why, cap, "%s/%s: %s", d->path, name,
                                              strerror(errno));
    /* In a directory only we can write to, nothing can swap the entry
     * between this look and the unlink. */
    if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
        return talos_reason(TALOS_ERR_UNSAFE_FILE, why, cap,
                            "%s/%s: a %s owned by uid %u, not a socket of ours: refusing to "
                            "remove it (remove it yourself if it is stale)",
                            d->path, name, kind_of(st.st_mode), (unsigned)st.st_uid);
    if (unlinkat(d->fd, name, 0) != 0 && errno != ENOENT)
        return talos_reason(TALOS_ERR_IO, why, cap, "%s/%s: cannot remove: %s", d->path, name,
                            strerror(errno));
    return TALOS_OK;
}
