/* Content-addressed store of TA images under STATE_DIR/images. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "node/talosd/node.h"
#include "os/xport.h"

#define IMAGE_MAX (512u << 20)
/* Read-only for everyone, executable by the TA user: a sim TA runs as
 * another user than a root node (docs/confinement.md), from a descriptor,
 * so it needs no way into the 0700 state directory, only this file's own
 * mode. Nothing in an image is secret. */
#define IMAGE_MODE 0555

int images_store(const char *src, char *out, size_t cap)
{
    struct stat st;
    uint8_t *buf = NULL;
    uint8_t digest[32];
    char hex[65], tmp[PATH_MAX + 128];
    int fd = -1, ofd = -1, rc = TALOS_OK;

    if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT ? TALOS_ERR_NOT_FOUND : TALOS_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = TALOS_ERR_IMAGE;
        goto out;
    }
    if ((uint64_t)st.st_size > IMAGE_MAX) {
        rc = TALOS_ERR_TOO_LARGE;
        goto out;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    /* Read once; everything after works on this private copy. */
    if ((rc = talos_fd_read_full(fd, buf, (size_t)st.st_size)) != TALOS_OK) {
        rc = TALOS_ERR_IO;
        goto out;
    }
    talos_sha256(buf, (size_t)st.st_size, digest);
    talos_hex(digest, sizeof(digest), hex);
    if ((size_t)snprintf(out, cap, "%s/images/%s.ta", node.state_dir, hex) >= cap) {
        rc = TALOS_ERR_TOO_LARGE;
        goto out;
    }
    if (access(out, X_OK) == 0) {
        (void)chmod(out, IMAGE_MODE); /* stored by an older node as 0700 */
        goto out;                     /* same bytes already stored */
    }
    snprintf(tmp, sizeof(tmp), "%s/images/.%s.%d", node.state_dir, hex, (int)getpid());
    if ((ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, IMAGE_MODE)) < 0 ||
        fchmod(ofd, IMAGE_MODE) != 0 || /* whatever the umask */
        talos_fd_write_full(ofd, buf, (size_t)st.st_size) != TALOS_OK || fsync(ofd) != 0 ||
        close(ofd) != 0 || (ofd = -1, rename(tmp, out) != 0)) {
        unlink(tmp);
        rc = TALOS_ERR_IO;
    }
out:
    if (ofd >= 0)
        close(ofd);
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* Receive `size` image bytes from a peer into the store. The name is the
 * hash the peer announced; the bytes must hash to it or nothing is kept. */
int images_receive(int fd, uint64_t size, const uint8_t sha[32], char *out, size_t cap)
{
    char hex[65], tmp[PATH_MAX + 128];
    uint8_t *buf = NULL, digest[32];
    int ofd = -1, rc = TALOS_OK;

    talos_hex(sha, 32, hex);
    if ((size_t)snprintf(out, cap, "%s/images/%s.ta", node.state_dir, hex) >= cap)
        return TALOS_ERR_TOO_LARGE;
    if (size > IMAGE_MAX)
        return TALOS_ERR_TOO_LARGE;
    if (!(buf = malloc(size)))
        return TALOS_ERR_NOMEM;
    if ((rc = talos_fd_read_full(fd, buf, size)) != TALOS_OK)
        goto out;
    talos_sha256(buf, size, digest);
    if (!talos_ct_eq(digest, sha, 32)) {
        rc = TALOS_ERR_IMAGE;
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s/images/.%s.%d.%p", node.state_dir, hex, (int)getpid(), (void *)buf);
    if ((ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, IMAGE_MODE)) < 0 ||
        fchmod(ofd, IMAGE_MODE) != 0 || /* whatever the umask */
        talos_fd_write_full(ofd, buf, size) != TALOS_OK || close(ofd) != 0 ||
        (ofd = -1, rename(tmp, out) != 0)) {
        unlink(tmp);
        rc = TALOS_ERR_IO;
    }
out:
    if (ofd >= 0)
        close(ofd);
    free(buf);
    return rc;
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

int images_have(const uint8_t sha[32], char *out, size_t cap)
{
    char hex[65];
    talos_hex(sha, 32, hex);
    if ((size_t)snprintf(out, cap, "%s/images/%s.ta", node.state_dir, hex) >= cap)
        return 0;
    return access(out, X_OK) == 0;
}
