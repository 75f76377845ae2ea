/* Content-addressed store of TA images under STATE_DIR/images.
 *
 * Bytes become a stored image only through admit(): streamed into a
 * temporary file (size-capped, hashed as they arrive), checked by the
 * backend (parsed, never run), allowed by the image policy, and only then
 * renamed to images/<sha256>.ta, mode 0555. Refused bytes are deleted.
 * A stored image is hashed again whenever it is used: its name must still
 * be its content. Every open is relative to the images directory and
 * refuses links. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "node/talosd/node.h"
#include "node/talosd/peerproto.h"
#include "os/xport.h"

#define IMAGE_MAX PEER_IMAGE_MAX
#define CHUNK (1u << 16)

static int images_dir = -1;

int images_init(char *why, size_t cap)
{
    char path[PATH_MAX + 16];

    snprintf(path, sizeof(path), "%s/images", node.state_dir);
    if (mkdirat(AT_FDCWD, path, 0700) != 0 && errno != EEXIST) {
        snprintf(why, cap, "cannot create %s: %s", path, strerror(errno));
        return TALOS_ERR_IO;
    }
    if ((images_dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
        return TALOS_ERR_IO;
    }
    return TALOS_OK;
}

static int name_of(const uint8_t sha[32], char name[72])
{
    char hex[65];
    talos_hex(sha, 32, hex);
    snprintf(name, 72, "%s.ta", hex);
    return TALOS_OK;
}

static void path_of(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/images/%s", node.state_dir, name);
}

/* A fresh temporary file in the images dir; its name in tmp. */
static int temp_open(char tmp[64])
{
    uint8_t r[8];
    char hex[17];
    int fd = -1;

    for (int i = 0; i < 16 && fd < 0; i++) {
        if (talos_random_bytes(r, sizeof(r)) != TALOS_OK)
            return -1;
        talos_hex(r, sizeof(r), hex);
        snprintf(tmp, 64, ".incoming-%s", hex);
        fd = openat(images_dir, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    return fd;
}

/* Where the bytes come from: a file (talos run) or a peer's link. */
struct source {
    int fd;
    struct peer_link *link;
};

static int source_read(const struct source *s, uint8_t *buf, size_t n)
{
    if (s->link)
        return peer_link_read(s->link, buf, n);
    return talos_fd_read_full(s->fd, buf, n);
}

/* Copy `size` bytes from s into the file `out` (-1: nowhere), hashing them. */
static int stream(const struct source *s, int out, uint64_t size, uint8_t sha[32])
{
    struct talos_sha256_ctx *c = NULL;
    uint8_t *buf = malloc(CHUNK);
    int rc = buf ? talos_sha256_begin(&c) : TALOS_ERR_NOMEM;

    for (uint64_t left = size; rc == TALOS_OK && left;) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        if ((rc = source_read(s, buf, n)) != TALOS_OK)
            break;
        talos_sha256_add(c, buf, n);
        if (out >= 0 && (rc = talos_fd_write_full(out, buf, n)) != TALOS_OK)
            rc = TALOS_ERR_IO;
        left -= n;
    }
    if (c && rc == TALOS_OK)
        rc = talos_sha256_end(c, sha);
    else if (c)
        talos_sha256_free(c);
    free(buf);
    return rc;
}

/* The temporary file holds an image with this sha: check it, apply the
 * policy, and keep it as images/<sha>.ta, or delete it. */
static int admit(const char *tmp, int fd, const uint8_t sha[32], const char *origin, char *out,
                 size_t cap, char *why, size_t why_cap)
{
    char name[72], tmp_path[PATH_MAX + 96];
    uint8_t measurement[TALOS_MEASUREMENT_BYTES];
    int rc = TALOS_OK;

    name_of(sha, name);
    path_of(tmp, tmp_path, sizeof(tmp_path));
    if (fsync(fd) != 0) {
        snprintf(why, why_cap, "cannot store the image: %s", strerror(errno));
        return TALOS_ERR_IO;
    }
    if ((rc = talos_host_check_image(node.host, tmp_path, measurement, why, why_cap)) != TALOS_OK)
        return rc;
    if ((rc = image_policy_allows(measurement, origin, why, why_cap)) != TALOS_OK)
        return rc;
    /* Read and execute for everyone (a TA may run as another user and is
     * started from a descriptor), written by nobody. */
    if (fchmod(fd, 0555) != 0 || renameat(images_dir, tmp, images_dir, name) != 0 ||
        fsync(images_dir) != 0) {
        snprintf(why, why_cap, "cannot store the image: %s", strerror(errno));
        return TALOS_ERR_IO;
    }
    path_of(name, out, cap);
    return TALOS_OK;
}

/* Stream, hash, check, keep or delete: the one way into the store. `want`
 * (a peer's announced hash) must match when not NULL. */
static int take(const struct source *s, uint64_t size, const uint8_t *want, const char *origin,
                char *out, size_t cap, char *why, size_t why_cap)
{
    char tmp[64];
    uint8_t sha[32];
    int fd = temp_open(tmp), rc = TALOS_OK;

    if (fd < 0) {
        snprintf(why, why_cap, "cannot create a file in the image store: %s", strerror(errno));
        return TALOS_ERR_IO;
    }
    if ((rc = stream(s, fd, size, sha)) != TALOS_OK) {
        snprintf(why, why_cap, "image transfer failed: %s", talos_strerror(rc));
        goto out;
    }
    if (want && !talos_ct_eq(sha, want, 32)) {
        snprintf(why, why_cap, "the image bytes do not hash to the announced SHA-256");
        rc = TALOS_ERR_IMAGE;
        goto out;
    }
    rc = admit(tmp, fd, sha, origin, out, cap, why, why_cap);
out:
    if (rc != TALOS_OK)
        (void)unlinkat(images_dir, tmp, 0); /* after a rename this finds nothing */
    close(fd);
    return rc;
}

int images_store(const char *src, char *out, size_t cap, char *why, size_t why_cap)
{
    struct stat st;
    struct source s = {.fd = -1};
    int rc = TALOS_OK;

    /* O_NONBLOCK: a FIFO or device named by a request never blocks the
     * node; anything but a regular file is refused. */
    if ((s.fd = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
        snprintf(why, why_cap, "%s", errno == ENOENT ? "no such file" : strerror(errno));
        return errno == ENOENT ? TALOS_ERR_NOT_FOUND : TALOS_ERR_IO;
    }
    if (fstat(s.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_cap, "not a regular file");
        rc = TALOS_ERR_IMAGE;
    } else if ((uint64_t)st.st_size > IMAGE_MAX || st.st_size == 0) {
        snprintf(why, why_cap, "%lld bytes: an image has 1 to %u", (long long)st.st_size, IMAGE_MAX);
        rc = st.st_size ? TALOS_ERR_TOO_LARGE : TALOS_ERR_IMAGE;
    } else {
        /* Regular file: reads do not block; O_NONBLOCK may stay. */
        rc = take(&s, (uint64_t)st.st_size, NULL, "operator", out, cap, why, why_cap);
    }
    close(s.fd);
    return rc;
}

int images_receive(struct peer_link *l, uint64_t size, const uint8_t sha[32], char *out, size_t cap,
                   char *why, size_t why_cap)
{
    struct source s = {.fd = -1, .link = l};

    if (size == 0 || size > IMAGE_MAX) {
        snprintf(why, why_cap, "image of %llu bytes: at most %u", (unsigned long long)size, IMAGE_MAX);
        return TALOS_ERR_TOO_LARGE;
    }
    return take(&s, size, sha, "peer", out, cap, why, why_cap);
}

/* The hash in a stored image's name (images/<sha256>.ta). */
int images_sha(const char *path, uint8_t sha[32])
{
    const char *slash = strrchr(path, '/');
    char hex[65];
    if (!slash || strlen(slash + 1) != 64 + 3)
        return TALOS_ERR_IMAGE;
    memcpy(hex, slash + 1, 64);
    hex[64] = '\0';
    return talos_unhex(hex, sha, 32);
}

/* Hash the stored file (our own, regular, not a link) again. */
static int verify_stored(const char *name, const uint8_t sha[32])
{
    struct stat st;
    struct source s = {.fd = -1};
    uint8_t got[32];
    int rc = TALOS_ERR_IMAGE;

    if ((s.fd = openat(images_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
        return errno == ENOENT ? TALOS_ERR_NOT_FOUND : TALOS_ERR_IMAGE;
    if (fstat(s.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022) || (uint64_t)st.st_size > IMAGE_MAX)
        goto out;
    if (stream(&s, -1, (uint64_t)st.st_size, got) != TALOS_OK)
        goto out;
    rc = talos_ct_eq(got, sha, 32) ? TALOS_OK : TALOS_ERR_IMAGE;
out:
    close(s.fd);
    return rc;
}

int images_have(const uint8_t sha[32], char *out, size_t cap)
{
    char name[72];
    int rc = TALOS_OK;

    name_of(sha, name);
#ifdef TALOS_HOSTILE_HOST
    /* Test build only (build/tests/talosd-hostile; T13, T16-T19): a
     * hostile host runs whatever file it likes under an image's name, and
     * the source TA must refuse the target's measurement itself. */
    if (faccessat(images_dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        path_of(name, out, cap);
        return 1;
    }
#endif
    if ((rc = verify_stored(name, sha)) == TALOS_ERR_NOT_FOUND)
        return 0;
    if (rc != TALOS_OK) {
        /* Not what its name says (or not ours): it never runs. */
        TLOG_WARN("images: %s is not the image its name says, or not talosd's own file: removed",
                  name);
        (void)unlinkat(images_dir, name, 0);
        return 0;
    }
    path_of(name, out, cap);
    return 1;
}
