/* Client sessions inside the TA (docs/sessions.md): the session identity
 * (ta/sess_ident.c) and the SESSION frame's handler (ta/session.c). Both
 * runtime variants link them (a TA without migration serves sessions
 * too). Internal to ta/; trusted code. */
#ifndef TALOS_TA_SESS_H
#define TALOS_TA_SESS_H

#include <stddef.h>
#include <stdint.h>

struct ssl_ctx_st;

/* At start-up, on the main thread before READY (the host serves platform
 * requests then): make the session identity — an Ed25519 key, the
 * platform's evidence over (role 'C', key, config digest), the RA-TLS
 * certificate carrying it — and the TLS server context that serves it.
 * Kept for the process's life. A failure is logged: sessions are then
 * refused (BACKEND). */
void talos_rt_sess_ident_start(void);
/* The server context, or NULL when the identity could not be made. */
struct ssl_ctx_st *talos_rt_sess_ctx(void);

/* A SESSION frame (its body in the TA's private copy): answered with one
 * SESSION_RET. TALOS_OK, or an error that ends the TA (the host is gone). */
int talos_rt_handle_session(const uint8_t *body, size_t len);
/* Free every session and wipe its keys and buffers: when the instance
 * retired (its sessions cannot serve again) and at exit. */
void talos_rt_sess_drop_all(void);
/* At exit: the sessions, then the identity (its key wiped by OpenSSL). */
void talos_rt_sess_fini(void);

#endif
