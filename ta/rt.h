/* The TA runtime's private state: one per TA process. Trusted code. */
#ifndef TALOS_TA_RT_H
#define TALOS_TA_RT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/lifecycle.h"
#include "core/wire.h"
#include "os/xport.h"
#include "talos/abi.h"
#include "talos/ta.h"
#include "talos/talos.h"

/* Lifecycle (SECURITY.md), one-way: the runtime's short names for the
 * states of core/lifecycle.h, whose table is the only way to change them
 * (talos_rt_enter). */
enum talos_rt_state {
    RT_EMPTY = TALOS_LIFE_EMPTY,
    RT_IMPORTING = TALOS_LIFE_IMPORTING,
    RT_PREPARED = TALOS_LIFE_PREPARED,
    RT_ACTIVE = TALOS_LIFE_ACTIVE,
    RT_FROZEN = TALOS_LIFE_FROZEN,
    RT_HANDED_OFF = TALOS_LIFE_HANDED_OFF,
    RT_RETIRED = TALOS_LIFE_RETIRED,
    RT_FAILED = TALOS_LIFE_FAILED,
};

const char *talos_rt_state_name(enum talos_rt_state s);

/* Apply a lifecycle event to talos_rt.state (core/lifecycle.h): TALOS_OK,
 * or TALOS_ERR_STATE when the table does not allow it now (logged: the
 * runtime asked for a move it must not make; the state is unchanged). */
int talos_rt_enter(enum talos_life_event ev);

struct talos_rt {
    struct talos_xport x;       /* to the untrusted host */
    struct talos_wr rx;         /* private copy of the frame being handled */
    struct talos_wr tx;         /* reply under construction */
    const struct talos_ta_desc *desc;
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;           /* committed ecalls in this lineage */
    uint8_t *config;            /* measured launch configuration (private copy) */
    size_t config_len;
    const uint8_t *anchors;     /* inside config: PEM trust anchors for peers */
    size_t anchors_len;
    unsigned verify_flags;      /* inside config: TALOS_VERIFY_* for peers */
    uint8_t config_digest[TALOS_SHA256_BYTES]; /* SHA-256 of config: what our migration evidence binds */
    uint8_t head[TALOS_MIG_HASH_BYTES]; /* chain head at the last checkpoint */
    uint64_t head_version;      /* version at that checkpoint */
    enum talos_rt_state state;
    int in_ecall;               /* ocalls are only legal inside an ecall */
    /* Held by the main thread around every frame it handles while a
     * migration runs, and by the migration's control thread from the freeze
     * on: the state is quiescent (no ecall between its first and last byte)
     * exactly while the control thread holds it. */
    pthread_mutex_t freeze;
};

/* One side of a host channel: the TA's main one, or a migration's control
 * channel (ta/mig_ctl.c). Replies and host requests go out on the calling
 * thread's own. */
struct talos_bnd {
    struct talos_xport *x;
    struct talos_wr *rx, *tx;
};
/* The calling thread's channel (the main one unless set). */
const struct talos_bnd *talos_rt_bnd(void);
void talos_rt_set_bnd(const struct talos_bnd *b);

extern struct talos_rt talos_rt;

/* The TA's table, defined by TALOS_TA_DEFINE in the TA's code. */
extern const struct talos_ta_desc talos_ta_desc;

/* The one encoder of a REPLY frame: i32 status ‖ u64 version ‖ bytes out ‖
 * str reason (reason "" when status is TALOS_OK). */
int talos_rt_reply(int status, const void *out, size_t out_len, const char *reason);

/* One frame from the host (ta/frames.c), its body in talos_rt.rx: checked
 * against the frame table (shape, lifecycle states), then handled. STOP is
 * the serve loop's own. TALOS_OK, or an error that ends the TA. */
int talos_rt_handle_frame(uint16_t type, const uint8_t *body, size_t len);
/* Is a frame of this type handled at the serve loop's migration point
 * (MIGRATE_OUT)? The loop then records its thread's context first, in its
 * own frame, so that the context the target checks is the call boundary's
 * (ta/flow.c), not one inside the frame table's dispatch. */
int talos_rt_frame_at_mp(uint16_t type);

/* An ecall's output sink (opaque to TAs: talos/ta.h). */
struct talos_out {
    struct talos_wr buf;
    char reason[256];
};
void talos_rt_out_init(struct talos_out *out);
void talos_rt_out_free(struct talos_out *out); /* wipes the reason; accepts a freed one */

