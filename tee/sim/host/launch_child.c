/* Between fork and exec of a sim TA (launch_child.h): the steps that put the
 * new process in its confinement before the image runs. Async-signal-safe
 * calls only: the node has other threads, whose locks (malloc, stdio, the
 * logger) may be held in the child's copy of memory. The user switch goes
 * through raw system calls because glibc's setres[ug]id would try to
 * broadcast the change to threads that do not exist in the child. */
#include "tee/sim/host/launch_child.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tee/sim/common/report.h"

static int err_of(long r) { return r < 0 ? errno : 0; }

/* Status first and channel last: the parent put every source at
 * SIM_FD_FIRST_FREE or above, so no target overwrites a source; dup2 clears
 * close-on-exec on 3, 4 and 5, dup3 keeps it on the image and status. */
static int step_fds(const struct sim_plan *p)
{
    if (dup3(p->status, SIM_FD_STATUS, O_CLOEXEC) < 0 ||
        dup3(p->image, SIM_FD_IMAGE, O_CLOEXEC) < 0 ||
        dup2(p->report, TALOS_SIM_FD_REPORT) < 0 ||
        (p->shm >= 0 ? dup2(p->shm, TALOS_SIM_FD_SHM) < 0
                     : close(TALOS_SIM_FD_SHM) < 0 && errno != EBADF) ||
        dup2(p->chan, TALOS_SIM_FD_CHANNEL) < 0)
        return errno;
    /* Closed here, not marked close-on-exec: descriptors another thread of
     * the node opened without O_CLOEXEC since never reach the TA. */
    return err_of(close_range(SIM_FD_FIRST_FREE, ~0U, 0));
}

/* The node may ignore SIGPIPE or handle signals; exec keeps ignored ones.
 * Signals stay blocked (the parent blocked them before fork) until the
 * mask step, so no handler of the node runs in the child meanwhile. */
static int step_signals(const struct sim_plan *p)
{
    static const struct sigaction dfl = {.sa_handler = SIG_DFL};

    (void)p;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && sigaction(s, &dfl, NULL) != 0 && errno != EINVAL)
            return errno; /* EINVAL: a signal glibc reserves for itself */
    return 0;
}

/* A hard limit of 0: the TA user cannot raise it again. */
static int step_core(const struct sim_plan *p)
{
    static const struct rlimit none = {0, 0};

    (void)p;
    return err_of(setrlimit(RLIMIT_CORE, &none));
}

/* The node's working directory is none of the TA's business. */
static int step_cwd(const struct sim_plan *p)
{
    (void)p;
    return err_of(chdir("/"));
}

/* Root only (the parent decided): no network but the descriptors the node
 * passes, and a mount table of its own that the node's later mounts do not
 * reach. */
static int step_namespaces(const struct sim_plan *p)
{
    if (!p->drop)
        return 0;
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
        return errno;
    return err_of(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
}

static int step_nnp(const struct sim_plan *p)
{
    (void)p;
    return err_of(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
}

/* Groups before the gid, the gid before the uid: each needs the
 * privilege the next one gives up. */
static int step_groups(const struct sim_plan *p)
{
    return p->drop ? err_of(syscall(SYS_setgroups, 0, NULL)) : 0;
}

static int step_gid(const struct sim_plan *p)
{
    return p->drop ? err_of(syscall(SYS_setresgid, p->gid, p->gid, p->gid)) : 0;
}

static int step_uid(const struct sim_plan *p)
{
    return p->drop ? err_of(syscall(SYS_setresuid, p->uid, p->uid, p->uid)) : 0;
}

static int step_mask(const struct sim_plan *p)
{
    return err_of(sigprocmask(SIG_SETMASK, &p->empty, NULL));
}

/* By descriptor: the file the parent opened (or was handed) is the one that
 * runs, and the TA user needs no search permission on the node's state
 * directory, only execute permission on the file itself. */
static int step_exec(const struct sim_plan *p)
{
    return err_of(syscall(SYS_execveat, SIM_FD_IMAGE, "", p->argv, p->envp, AT_EMPTY_PATH));
}

const struct sim_child_step sim_child_steps[] = {
    {"descriptors", step_fds},
    {"signal dispositions", step_signals},
    {"core limit", step_core},
    {"working directory", step_cwd},
    {"namespaces", step_namespaces},
    {"no_new_privs", step_nnp},
    {"supplementary groups", step_groups},
    {"gid", step_gid},
    {"uid", step_uid},
    {"signal mask", step_mask},
    {"exec", step_exec},
};
const int sim_child_nsteps = (int)(sizeof(sim_child_steps) / sizeof(sim_child_steps[0]));
const int sim_child_exec_step = sim_child_nsteps - 1;

_Noreturn void sim_child_run(const struct sim_plan *p)
{
    struct sim_step_failure f = {0, 0};

    for (int i = 0; i < sim_child_nsteps; i++) {
        int err = sim_child_steps[i].run(p);
        if (err == 0)
            continue;
        f.step = i;
        f.err = err;
        /* Until the descriptor step succeeded the status pipe is where the
         * parent left it. 8 bytes into an empty pipe: written whole. */
        (void)!write(i == 0 ? p->status : SIM_FD_STATUS, &f, sizeof(f));
        break;
    }
    _exit(127);
}
