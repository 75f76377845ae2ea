/* What a sim TA process and its node share besides the channel: the
 * descriptor numbers the launcher sets up (tee/sim/host/launch.c) and the record
 * a confined TA leaves on the report pipe before its forbidden system call
 * kills it (tee/sim/enclave/confine.c, docs/confinement.md). */
#ifndef TALOS_TEE_SIM_REPORT_H
#define TALOS_TEE_SIM_REPORT_H

#include <stdint.h>

#define TALOS_SIM_FD_CHANNEL 3 /* the host channel (ta/entry.c reads it there) */
#define TALOS_SIM_FD_SHM 4     /* the switchless rings, or closed */
#define TALOS_SIM_FD_REPORT 5  /* write end of the report pipe */

/* One record, written once by the TA's SIGSYS handler (host byte order: both
 * ends run on this machine). Hostile to the node like anything else from a
 * TA: it only ever names a call in a log line. */
struct talos_sim_report {
    int32_t syscall; /* siginfo si_syscall */
    uint32_t arch;   /* siginfo si_arch (AUDIT_ARCH_*) */
};

#endif
