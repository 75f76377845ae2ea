/* Private directories and the files in them (issue #13; docs/state-dir.md).
 *
 * A directory TALOS keeps its state in (talosd's state dir, the sim CA)
 * must be this user's alone: another local user who could create, replace
 * or pre-plant entries there could plant images, point a file TALOS writes
 * at a victim through a symlink, or hand it a known secret. The rules are
 * those of ssh's StrictModes:
 *
 *  - the directory is owned by the effective uid, is not writable by group
 *    or others, and is not a symlink; each of its ancestors is owned by
 *    root or the effective uid and is not writable by group or others
 *    unless it has the sticky bit (/tmp);
 *  - every later open is relative to the directory's fd (never through its
 *    path again), with O_NOFOLLOW: a symlink in it is refused, not followed;
 *  - a file opened through it is a regular file with one link, owned by
 *    the effective uid, not writable by group or others; a secret
 *    (TALOS_SDIR_SECRET) has no group or other permission bit at all.
 *
 * Every refusal is TALOS_ERR_UNSAFE_FILE with a one-line reason in why
 * (cap bytes, NUL-terminated, truncated) that names the path and says what
 * to do. why may be NULL. What is found is never changed by a refusal
 * (with TALOS_SDIR_CREATE, directories that were missing may be left).
 * Shared by the node and the sim platform (os/: both sides).
 */
#ifndef TALOS_OS_SDIR_H
#define TALOS_OS_SDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "talos/err.h"

/* Room for any reason this module writes (it names a path). */
#define TALOS_SDIR_WHY_BYTES 4352

/* Flags. */
#define TALOS_SDIR_CREATE 0x1u /* create if missing: a dir 0700 (its parents 0755),
                                  a file with the given mode */
#define TALOS_SDIR_SECRET 0x2u /* file: refuse any group/other permission bit */
#define TALOS_SDIR_RDWR 0x4u   /* file: open read-write (default: read-only) */

struct talos_sdir; /* an open, checked private directory */

/* Open the directory at path (absolute or relative to the cwd; trailing
 * slashes ignored), creating it (and its missing parents) first with
 * TALOS_SDIR_CREATE, and check it and its ancestors as above. Its entries
 * are not checked here (talos_sdir_check_entries).
 * TALOS_OK and *out; TALOS_ERR_NOT_FOUND when missing without CREATE;
 * TALOS_ERR_UNSAFE_FILE; TALOS_ERR_IO when it cannot be created or opened;
 * TALOS_ERR_INVALID_ARG (empty or over-long path); TALOS_ERR_NOMEM. */
TALOS_MUST_CHECK int talos_sdir_open(const char *path, unsigned flags, struct talos_sdir **out,
                                     char *why, size_t cap);

/* The same for the subdirectory `name` (one path component: no '/', not
 * "." or "..") of d, created 0700 with TALOS_SDIR_CREATE. */
TALOS_MUST_CHECK int talos_sdir_sub(const struct talos_sdir *d, const char *name, unsigned flags,
                                    struct talos_sdir **out, char *why, size_t cap);

/* Close d; NULL ok. */
void talos_sdir_close(struct talos_sdir *d);

/* The directory's fd (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
 * owned by d: for *at() calls of the caller's own. */
int talos_sdir_fd(const struct talos_sdir *d);

/* The path d was opened with (for messages). */
const char *talos_sdir_path(const struct talos_sdir *d);

/* Check every entry of d (not recursively: call it on named
 * subdirectories too): none may be a symlink, owned by another user, or
 * writable by group or others. The first offender is named in why:
 * TALOS_ERR_UNSAFE_FILE. TALOS_ERR_IO when d cannot be read. */
TALOS_MUST_CHECK int talos_sdir_check_entries(const struct talos_sdir *d, char *why, size_t cap);

/* Open the file `name` (one component) of d with O_NOFOLLOW | O_CLOEXEC |
 * O_NONBLOCK (a FIFO planted there cannot block the open; the flag is
 * cleared again once the fd is known to be a regular file), read-only or
 * with TALOS_SDIR_RDWR read-write, created with `mode` under
 * TALOS_SDIR_CREATE (never truncated), and check the open fd as above
 * (TALOS_SDIR_SECRET: no group/other bits). *fd is the caller's to close.
 * TALOS_ERR_NOT_FOUND when missing without CREATE; TALOS_ERR_UNSAFE_FILE;
 * TALOS_ERR_IO; TALOS_ERR_INVALID_ARG. On failure *fd is -1. */
TALOS_MUST_CHECK int talos_sdir_open_file(const struct talos_sdir *d, const char *name,
                                          unsigned flags, mode_t mode, int *fd, char *why,
                                          size_t cap);

/* Read the whole file `name` of d, opened and checked as
 * talos_sdir_open_file (flags: TALOS_SDIR_SECRET or 0), into a malloc'd
 * buffer: *buf, *len bytes. Over max bytes: TALOS_ERR_TOO_LARGE; a file
 * that changes size while read: TALOS_ERR_IO. Other errors as
 * talos_sdir_open_file. Release *buf with talos_sdir_free. */
TALOS_MUST_CHECK int talos_sdir_read(const struct talos_sdir *d, const char *name, unsigned flags,
                                     size_t max, uint8_t **buf, size_t *len, char *why,
                                     size_t cap);

/* Wipe len bytes of buf and free it; NULL ok. */
void talos_sdir_free(uint8_t *buf, size_t len);

/* Replace (or create) `name` in d atomically with n bytes of p and
 * permissions `mode`: a temporary file created O_EXCL | O_NOFOLLOW in d,
 * fchmod'ed, written, fsync'ed, renamed over name, then d fsync'ed. A
 * crash leaves the old file or the whole new one. TALOS_ERR_IO (the
 * temporary file is removed); TALOS_ERR_INVALID_ARG. */
TALOS_MUST_CHECK int talos_sdir_write(const struct talos_sdir *d, const char *name, const void *p,
                                      size_t n, mode_t mode, char *why, size_t cap);

/* Remove the stale Unix socket `name` of d before a bind, only if it is a
 * socket owned by the effective uid; TALOS_OK when there is none.
 * Anything else there: TALOS_ERR_UNSAFE_FILE, left in place. */
TALOS_MUST_CHECK int talos_sdir_unlink_socket(const struct talos_sdir *d, const char *name,
                                              char *why, size_t cap);

#endif
