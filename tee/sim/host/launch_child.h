/* The child half of a sim TA launch (tee/sim/host/launch.c): what runs between
 * fork and exec. talosd is multi-threaded, so this code calls only
 * async-signal-safe functions and raw system calls: everything that needs
 * memory was prepared by the parent in a struct sim_plan. */
#ifndef TALOS_TEE_SIM_LAUNCH_CHILD_H
#define TALOS_TEE_SIM_LAUNCH_CHILD_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* In the child, after the descriptor step: the image to exec and the pipe
 * the child reports a failed step on. Both close on exec; every descriptor
 * from SIM_FD_FIRST_FREE up is closed. The parent puts its own copies of
 * every descriptor the child needs at SIM_FD_FIRST_FREE or above, so that
 * no dup2 of the child overwrites one it has still to place. */
#define SIM_FD_IMAGE 6
#define SIM_FD_STATUS 7
#define SIM_FD_FIRST_FREE 8

struct sim_plan {
    int chan, shm, report, image, status; /* the parent's copies (shm may be -1) */
    char *const *argv, *const *envp;
    sigset_t empty;
    int drop;  /* switch user and unshare namespaces (the node runs as root) */
    uid_t uid;
    gid_t gid;
};

/* What the child writes on the status pipe when a step fails; nothing is
 * written when exec succeeds (the pipe closes on exec). */
struct sim_step_failure {
    int32_t step; /* index into sim_child_steps */
    int32_t err;  /* errno */
};

struct sim_child_step {
    const char *name;                       /* for the node's log */
    int (*run)(const struct sim_plan *p);   /* 0 or an errno value */
};

extern const struct sim_child_step sim_child_steps[];
extern const int sim_child_nsteps;
/* Index of the step that runs the image. */
extern const int sim_child_exec_step;

/* Run every step in order; on the first failure report it on the status
 * pipe and _exit(127). Never returns. */
_Noreturn void sim_child_run(const struct sim_plan *p);

#endif
