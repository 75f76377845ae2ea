/* posix_spawn of a sim TA with exactly the descriptors it is owed. */
#include "tee/sim/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define TA_FD_CHANNEL 3
#define TA_FD_SHM 4
#define TA_FD_FIRST_FREE 5

extern char **environ;

static int spawn_err(int err)
{
    switch (err) {
    case ENOENT: case EACCES: case ENOEXEC: case ENOTDIR: case ELOOP: case ETXTBSY:
        return TALOS_ERR_IMAGE;
    case ENOMEM:
        return TALOS_ERR_NOMEM;
    case EAGAIN:
        return TALOS_ERR_BUSY;
    default:
        return TALOS_ERR_IO;
    }
}

int talos_sim_launch(const struct talos_launch *l, int *pid)
{
    posix_spawn_file_actions_t fa = {0};
    posix_spawnattr_t attr = {0};
    sigset_t none = {0}, all = {0};
    char *argv[2] = {NULL, NULL};
    pid_t child = 0;
    int chan = -1, shm = -1, have_fa = 0, have_attr = 0, err = 0;
    int rc = TALOS_ERR_INVALID_ARG;

    sigemptyset(&none);
    sigfillset(&all);
    if (pid)
        *pid = 0;
    if (!l || !pid || !l->image_path || l->channel_fd < 0)
        return TALOS_ERR_INVALID_ARG;
    /* Duplicate both descriptors above 4 first: dup2 onto the same number
     * would keep close-on-exec, and a shm_fd of 3 would be clobbered by the
     * channel's dup2 before its own. The copies are close-on-exec; the dup2
     * targets in the child are not. */
    chan = fcntl(l->channel_fd, F_DUPFD_CLOEXEC, TA_FD_FIRST_FREE);
    if (chan < 0)
        goto out;
    if (l->shm_fd >= 0) {
        shm = fcntl(l->shm_fd, F_DUPFD_CLOEXEC, TA_FD_FIRST_FREE);
        if (shm < 0)
            goto out;
    }
    rc = TALOS_ERR_NOMEM;
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto out;
    have_fa = 1;
    if (posix_spawnattr_init(&attr) != 0)
        goto out;
    have_attr = 1;
    /* closefrom runs in the child, so descriptors another thread of the host
     * opens without O_CLOEXEC meanwhile cannot leak into the TA. */
    if (posix_spawn_file_actions_adddup2(&fa, chan, TA_FD_CHANNEL) != 0 ||
        (shm >= 0 && posix_spawn_file_actions_adddup2(&fa, shm, TA_FD_SHM) != 0) ||
        posix_spawn_file_actions_addclosefrom_np(&fa, shm >= 0 ? TA_FD_FIRST_FREE : TA_FD_SHM) != 0)
        goto out;
    /* The host may ignore SIGPIPE or block signals; the TA starts clean. */
    if (posix_spawnattr_setsigmask(&attr, &none) != 0 ||
        posix_spawnattr_setsigdefault(&attr, &all) != 0 ||
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0)
        goto out;
    argv[0] = (char *)l->image_path;
    err = posix_spawn(&child, l->image_path, &fa, &attr, argv, environ);
    if (err != 0) {
        rc = spawn_err(err);
        TLOG_ERR("sim: cannot start TA %s: %s", l->image_path, strerror(err));
        goto out;
    }
    *pid = (int)child;
    rc = TALOS_OK;
out:
    if (rc == TALOS_ERR_INVALID_ARG)
        TLOG_ERR("sim: cannot start TA: bad descriptor (%s)", strerror(errno));
    if (have_attr)
        posix_spawnattr_destroy(&attr);
    if (have_fa)
        posix_spawn_file_actions_destroy(&fa);
    if (shm >= 0)
        close(shm);
    if (chan >= 0)
        close(chan);
    return rc;
}
