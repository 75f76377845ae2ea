/* Start a sim TA: a separate OS process (no hardware isolation). */
#ifndef TALOS_TEE_SIM_LAUNCH_H
#define TALOS_TEE_SIM_LAUNCH_H

#include "tee/tee.h"

/* Spawn l->image_path with argv {image_path, NULL} and the caller's
 * environment. In the child, fd 3 is l->channel_fd, fd 4 is l->shm_fd (when
 * >= 0); fds 0-2 are inherited and every other descriptor is closed; signal
 * mask empty and all dispositions default. The caller's descriptors are
 * left as they were. *pid is the child on success, 0 on failure.
 * TALOS_ERR_INVALID_ARG (bad fd), TALOS_ERR_IMAGE (not executable),
 * TALOS_ERR_NOMEM, TALOS_ERR_BUSY (process limit), TALOS_ERR_IO. */
int talos_sim_launch(const struct talos_launch *l, int *pid);

#endif
