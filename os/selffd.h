/* Files of /proc/self that a process opens once, early, and reuses
 * (os/: both sides).
 *
 * Why: a confined sim TA (docs/confinement.md) may not open any file once
 * its seccomp filter is in place, and once it is not dumpable its
 * /proc/self/pagemap and clear_refs belong to root, whom the TA user is not.
 * Access to a /proc/PID file is checked when it is opened: descriptors
 * opened before both keep working. A process that never calls
 * talos_self_preopen (the node, unit tests) opens the file on each
 * talos_self_open, as before. */
#ifndef TALOS_OS_SELFFD_H
#define TALOS_OS_SELFFD_H

enum talos_self_file {
    TALOS_SELF_MAPS = 0,       /* /proc/self/maps, read */
    TALOS_SELF_PAGEMAP = 1,    /* /proc/self/pagemap, read (write tracking) */
    TALOS_SELF_CLEAR_REFS = 2, /* /proc/self/clear_refs, write (soft-dirty) */
    TALOS_SELF_STATUS = 3,     /* /proc/self/status, read (its thread count, D46) */
    TALOS_SELF_NFILES = 4,
};

/* Open every file of the enum now, close-on-exec, for the life of the
 * process; call once, before the process loses the right to open them.
 * A file that cannot be opened is remembered as missing (its later
 * talos_self_open fails: the caller's fallback applies, as on a kernel
 * without it). TALOS_ERR_STATE when called twice. */
int talos_self_preopen(void);

/* A new close-on-exec descriptor of f, which the caller closes, or -1
 * (errno set). After talos_self_preopen it is a duplicate: it shares the
 * file offset with every other one, so read with pread, or lseek under a
 * lock of the caller's. */
int talos_self_open(enum talos_self_file f);

#endif
