#include "os/selffd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

#include "talos/err.h"

static const struct {
    const char *path;
    int flags;
} files[TALOS_SELF_NFILES] = {
    [TALOS_SELF_MAPS] = {"/proc/self/maps", O_RDONLY},
    [TALOS_SELF_PAGEMAP] = {"/proc/self/pagemap", O_RDONLY},
    [TALOS_SELF_CLEAR_REFS] = {"/proc/self/clear_refs", O_WRONLY},
    [TALOS_SELF_STATUS] = {"/proc/self/status", O_RDONLY},
};

/* Written once by talos_self_preopen, before the threads that read them
 * exist or under the release of `ready`. */
static int fds[TALOS_SELF_NFILES] = {-1, -1, -1, -1};
static atomic_int ready;

int talos_self_preopen(void)
{
    if (atomic_load(&ready))
        return TALOS_ERR_STATE;
    for (int i = 0; i < TALOS_SELF_NFILES; i++)
        fds[i] = open(files[i].path, files[i].flags | O_CLOEXEC);
    atomic_store(&ready, 1);
    return TALOS_OK;
}

int talos_self_open(enum talos_self_file f)
{
    if ((unsigned)f >= TALOS_SELF_NFILES) {
        errno = EINVAL;
        return -1;
    }
    if (!atomic_load(&ready))
        return open(files[f].path, files[f].flags | O_CLOEXEC);
    if (fds[f] < 0) {
        errno = EACCES;
        return -1;
    }
    return fcntl(fds[f], F_DUPFD_CLOEXEC, 0);
}
