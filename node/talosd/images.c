/* Content-addressed store of TA images under STATE_DIR/images.
 *
 * Bytes become a stored image only through admit(): streamed into a
 * temporary file (size-capped, hashed as they arrive), checked by the
 * backend (parsed, never run), allowed by the image policy, and only then
 * renamed to images/<sha256>.ta, mode 0555 (with its signature, if it came
 * with one, as images/<sha256>.sig, which travels with it to peers).
 * Refused bytes are deleted. A stored image is hashed again whenever it is
 * used: its name must still be its content; one this run did not admit
 * itself (kept by an earlier run, maybe under another policy) passes the
 * checks and the policy again first. Every open is relative to the images
 * directory and refuses links. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/sign.h"
#include "node/talosd/node.h"
#include "node/talosd/peerproto.h"
#include "os/sdir.h"
#include "os/xport.h"

#define IMAGE_MAX PEER_IMAGE_MAX
#define CHUNK (1u << 16)

static struct talos_sdir *images;
static int images_dir = -1; /* its descriptor: every open is relative to it */

/* The images this run admitted (checked and allowed), by hash. */
#define ADMITTED_MAX 64
static pthread_mutex_t adm_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t admitted[ADMITTED_MAX][TALOS_SHA256_BYTES];
static size_t admitted_n, admitted_next;

static void admitted_add(const uint8_t sha[TALOS_SHA256_BYTES])
{
    pthread_mutex_lock(&adm_lock);
    memcpy(admitted[admitted_next], sha, TALOS_SHA256_BYTES);
    admitted_next = (admitted_next + 1) % ADMITTED_MAX;
    if (admitted_n < ADMITTED_MAX)
        admitted_n++;
    pthread_mutex_unlock(&adm_lock);
}

static int admitted_has(const uint8_t sha[TALOS_SHA256_BYTES])
{
    int found = 0;
    pthread_mutex_lock(&adm_lock);
    for (size_t i = 0; i < admitted_n && !found; i++)
        found = memcmp(admitted[i], sha, TALOS_SHA256_BYTES) == 0;
    pthread_mutex_unlock(&adm_lock);
    return found;
}

int images_init(const struct talos_sdir *sd, char *why, size_t cap)
{
    int rc = talos_sdir_sub(sd, "images", TALOS_SDIR_CREATE, &images, why, cap);

    if (rc == TALOS_OK)
        images_dir = talos_sdir_fd(images);
    return rc;
}

void images_fini(void)
{
    talos_sdir_close(images);
    images = NULL;
    images_dir = -1;
}

static void name_of(const uint8_t sha[TALOS_SHA256_BYTES], const char *ext, char name[72])
{
    char hex[65];
    talos_hex(sha, TALOS_SHA256_BYTES, hex);
    snprintf(name, 72, "%s.%s", hex, ext);
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
static int stream(const struct source *s, int out, uint64_t size, uint8_t sha[TALOS_SHA256_BYTES])
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

/* The file at path (in the images dir) is an image this node may run:
 * the backend's check, then the policy (sig: its signature or NULL). */
static int allowed(const char *name, const uint8_t sha[TALOS_SHA256_BYTES], const uint8_t *sig,
                   const char *origin, char *why, size_t why_cap)
{
    char path[PATH_MAX + 96];
    uint8_t measurement[TALOS_MEASUREMENT_BYTES];
    int rc = TALOS_OK;

    path_of(name, path, sizeof(path));
    if ((rc = talos_host_check_image(node.host, path, measurement, why, why_cap)) != TALOS_OK)
        return rc;
    return image_policy_allows(measurement, sha, sig, origin, why, why_cap);
}

/* Keep sig as images/<sha>.sig (read-only), replacing an older one. */
static int keep_sig(const uint8_t sha[TALOS_SHA256_BYTES], const uint8_t sig[TALOS_IMAGE_SIG_BYTES],
                    char *why, size_t cap)
{
    char name[72];

    name_of(sha, "sig", name);
    return talos_sdir_write(images, name, sig, TALOS_IMAGE_SIG_BYTES, 0444, why, cap);
}

/* The temporary file holds an image with this sha: check it, apply the
 * policy, and keep it as images/<sha>.ta, or delete it. */
static int admit(const char *tmp, int fd, const uint8_t sha[TALOS_SHA256_BYTES], const uint8_t *sig,
                 const char *origin, char *out, size_t cap, char *why, size_t why_cap)
{
    char name[72];
    int rc = TALOS_OK;

    name_of(sha, "ta", name);
    if (fsync(fd) != 0) {
        snprintf(why, why_cap, "cannot store the image: %s", strerror(errno));
        return TALOS_ERR_IO;
    }
    if ((rc = allowed(tmp, sha, sig, origin, why, why_cap)) != TALOS_OK)
        return rc;
    if (sig && (rc = keep_sig(sha, sig, why, why_cap)) != TALOS_OK)
        return rc;
    /* Read and execute for everyone (a TA may run as another user and is
     * started from a descriptor), written by nobody. */
    if (fchmod(fd, 0555) != 0 || renameat(images_dir, tmp, images_dir, name) != 0 ||
        fsync(images_dir) != 0) {
        snprintf(why, why_cap, "cannot store the image: %s", strerror(errno));
        return TALOS_ERR_IO;
    }
    path_of(name, out, cap);
    admitted_add(sha);
    return TALOS_OK;
}

/* Stream, hash, check, keep or delete: the one way into the store. `want`
 * (a peer's announced hash) must match when not NULL. */
static int take(const struct source *s, uint64_t size, const uint8_t *want, const uint8_t *sig,
                const char *origin, char *out, size_t cap, char *why, size_t why_cap)
{
    char tmp[64];
    uint8_t sha[TALOS_SHA256_BYTES];
    int fd = temp_open(tmp), rc = TALOS_OK;

    if (fd < 0) {
        snprintf(why, why_cap, "cannot create a file in the image store: %s", strerror(errno));
        return TALOS_ERR_IO;
    }
    if ((rc = stream(s, fd, size, sha)) != TALOS_OK) {
        snprintf(why, why_cap, "image transfer failed: %s", talos_strerror(rc));
        goto out;
    }
    if (want && !talos_ct_eq(sha, want, TALOS_SHA256_BYTES)) {
        snprintf(why, why_cap, "the image bytes do not hash to the announced SHA-256");
        rc = TALOS_ERR_IMAGE;
        goto out;
    }
    rc = admit(tmp, fd, sha, sig, origin, out, cap, why, why_cap);
out:
    if (rc != TALOS_OK)
        (void)unlinkat(images_dir, tmp, 0); /* after a rename this finds nothing */
    close(fd);
    return rc;
}

int images_store(const char *src, const uint8_t *sig, char *out, size_t cap, char *why,
                 size_t why_cap)
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
        rc = take(&s, (uint64_t)st.st_size, NULL, sig, "operator", out, cap, why, why_cap);
    }
    close(s.fd);
    return rc;
}

