/* The node's ends of the report pipes of the sim TAs it launched (host
 * side): one per live TA, read once when the TA has ended
 * (docs/confinement.md). */
#ifndef TALOS_TEE_SIM_REPORTS_H
#define TALOS_TEE_SIM_REPORTS_H

#include <stddef.h>

struct sim_reports;

int sim_reports_new(struct sim_reports **out);
/* Close every pipe still held; NULL is ignored. */
void sim_reports_free(struct sim_reports *r);
/* Keep fd (the read end of pid's report pipe; owned from now on, closed
 * here on failure). TALOS_ERR_NOMEM: the TA runs on without a report. */
int sim_reports_add(struct sim_reports *r, int pid, int fd);
/* pid ended (killed by signo, or 0): read its record, if any, into why as
 * "forbidden system call NAME (sim confinement)", else ""; close its
 * pipe. */
void sim_reports_end(struct sim_reports *r, int pid, int signo, char *why, size_t cap);

#endif
