/* Start a sim TA: a separate OS process (no hardware isolation), confined
 * from outside before its image runs (docs/confinement.md). */
#ifndef TALOS_TEE_SIM_LAUNCH_H
#define TALOS_TEE_SIM_LAUNCH_H

#include <sys/types.h>

#include "tee/tee.h"

/* Who a sim TA runs as, decided once when the platform opens. */
struct talos_sim_jail {
    int drop;  /* the node runs as root: TAs switch to uid/gid, lose their
                * supplementary groups, and get their own network and mount
                * namespaces */
    uid_t uid;
    gid_t gid;
};

/* Resolve the TA user: a user name or number (NULL = "nobody"; when no
 * passwd entry names it, 65534:65534). drop is set when this process runs
 * as root; otherwise TAs run as the node's own user and a ta_user given is
 * ignored with a warning. TALOS_ERR_INVALID_ARG (logged) for a name given
 * that names no user. */
int talos_sim_jail_init(const char *ta_user, struct talos_sim_jail *out);

/* fork + exec of the image (l->image_fd, else the file at l->image_path,
 * opened here) with argv {image_path, NULL} and, of the caller's
 * environment, only TALOS_* and the sanitizer options (ASAN_OPTIONS,
 * UBSAN_OPTIONS, LSAN_OPTIONS). In the child: fd 3 is l->channel_fd, fd 4
 * l->shm_fd (when >= 0), fd 5 the write end of a new report pipe; fds 0-2
 * are inherited and every other descriptor is closed; all signal
 * dispositions default and the mask empty; core size limit 0 (hard);
 * working directory /; no_new_privs; and with j->drop the namespaces and
 * user of struct talos_sim_jail. The caller's descriptors are left as
 * they were.
 *
 * A step that fails in the child is reported back (its name logged) and the
 * child exits before the image runs. *pid is the child on success, 0 on
 * failure; *report_fd the read end of the report pipe (non-blocking,
 * close-on-exec; the caller closes it), -1 on failure.
 * TALOS_ERR_INVALID_ARG (bad descriptor), TALOS_ERR_IMAGE (no such file,
 * not executable by the TA user, not an ELF image: a #! script cannot run
 * from a close-on-exec descriptor), TALOS_ERR_NOMEM, TALOS_ERR_BUSY
 * (process limit), TALOS_ERR_BACKEND (a confinement step failed, e.g.
 * namespaces the kernel refuses), TALOS_ERR_IO. */
int talos_sim_launch(const struct talos_sim_jail *j, const struct talos_launch *l, int *pid,
                     int *report_fd);

#endif
