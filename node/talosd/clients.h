/* The relay of client sessions (clients.c, docs/sessions.md §6). */
#ifndef TALOS_TALOSD_CLIENTS_H
#define TALOS_TALOSD_CLIENTS_H

#define CLIENTS_MAX_DEFAULT 256
#define CLIENTS_PER_TA_DEFAULT 128 /* at most the TA's own TALOS_SESS_MAX (256) */
#define CLIENTS_IDLE_S_DEFAULT 60
#define CLIENTS_WRITE_S_DEFAULT 10
#define CLIENTS_TABLE 256 /* lineages with clients at once */

struct client_limits {
    unsigned max;     /* client connections in all */
    unsigned per_ta;  /* ... to one TA */
    unsigned idle_s;  /* a client silent this long is closed */
    unsigned write_s; /* a client that does not take our bytes this long is closed */
};
extern struct client_limits clients_limits; /* set by main.c before the listener starts */

/* Serve a client connection (its first byte is TALOS_SESS_MAGIC's) from
 * its preamble on, in the calling thread, or refuse it (BUSY) when
 * clients_limits.max are served already; takes fd. addr names the peer
 * for the log. */
void clients_serve(int fd, const char *addr);
/* The same in two steps, for a caller that admits a client before it
 * spends a thread on it: a seat (1) or none (0); then serve with the seat
 * (it is given back at the end), or refuse (no seat taken). Both take fd. */
int clients_admit(void);
void clients_unadmit(void); /* a seat not used after all */
void clients_serve_admitted(int fd, const char *addr);
void clients_refuse(int fd, const char *addr);

#endif