/* Images received from peers at once: each may hold up to IMAGE_MAX of
 * disk in a temporary file until it is checked. */
#define RECEIVING_MAX 4
static int receiving; /* atomic */

int images_receive(struct peer_link *l, uint64_t size, const uint8_t sha[TALOS_SHA256_BYTES],
                   const uint8_t *sig, char *out, size_t cap, char *why, size_t why_cap)
{
    struct source s = {.fd = -1, .link = l};
    int rc = TALOS_OK;

    if (size == 0 || size > IMAGE_MAX) {
        snprintf(why, why_cap, "image of %llu bytes: at most %u", (unsigned long long)size, IMAGE_MAX);
        return TALOS_ERR_TOO_LARGE;
    }
    if (__atomic_add_fetch(&receiving, 1, __ATOMIC_RELAXED) > RECEIVING_MAX) {
        snprintf(why, why_cap, "%d images are being received already; retry", RECEIVING_MAX);
        rc = TALOS_ERR_BUSY;
    } else {
        rc = take(&s, size, sha, sig, "peer", out, cap, why, why_cap);
    }
    __atomic_sub_fetch(&receiving, 1, __ATOMIC_RELAXED);
    return rc;
}

/* The hash in a stored image's name (images/<sha256>.ta). */
int images_sha(const char *path, uint8_t sha[TALOS_SHA256_BYTES])
{
    const char *slash = strrchr(path, '/');
    char hex[2 * TALOS_SHA256_BYTES + 1];
    if (!slash || strlen(slash + 1) != 2 * TALOS_SHA256_BYTES + 3)
        return TALOS_ERR_IMAGE;
    memcpy(hex, slash + 1, 2 * TALOS_SHA256_BYTES);
    hex[2 * TALOS_SHA256_BYTES] = '\0';
    return talos_unhex(hex, sha, TALOS_SHA256_BYTES);
}

/* Hash the stored file (our own, regular, not a link: os/sdir) again. */
static int verify_stored(const char *name, const uint8_t sha[TALOS_SHA256_BYTES])
{
    struct stat st;
    struct source s = {.fd = -1};
    uint8_t got[TALOS_SHA256_BYTES];
    char why[TALOS_SDIR_WHY_BYTES];
    int rc = talos_sdir_open_file(images, name, 0, 0, &s.fd, why, sizeof(why));

    if (rc != TALOS_OK)
        return rc == TALOS_ERR_NOT_FOUND ? rc : TALOS_ERR_IMAGE;
    rc = TALOS_ERR_IMAGE;
    if (fstat(s.fd, &st) != 0 || (uint64_t)st.st_size > IMAGE_MAX)
        goto out;
    if (stream(&s, -1, (uint64_t)st.st_size, got) != TALOS_OK)
        goto out;
    rc = talos_ct_eq(got, sha, TALOS_SHA256_BYTES) ? TALOS_OK : TALOS_ERR_IMAGE;
out:
    close(s.fd);
    return rc;
}

int images_sig(const uint8_t sha[TALOS_SHA256_BYTES], uint8_t sig[TALOS_IMAGE_SIG_BYTES])
{
    char name[72], why[TALOS_SDIR_WHY_BYTES];
    uint8_t *buf = NULL;
    size_t len = 0;
    int have = 0;

    name_of(sha, "sig", name);
    if (talos_sdir_read(images, name, 0, TALOS_IMAGE_SIG_BYTES, &buf, &len, why, sizeof(why)) ==
        TALOS_OK) {
        have = len == TALOS_IMAGE_SIG_BYTES;
        if (have)
            memcpy(sig, buf, len);
        talos_sdir_free(buf, len);
    }
    return have;
}

int images_have(const uint8_t sha[TALOS_SHA256_BYTES], char *out, size_t cap)
{
    char name[72], why[300] = "";
    uint8_t sig[TALOS_IMAGE_SIG_BYTES];
    int rc = TALOS_OK;

    name_of(sha, "ta", name);
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
    if (!admitted_has(sha)) {
        /* Kept by an earlier run: checked and allowed again, once (and made
         * 0555: a node before confinement stored images 0700, which a TA
         * running as another user could not execute). */
        (void)fchmodat(images_dir, name, 0555, 0);
        if ((rc = allowed(name, sha, images_sig(sha, sig) ? sig : NULL, "store", why,
                          sizeof(why))) != TALOS_OK) {
            TLOG_WARN("images: %s is not allowed to run (%s): not used", name, why);
            return 0;
        }
        admitted_add(sha);
    }
    path_of(name, out, cap);
    return 1;
}
