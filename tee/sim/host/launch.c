/* fork + exec of a sim TA into its confinement: the parent half. Everything
 * that allocates or may take a lock happens here, before fork; the child
 * (launch_child.c) only places descriptors and makes system calls. */
#include "tee/sim/host/launch.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "tee/sim/host/launch_child.h"

#define NOBODY_ID 65534

extern char **environ;

/* What a TA may see of the node's environment: its own knobs (fault points,
 * test switches, the log level) and the sanitizer options of a SAN build.
 * Nothing else: paths, credentials and locale of the node stay out. */
static const char env_prefix[] = "TALOS_";
static const char *const env_names[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};

static int env_wanted(const char *kv)
{
    const char *eq = strchr(kv, '=');

    if (!eq)
        return 0;
    if (strncmp(kv, env_prefix, sizeof(env_prefix) - 1) == 0)
        return 1;
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
        if ((size_t)(eq - kv) == strlen(env_names[i]) &&
            strncmp(kv, env_names[i], (size_t)(eq - kv)) == 0)
            return 1;
    return 0;
}

/* The TA's environment: pointers into environ (the node never changes its
 * environment after it starts), NULL-terminated; free() the array only. */
static char **ta_env(void)
{
    size_t n = 0, k = 0;
    char **out = NULL;

    for (char **e = environ; e && *e; e++)
        n += env_wanted(*e);
    if (!(out = calloc(n + 1, sizeof(*out))))
        return NULL;
    for (char **e = environ; e && *e && k < n; e++)
        if (env_wanted(*e))
            out[k++] = *e;
    return out;
}

static int exec_err(int err)
{
    switch (err) {
    case ENOENT: case EACCES: case ENOEXEC: case ENOTDIR: case ELOOP: case ETXTBSY:
    case EISDIR: case EPERM:
        return TALOS_ERR_IMAGE;
    case ENOMEM:
        return TALOS_ERR_NOMEM;
    case EAGAIN:
        return TALOS_ERR_BUSY;
    default:
        return TALOS_ERR_IO;
    }
}

/* A failed confinement step is the platform failing, unless it ran out of
 * something. */
static int step_err(int step, int err)
{
    if (step == sim_child_exec_step)
        return exec_err(err);
    return err == ENOMEM ? TALOS_ERR_NOMEM : err == EAGAIN ? TALOS_ERR_BUSY : TALOS_ERR_BACKEND;
}

/* Replace *fd (ours, or -1) by a close-on-exec copy at SIM_FD_FIRST_FREE or
 * above, where no dup2 of the child lands. */
static int move_high(int *fd)
{
    int hi = -1;

    if (*fd < 0 || *fd >= SIM_FD_FIRST_FREE)
        return 0;
    if ((hi = fcntl(*fd, F_DUPFD_CLOEXEC, SIM_FD_FIRST_FREE)) < 0)
        return -1;
    close(*fd);
    *fd = hi;
    return 0;
}

static int copy_high(int fd)
{
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, SIM_FD_FIRST_FREE);
}

static int parse_id(const char *s, unsigned long *out)
{
    char *end = NULL;

    if (!*s || !isdigit((unsigned char)*s))
        return 0;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return !*end && errno == 0 && *out < (unsigned long)(uid_t)-1;
}

int talos_sim_jail_init(const char *ta_user, struct talos_sim_jail *out)
{
    const char *want = ta_user ? ta_user : "nobody";
    struct passwd pw, *found = NULL;
    char buf[4096];
    unsigned long id = 0;
    int numeric = 0;

    memset(out, 0, sizeof(*out));
    out->drop = geteuid() == 0;
    numeric = parse_id(want, &id);
    if (numeric)
        (void)getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &found);
    else
        (void)getpwnam_r(want, &pw, buf, sizeof(buf), &found);
    if (found) {
        out->uid = pw.pw_uid;
        out->gid = pw.pw_gid;
    } else if (numeric) {
        out->uid = (uid_t)id;
        out->gid = (gid_t)id;
    } else if (!ta_user) {
        out->uid = NOBODY_ID;
        out->gid = NOBODY_ID;
    } else {
        TLOG_ERR("sim: --ta-user %s: no such user", ta_user);
        return TALOS_ERR_INVALID_ARG;
    }
    if (!out->drop && ta_user)
        TLOG_WARN("sim: --ta-user %s ignored: the node does not run as root, so TAs run as "
                  "its own user", ta_user);
    else if (out->drop && out->uid == 0)
        TLOG_WARN("sim: TAs run as root (--ta-user %s): a TA that escapes its system call "
                  "filter owns the machine", want);
    return TALOS_OK;
}

/* Wait for the child's verdict on status_rd: EOF when the image runs (the
 * status pipe closed on exec), else the step that failed, after which the
 * child has exited and is reaped here. TALOS_OK or the failure's code. */