/* ecall dispatch: handle one CALL frame (in talos_rt.rx), send the REPLY. */
int talos_rt_handle_call(const uint8_t *body, size_t len);
/* Run one CALL body (str ecall ‖ u32 argc ‖ argc × bytes) as the host's
 * CALL and a session's CALL both do: only when ACTIVE, checked against the
 * table, committed (version + 1, execution record) when it returns OK. The
 * status is returned; out holds the output (meaningful only for OK) and
 * the reason. */
int talos_rt_run_call(const uint8_t *body, size_t len, struct talos_out *out);
/* Why this instance serves no call now: MOVED (HANDED_OFF, RETIRED: the
 * reason names where it went) or STATE, the reason in why. */
int talos_rt_not_serving(char *why, size_t cap);

/* A decoded CALL's arguments: NUL-terminated private copies in one block. */
struct talos_rt_call {
    int argc;
    struct talos_arg argv[TALOS_MAX_ARGS];
    char *block; /* malloc'd; the caller wipes and frees it */
    size_t block_len;
};

/* Decode a CALL body (str ecall ‖ u32 argc ‖ argc × bytes) from r: name gets
 * the ecall name (TALOS_NAME_MAX bytes, NUL-terminated), a the arguments.
 * TALOS_ERR_MALFORMED, TALOS_ERR_BAD_ARGS (more than TALOS_MAX_ARGS) or
 * TALOS_ERR_NOMEM; a->block is set only on TALOS_OK. A reason for the host
 * goes to out (may be NULL). The CALL decoder of talos_rt_handle_call. */
int talos_rt_decode_call(struct talos_rd *r, char *name, struct talos_rt_call *a,
                         struct talos_out *out);

/* Validate an ecall table once at start: names unique and bounded, shapes
 * within the runtime's limits. A bad table is a build bug: the TA exits. */
int talos_rt_check_table(const struct talos_ta_desc *d);

/* TA -> host request that expects one answer frame of type `ret_type`:
 * i32 status ‖ bytes resp. The answer is copied into resp (<= resp_cap). */
int talos_rt_host_roundtrip(uint16_t type, const struct talos_wr *req, uint16_t ret_type,
                            uint8_t *resp, size_t resp_cap, size_t *resp_len);
/* Decode such an answer's body (ta/hostret.c): TALOS_OK with the bytes
 * copied into resp and *resp_len <= resp_cap; MALFORMED when the body does
 * not decode (a length inconsistent with the frame, trailing bytes);
 * PROTOCOL for a status that is no talos_err; TOO_LARGE when the answer is
 * longer than resp_cap; or the host's own refusal code. On failure resp is
 * untouched and *resp_len is 0. */
int talos_rt_decode_host_ret(const uint8_t *body, size_t len, uint8_t *resp, size_t resp_cap,
                             size_t *resp_len);

/* Options of a source migration (MIGRATE_OUT). */
struct talos_rt_migopts {
    int precopy;
    uint32_t max_rounds;
    char to[256]; /* where the lineage goes (host-told; only for messages) */
};

/* MIGRATE_OUT on the main thread (ta/mig_ctl.c): start the migration's
 * control thread on the control channel that came with the frame. While it
 * runs, talos_rt_mig_busy() is true; talos_rt_mig_reap() joins it once it
 * ended. Only the main thread calls these. */
int talos_rt_mig_start(const uint8_t *body, size_t len);
int talos_rt_mig_busy(void);
void talos_rt_mig_reap(int wait);
/* Where the lineage went, for MOVED answers ("" when unknown). */
const char *talos_rt_moved_to(void);

/* Migration (ta/mig_*.c): the source side on the control thread, over the
 * socket to the target; and MIGRATE_IN (target, for the lineage the host
 * expects) with the socket the host passed. Both send the REPLY. */
int talos_rt_migrate_out(int fd, const struct talos_rt_migopts *o);
int talos_rt_migrate_in(int fd, const uint8_t expected_lineage[TALOS_LINEAGE_BYTES],
                        uint64_t prefault_grant);
/* RESUME: a HANDED_OFF source shown a valid ABORT token of its pending
 * session serves again; anything else is refused with a reason in why. */
int talos_rt_resume(const uint8_t *tok, size_t len, char *why, size_t why_cap);
/* RECEIPT carried by the nodes: a HANDED_OFF source shown the target's
 * RECEIPT of its pending session retires (state RETIRED, wiped); anything
 * else is refused with a reason in why and changes nothing. */