static int child_verdict(pid_t child, int status_rd, const struct talos_launch *l,
                         const struct talos_sim_jail *j)
{
    struct sim_step_failure f = {0, 0};
    size_t got = 0;
    ssize_t n = 0;
    int rc = TALOS_OK;

    while (got < sizeof(f)) {
        n = read(status_rd, (char *)&f + got, sizeof(f) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 0 && n == 0)
        return TALOS_OK;
    if (got == sizeof(f) && f.step >= 0 && f.step < sim_child_nsteps) {
        rc = step_err(f.step, f.err);
        TLOG_ERR("sim: cannot start TA %s: %s failed in the new process: %s%s",
                 l->image_path ? l->image_path : "(by descriptor)", sim_child_steps[f.step].name,
                 strerror(f.err),
                 f.step == sim_child_exec_step && f.err == EACCES && j->drop
                     ? " (the TA user must be able to execute the image: mode 0555)" : "");
    } else {
        /* A short record cannot come from our child: do not let it run. */
        rc = TALOS_ERR_IO;
        TLOG_ERR("sim: cannot start TA %s: no verdict from the new process",
                 l->image_path ? l->image_path : "(by descriptor)");
        kill(child, SIGKILL);
    }
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    return rc;
}

int talos_sim_launch(const struct talos_sim_jail *j, const struct talos_launch *l, int *pid,
                     int *report_fd)
{
    struct sim_plan plan = {.chan = -1, .shm = -1, .report = -1, .image = -1, .status = -1};
    char *argv[2] = {NULL, NULL};
    char **envp = NULL;
    sigset_t all, old;
    int status[2] = {-1, -1}, report[2] = {-1, -1};
    pid_t child = -1;
    int rc = TALOS_ERR_INVALID_ARG;

    if (pid)
        *pid = 0;
    if (report_fd)
        *report_fd = -1;
    if (!j || !l || !pid || !report_fd || l->channel_fd < 0 || (!l->image_path && l->image_fd < 0))
        return TALOS_ERR_INVALID_ARG;
    /* Copies above the child's targets: the caller's descriptors stay as
     * they are, and a shm_fd of 3 is not clobbered by the channel's dup2. */
    if ((plan.chan = copy_high(l->channel_fd)) < 0 ||
        (l->shm_fd >= 0 && (plan.shm = copy_high(l->shm_fd)) < 0) ||
        (l->image_fd >= 0 && (plan.image = copy_high(l->image_fd)) < 0)) {
        TLOG_ERR("sim: cannot start TA: bad descriptor (%s)", strerror(errno));
        goto out;
    }
    if (l->image_fd < 0 && (plan.image = open(l->image_path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = exec_err(errno);
        TLOG_ERR("sim: cannot start TA %s: %s", l->image_path, strerror(errno));
        goto out;
    }
    rc = TALOS_ERR_IO;
    if (move_high(&plan.image) != 0 || pipe2(status, O_CLOEXEC) != 0 ||
        pipe2(report, O_CLOEXEC) != 0 || move_high(&status[0]) != 0 ||
        move_high(&status[1]) != 0 || move_high(&report[1]) != 0 ||
        fcntl(report[0], F_SETFL, O_NONBLOCK) != 0) {
        TLOG_ERR("sim: cannot start TA: pipes: %s", strerror(errno));
        goto out;
    }
    rc = TALOS_ERR_NOMEM;
    if (!(envp = ta_env()))
        goto out;
    argv[0] = (char *)(l->image_path ? l->image_path : "talos-ta");
    plan.report = report[1];
    plan.status = status[1];
    plan.argv = argv;
    plan.envp = envp;
    plan.drop = j->drop;
    plan.uid = j->uid;
    plan.gid = j->gid;
    sigemptyset(&plan.empty);
    /* Blocked across fork, so that none of the node's handlers runs in the
     * child before its dispositions are reset. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    child = fork();
    if (child == 0)
        sim_child_run(&plan);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (child < 0) {
        rc = errno == EAGAIN ? TALOS_ERR_BUSY : errno == ENOMEM ? TALOS_ERR_NOMEM : TALOS_ERR_IO;
        TLOG_ERR("sim: cannot start TA %s: fork: %s", argv[0], strerror(errno));
        goto out;
    }
    /* Only the child may hold the write ends, or EOF never comes. */
    close(status[1]);
    status[1] = -1;
    if ((rc = child_verdict(child, status[0], l, j)) != TALOS_OK)
        goto out;
    *pid = (int)child;
    *report_fd = report[0];
    report[0] = -1;
out:
    free(envp);
    for (int i = 0; i < 2; i++) {
        if (status[i] >= 0)
            close(status[i]);
        if (report[i] >= 0)
            close(report[i]);
    }
    if (plan.image >= 0)
        close(plan.image);
    if (plan.shm >= 0)
        close(plan.shm);
    if (plan.chan >= 0)
        close(plan.chan);
    return rc;
}