int talos_rt_receipt(const uint8_t *tok, size_t len, char *why, size_t why_cap);
/* HANDOFF and GIVE_UP frames for a PREPARED target that lost its channel
 * (ta/mig_handoff.c); each sends the REPLY with a report. */
int talos_rt_handoff(const uint8_t *tok, size_t len);
int talos_rt_give_up(int32_t code);
/* PREFAULT: a virgin target faults in the first `bytes` of its arena now
 * (a warm pool's target; ta/mig_helpers.c). TALOS_OK, or NOT_IMPLEMENTED
 * in a runtime without migration. The caller replies. */
int talos_rt_prefault(uint64_t bytes);
/* Copy n bytes to or from the persist section (ta/entry.c: uninstrumented
 * in sanitizer builds, where gathered globals carry redzones). */
void talos_rt_persist_copy(void *dst, const void *src, size_t n);
/* At start-up, on the main thread (the host serves platform requests):
 * make the identity of this TA's next migration ahead, a target's and a
 * source's for a virgin target, a source's for a new lineage
 * (ta/mig_ident.c, D44). Failures are logged; nothing in a runtime without
 * migration. */
void talos_rt_ident_start(int target);

/* A new lineage's seal secret (ta/seal.c), drawn before its init runs. */
int talos_rt_seal_genesis(void);

/* The restore hook (ta/restore.c, D45). On a target, on verified state,
 * before PREPARED: run the TA's hook if it has one (talos_version() reads
 * `version` meanwhile). TALOS_OK (also without a hook), or
 * TALOS_ERR_RESTORE_HOOK with a one-line reason (logged) when the hook
 * refused: the caller fails the import. */
int talos_rt_restore_run(enum talos_restore_reason why, uint64_t version, char *reason,
                         size_t cap);
/* Once ACTIVE, after the lineage key was adopted: a hook that ran commits
 * (version + 1, execution record entry TALOS_RT_EXEC_RESTORE). Nothing
 * otherwise; only the main thread calls it. */
void talos_rt_restore_commit(void);
#define TALOS_RT_EXEC_RESTORE 0xffffffffu /* the execution record's "ecall" of a restore */

/* What cannot migrate (ta/unmovable.c, D46). The first time the runtime
 * hands control to TA code (init, restore hook, first ecall) it records the
 * descriptors open then; talos_rt_ta_code_begins is cheap after that. */
void talos_rt_ta_code_first(void);
extern int talos_rt_ta_code_ran; /* set by talos_rt_ta_code_first */
static inline void talos_rt_ta_code_begins(void)
{
    if (__builtin_expect(!talos_rt_ta_code_ran, 0)) /* one branch on the ecall path */
        talos_rt_ta_code_first();
}
/* Does the TA hold a descriptor it opened, a thread it started or memory it
 * mapped itself? TALOS_OK, or TALOS_ERR_UNMOVABLE with a one-line reason
 * naming the first one found. `own_fds` are this migration's descriptors
 * (control channel, socket to the target), -1 for none. The caller holds
 * the freeze lock (no ecall runs). */
int talos_rt_unmovable_check(const int *own_fds, size_t n_own, char *why, size_t cap);
/* Live threads the runtime started itself (talos_rt_thread_create), and
 * the one call through which it starts them. */
int talos_rt_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/* Memory introspection (ta/introspect.c): check the TA's own mappings (code
 * not writable, arena in place) and hash its code as it is now. */
int talos_rt_introspect(uint8_t measurement[TALOS_MEASUREMENT_BYTES], char *why, size_t cap);
/* TALOS_OK when `now` equals both the launch-time hash and the platform's
 * `claimed` measurement; TALOS_ERR_MEASUREMENT (reason in why) otherwise. */
int talos_rt_code_unchanged(const uint8_t now[TALOS_MEASUREMENT_BYTES],
                            const uint8_t claimed[TALOS_MEASUREMENT_BYTES], char *why, size_t cap);

/* The persist section [start, start+len). */
uint8_t *talos_rt_persist(size_t *len);

/* Bytes of state that migrate: arena in use + persist section. */
uint64_t talos_rt_state_bytes(void);

/* Wipe all state (arena, persist section) before the process ends. */
void talos_rt_wipe_state(void);

#endif
