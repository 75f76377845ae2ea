/* TALOS — host API: embed TALOS in an untrusted host program (talosd is one).
 *
 * The host launches TAs on a TEE backend, calls their ecalls, serves their
 * ocalls and asks them for evidence. The host is untrusted by design: it
 * never sees a TA's keys or state, only what ecalls choose to return.
 *
 * Backends are known by name (talos_backend_name); this API never needs
 * one: NULL picks the default backend. A backend without hardware
 * isolation says so in its claims (talos_host_claims, and every piece of
 * its evidence carries TALOS_CLAIM_SIMULATED): the host can read and
 * change the memory of such a backend's TAs. The default backend of a
 * development machine is such a one (README.md). The porting template
 * answers TALOS_ERR_NOT_IMPLEMENTED everywhere.
 */
#ifndef TALOS_TALOS_H
#define TALOS_TALOS_H

#include <stddef.h>
#include <stdint.h>

#include "talos/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TALOS_MEASUREMENT_BYTES 32
#define TALOS_CONFIG_ID_BYTES 32   /* hash of a measured launch config */
#define TALOS_PLATFORM_ID_BYTES 32 /* hash of a platform's public key */
#define TALOS_REPORT_DATA_BYTES 64
#define TALOS_LINEAGE_BYTES 16
#define TALOS_NONCE_BYTES 32
#define TALOS_EVIDENCE_MAX 8192
#define TALOS_BACKEND_NAME_MAX 16
#define TALOS_TA_NAME_MAX 64    /* a TA's declared name, bytes with the NUL */
#define TALOS_STATE_NAME_MAX 16 /* a TA state's name ("ACTIVE", ...), bytes with the NUL */

/* Claims flags. */
#define TALOS_CLAIM_SIMULATED 0x1u /* produced by a simulated TEE: no isolation */
#define TALOS_CLAIM_DEBUG 0x2u     /* produced by a debug-mode TEE */
#define TALOS_CLAIM_NO_CFG 0x4u    /* the platform computed no CFG digest: cfg_digest is zero */

/* What a verified piece of evidence says. */
struct talos_claims {
    char backend[TALOS_BACKEND_NAME_MAX];          /* NUL-terminated backend name */
    uint32_t flags;                                /* TALOS_CLAIM_* */
    uint8_t measurement[TALOS_MEASUREMENT_BYTES];  /* hash of the TA code as loaded */
    uint8_t config_id[TALOS_CONFIG_ID_BYTES];      /* hash of the measured launch config */
    /* Digest of the image's canonical CFG (docs/cfg.md), computed by the
     * platform from the image it launched; zero with TALOS_CLAIM_NO_CFG. */
    uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES];
    uint8_t report_data[TALOS_REPORT_DATA_BYTES];  /* chosen by the TA */
    uint8_t platform_id[TALOS_PLATFORM_ID_BYTES];  /* hash of the platform's public key */
};

/* Report data a TA puts in evidence for `talos attest`:
 * SHA-256("talos-attest-v1" || nonce || lineage), zero-padded to 64 bytes.
 * A verifier recomputes it to know the evidence is fresh and names the TA. */
void talos_attest_report_data(const uint8_t nonce[TALOS_NONCE_BYTES],
                              const uint8_t lineage[TALOS_LINEAGE_BYTES],
                              uint8_t out[TALOS_REPORT_DATA_BYTES]);

/* The verifier's half: TALOS_OK when the claims' report data (of evidence
 * talos_verify_evidence accepted) is talos_attest_report_data(nonce,
 * lineage), compared in constant time; TALOS_ERR_REPORT_DATA otherwise
 * (replayed evidence, or another TA's). */
TALOS_MUST_CHECK int talos_attest_check_report_data(const struct talos_claims *claims,
                                                    const uint8_t nonce[TALOS_NONCE_BYTES],
                                                    const uint8_t lineage[TALOS_LINEAGE_BYTES]);

/* --- verifier ------------------------------------------------------------ */

#define TALOS_VERIFY_ALLOW_SIM 0x1u   /* accept TALOS_CLAIM_SIMULATED evidence */
#define TALOS_VERIFY_ALLOW_DEBUG 0x2u /* accept TALOS_CLAIM_DEBUG evidence */

/* Verify evidence against PEM trust anchors (one or more CA certificates).
 * On success fills *out. Refusals: TALOS_ERR_MALFORMED, TALOS_ERR_EVIDENCE_CHAIN,
 * TALOS_ERR_EVIDENCE_SIG, TALOS_ERR_EVIDENCE_SIM (simulated and not allowed),
 * TALOS_ERR_NOT_IMPLEMENTED (unknown backend), TALOS_ERR_BACKEND (the
 * format's verifier broke its own promise: e.g. a simulated format's claims
 * without TALOS_CLAIM_SIMULATED). *out is zeroed on failure. */
TALOS_MUST_CHECK int talos_verify_evidence(const uint8_t *ev, size_t ev_len,
                                           const uint8_t *anchors_pem, size_t anchors_len,
                                           unsigned flags, struct talos_claims *out);

/* What evidence says, decoded strictly but NOT verified (no signature, no
 * chain): for showing what a blob claims, e.g. whether it is simulated,
 * never for deciding to trust it. TALOS_ERR_MALFORMED,
 * TALOS_ERR_NOT_IMPLEMENTED (a format that cannot be decoded here),
 * TALOS_ERR_BACKEND (as for talos_verify_evidence); *out is zeroed on
 * failure. */
TALOS_MUST_CHECK int talos_evidence_claims(const uint8_t *ev, size_t ev_len,
                                           struct talos_claims *out);

/* --- backends -------------------------------------------------------------- */

/* The name of the i-th backend of this build (0: the default), NULL past
 * the last. */
const char *talos_backend_name(size_t i);
/* The default backend's name (talos_backend_name(0)). */
const char *talos_backend_default(void);

/* The file of PEM trust anchors a verifier on this machine uses by default
 * for evidence of `backend` (NULL: the default backend), written to path
 * (cap bytes), and in *hint (static, also set on failure; may be "") how a
 * user points at others. TALOS_ERR_INVALID_ARG when the backend is unknown
 * or cannot tell (e.g. no home directory), TALOS_ERR_NOT_FOUND when it has
 * no local default, TALOS_ERR_TOO_LARGE when path is too small. */
TALOS_MUST_CHECK int talos_default_anchors(const char *backend, char *path, size_t cap,
                                           const char **hint);

/* --- host and TAs ---------------------------------------------------------- */

struct talos_host;
struct talos_ta;

/* One backend option: key "<backend>.<name>" (e.g. the directory of a
 * backend's local CA), read by that backend alone. */
#define TALOS_BACKEND_OPTIONS_MAX 16 /* options for one backend */
struct talos_backend_option {
    const char *key;
    const char *value;
};

struct talos_host_config {
    const char *backend;    /* NULL: talos_backend_default() */
    const char *state_dir;  /* node state: platform key, images; created if missing */
    /* Options for backends (at most TALOS_BACKEND_OPTIONS_MAX for the one
     * opened): those of other
     * backends are ignored, so one list may serve several; a key of the
     * opened backend that it does not read is refused. Each backend
     * documents its own (talosd(8): --backend-option). May be NULL. */
    const struct talos_backend_option *options;
    size_t n_options;
    /* Backends that run TAs as processes: the user they run as when the
     * node runs as root (name or number); NULL = "nobody". See
     * docs/confinement.md. */
    const char *ta_user;
};

/* Open a backend. TALOS_ERR_NOT_IMPLEMENTED for the porting template,
 * TALOS_ERR_INVALID_ARG for an unknown backend name or option. */
TALOS_MUST_CHECK int talos_host_open(const struct talos_host_config *cfg, struct talos_host **out);
void talos_host_close(struct talos_host *h); /* NULL is ignored */

/* The backend's name and its trust anchors (PEM, owned by h). */
const char *talos_host_backend(const struct talos_host *h);
TALOS_MUST_CHECK int talos_host_anchors(const struct talos_host *h, const uint8_t **pem, size_t *len);
/* Claim flags every piece of evidence of this backend carries:
 * TALOS_CLAIM_SIMULATED when it gives no hardware isolation. */
uint32_t talos_host_claims(const struct talos_host *h);

/* Check the image at `path` before anything runs it: the backend parses
 * its bytes and refuses what it could not run as a TA (for sim: not a
 * static non-PIE ELF of this machine with the TALOS runtime in it), then
 * gives the measurement it would sign for it. TALOS_ERR_IMAGE with a
 * one-line reason in why otherwise. Starts no process. */
TALOS_MUST_CHECK int talos_host_check_image(struct talos_host *h, const char *path,
                                            uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                                            char *why, size_t why_cap);

enum talos_call_mode {
    TALOS_CALL_PASSIVE = 0,    /* one message on a socket per call */
    TALOS_CALL_SWITCHLESS = 1, /* polled shared-memory rings, no syscall on the fast path */
};

/* Host-side ocall handler: `req` is what the TA sent; write at most resp_cap
 * bytes to resp and set *resp_len. Return TALOS_OK or a talos_err that the TA
 * receives as the ocall's result. */
typedef int (*talos_ocall_fn)(void *ctx, const uint8_t *req, size_t req_len,
                              uint8_t *resp, size_t resp_cap, size_t *resp_len);

struct talos_ocall {
    const char *name;
    talos_ocall_fn fn;
    void *ctx;
};

struct talos_ta_options {
    enum talos_call_mode mode;
    const struct talos_ocall *ocalls; /* may be NULL; must outlive the TA */
    size_t n_ocalls;
};

/* Start a fresh lineage of the TA image at `image_path`. On success *out is
 * a running TA. TALOS_ERR_IMAGE when the file is not a TA image. */
TALOS_MUST_CHECK int talos_ta_create(struct talos_host *h, const char *image_path,
                                     const struct talos_ta_options *opt, struct talos_ta **out);

/* Stop the TA (its lineage ends) and free the handle. NULL is ignored. */
void talos_ta_destroy(struct talos_ta *ta);

/* What the host library tells its user about one TA (talosd keeps its
 * record of the lineages it holds with these). */
enum talos_ta_event_kind {
    /* A migration target is about to serve `lineage` at `version`, and
     * waits: return TALOS_OK once the arrival is recorded; any error
     * refuses it (the target fails, and its ABORT lets the source serve
     * on). Without a handler the target activates. */
    TALOS_TA_EV_ACTIVATING = 1,
    /* The TA process died or broke the protocol (`why`: the error). */
    TALOS_TA_EV_LOST = 2,
};
struct talos_ta_event {
    enum talos_ta_event_kind kind;
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;
    int why;
    const char *name; /* the TA's name (from its image) */
};
/* Called in the thread that is using the TA when the event happens. */
typedef int (*talos_ta_event_fn)(void *ctx, struct talos_ta *ta, const struct talos_ta_event *ev);
void talos_ta_set_event_handler(struct talos_ta *ta, talos_ta_event_fn fn, void *ctx);

/* At most `bytes` of its arena a migration target pre-faults on the
 * source's unauthenticated size hint, before the source is attested
 * (default: only the runtime's own bound). talosd shares one budget among
 * all its virgin targets with it. */
void talos_ta_set_prefault_grant(struct talos_ta *ta, uint64_t bytes);

/* Make a virgin target (talos_ta_create_target, before talos_ta_migrate_in)
 * fault in the first `bytes` of its arena now, off any migration's path: a
 * warm pool's target then restores into touched memory. Returns when done.
 * TALOS_ERR_STATE for a TA that is not a virgin target. */
TALOS_MUST_CHECK int talos_ta_prefault(struct talos_ta *ta, uint64_t bytes);

/* 1 while the TA's process exists, 0 once it has ended; from any thread,
 * without reaping it (the thread using the TA learns it on its next call). */
int talos_ta_alive(const struct talos_ta *ta);

/* Kill the TA's process now, from any thread: only a signal, no other
 * change to the handle; the thread using the TA then finds it dead
 * (TALOS_ERR_TA_CRASHED) and talos_ta_destroy still frees it. For a
 * watchdog that bounds how long a TA may take (a migration target that
 * never gets its state). */
void talos_ta_kill(struct talos_ta *ta);

/* One argument, by pointer and length. */
struct talos_buf {
    const void *ptr;
    size_t len;
};

/* Result of one ecall. out (heap, NUL-terminated for convenience, out_len
 * excludes the NUL) and reason are set by talos_ta_call; release with
 * talos_result_clear. */
struct talos_result {
    int status;          /* TALOS_OK or the TA's talos_err */
    uint8_t *out;
    size_t out_len;
    char reason[256];    /* the TA's one-line reason when status != OK */
    uint64_t version;    /* TA version after the call */
};
void talos_result_clear(struct talos_result *r);

/* Call an ecall. Returns TALOS_OK when the call reached the TA and came back
 * (the TA's own verdict is res->status), or a transport/lifecycle error
 * (TALOS_ERR_TA_CRASHED, ...). Calls on one TA are serialized by the caller. */
TALOS_MUST_CHECK int talos_ta_call(struct talos_ta *ta, const char *ecall, int argc,
                                   const struct talos_buf *argv, struct talos_result *res);

/* Ask the TA for evidence over report data talos_attest_report_data(nonce,
 * lineage). ev must hold TALOS_EVIDENCE_MAX bytes. */
TALOS_MUST_CHECK int talos_ta_attest(struct talos_ta *ta, const uint8_t nonce[TALOS_NONCE_BYTES],
                                     uint8_t *ev, size_t *ev_len);

struct talos_ta_info {
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint8_t measurement[TALOS_MEASUREMENT_BYTES]; /* as measured by the platform at load */
    uint64_t version;
    char name[TALOS_TA_NAME_MAX];     /* the TA's declared name */
    char state[TALOS_STATE_NAME_MAX]; /* "ACTIVE", "CRASHED", ... */
    int pid;                 /* sim: the TA process; 0 elsewhere */
    enum talos_call_mode mode;
    uint64_t state_bytes;    /* bytes of state in use (arena + persist) */
};

/* --- migration (host side: the node only relays bytes) ----------------- */

#define TALOS_TOKEN_MAX 160

/* What one side of a migration reports. Times in nanoseconds, measured
 * inside the TAs. */
struct talos_migration {
    int status;                  /* TALOS_OK or the refusal */
    char reason[256];            /* one line when status != OK */
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;            /* the version that moved */
    uint64_t prepare_ns;         /* channel + mutual attestation */
    uint64_t checkpoint_ns;      /* source: hashing state pages (overlaps transfer) */
    uint64_t transfer_ns;        /* source: streaming the state (pipelined) */
    uint64_t restore_ns;         /* target: installing + verifying */
    uint64_t activate_ns;        /* HANDOFF .. RECEIPT */
    uint64_t downtime_ns;        /* source frozen .. target serving */
    uint64_t total_ns;
    uint64_t state_bytes;        /* state bytes sent, all rounds */
    uint64_t frozen_bytes;       /* source: state bytes sent while frozen (the last round) */
    uint64_t cpu_ns;             /* CPU time of the reporting TA (all threads) */
    uint32_t rounds;             /* source: pre-copy rounds before the freeze; 0 stop-and-copy */
    char converged[24];          /* source: why the pre-copy froze ("converged", ...) */
    char wtrack[16];             /* source: write tracking used ("uffd-wp", ...; "" none) */
    uint8_t token_kind;          /* 0, 7 = PREPARED (target waits for a HANDOFF), 8 = HANDOFF
                                  * (source in doubt), 9 = RECEIPT (target serves), 10 = ABORT */
    uint8_t token[TALOS_TOKEN_MAX];
    size_t token_len;
};

/* Start a virgin target of `image_path` in restore mode: it holds no
 * lineage and serves nothing until talos_ta_migrate_in succeeds. */
TALOS_MUST_CHECK int talos_ta_create_target(struct talos_host *h, const char *image_path,
                                            const struct talos_ta_options *opt,
                                            struct talos_ta **out);

/* Run the source side over `sock`, a connected stream to where the target
 * listens (ownership of sock passes to the call). TALOS_OK with m->status
 * the verdict; after success the source TA has retired and ended. */
TALOS_MUST_CHECK int talos_ta_migrate_out(struct talos_ta *ta, int sock, struct talos_migration *m);

/* How a source migrates. Pre-copy copies the state in rounds while the TA
 * keeps serving, tracking the pages written meanwhile, and freezes it only
 * for the last small dirty set (docs/precopy.md). */
#define TALOS_PRECOPY_MAX_ROUNDS 30 /* the round limit when max_rounds is 0 */
struct talos_migrate_options {
    int precopy;          /* 1 pre-copy, 0 stop-and-copy */
    uint32_t max_rounds;  /* pre-copy rounds before the freeze at the latest; 0 default */
    const char *to;       /* where the TA goes, named in its MOVED answers; may be NULL */
};

/* A source migration in flight (talos_ta_migrate_start). */
struct talos_migration_op;

/* Start the source side over `sock` (ownership passes to the call) and
 * return at once: the TA runs the migration on its own control thread, and
 * talos_ta_call keeps working on other threads of the host (pre-copy) or
 * waits until the TA is frozen and then answers TALOS_ERR_MOVED or serves
 * again. The caller must not use `ta` concurrently with this call itself. */
TALOS_MUST_CHECK int talos_ta_migrate_start(struct talos_ta *ta, int sock,
                                            const struct talos_migrate_options *o,
                                            struct talos_migration_op **out);
/* Wait for the migration started by talos_ta_migrate_start, serving the
 * TA's platform requests meanwhile; frees op. Same outcome as
 * talos_ta_migrate_out. Safe to run while other threads call the TA. */
TALOS_MUST_CHECK int talos_ta_migrate_wait(struct talos_migration_op *op, struct talos_migration *m);

/* Run the target side over `sock`, for the lineage the host expects (the
 * one the source's node announced). The target refuses a source that
 * offers another lineage (TALOS_ERR_PROTOCOL): the announcement travels in
 * plaintext, the lineage inside the attested channel. After success the TA
 * serves that lineage. */
TALOS_MUST_CHECK int talos_ta_migrate_in(struct talos_ta *ta, int sock,
                                         const uint8_t lineage[TALOS_LINEAGE_BYTES],
                                         struct talos_migration *m);

/* Give a HANDED_OFF source the target's ABORT token so that it serves
 * again. The TA checks the token; res->status is its verdict (release res
 * with talos_result_clear). */
TALOS_MUST_CHECK int talos_ta_resume(struct talos_ta *ta, const uint8_t *token, size_t len,
                                     struct talos_result *res);

/* A target that answered talos_ta_migrate_in with m->status
 * TALOS_ERR_HANDOFF_WAIT is PREPARED and lost its channel: give it the
 * source's HANDOFF token that a peer node carried. TALOS_OK with m->status
 * the TA's verdict: TALOS_OK = it activated (m->token is its RECEIPT); a
 * token that does not verify leaves it PREPARED (m->status names why); a
 * failed activation leaves it FAILED with m->token its ABORT. */
TALOS_MUST_CHECK int talos_ta_handoff(struct talos_ta *ta, const uint8_t *token, size_t len,
                                      struct talos_migration *m);

/* Make a waiting PREPARED target give up: it becomes FAILED (terminal) and
 * m->token is its ABORT token carrying `code`. */
TALOS_MUST_CHECK int talos_ta_give_up(struct talos_ta *ta, int code, struct talos_migration *m);

/* Give a HANDED_OFF source the target's RECEIPT token (carried by the
 * nodes): the TA checks it under its pending session key and retires.
 * res->status is its verdict (release res with talos_result_clear). */
TALOS_MUST_CHECK int talos_ta_receipt(struct talos_ta *ta, const uint8_t *token, size_t len,
                                      struct talos_result *res);

/* Ask the TA for a state certificate (docs/state-certs.md): the TA
 * checkpoints (state root, chain head) and signs a statement of lineage,
 * version, root, chain head, execution record and identity with its lineage
 * key. res->status is the TA's verdict, res->out the encoded certificate
 * (core/cert.h); release res with talos_result_clear. The host cannot forge
 * one: verify it with `talos verify`. */
TALOS_MUST_CHECK int talos_ta_state_cert(struct talos_ta *ta, struct talos_result *res);

/* Snapshot of the TA as the host knows it (no round trip for the static
 * fields; version and state_bytes are refreshed from the TA). */
TALOS_MUST_CHECK int talos_ta_info(struct talos_ta *ta, struct talos_ta_info *info);

/* --- client sessions (docs/sessions.md) ---------------------------------- */

/* A client's end-to-end TLS session with the TA is terminated inside the
 * TA; the host only relays its bytes, which it cannot read or change
 * unnoticed. The host names each session of a TA by a sid of its choice
 * (unique among that TA's open sessions; the TA holds at most 256). */
#define TALOS_SESSION_IO_MAX (64u << 10) /* bytes in or out per exchange */
enum talos_session_op {
    TALOS_SESSION_OPEN = 1,  /* a client connected: no bytes yet */
    TALOS_SESSION_DATA = 2,  /* bytes the client sent (or none: "what do you have for it?") */
    TALOS_SESSION_CLOSE = 3, /* the client left or the host gave up on it */
};
struct talos_session_io {
    uint8_t *out;   /* the caller's buffer of TALOS_SESSION_IO_MAX bytes */
    size_t out_len; /* set: bytes to send to the client, in order */
    int more;       /* the TA holds more bytes for the client: ask again (DATA, no bytes) */
    int closed;     /* the TA ended the session: send out, then close the connection */
};
/* One exchange: TALOS_OK with io filled; or the TA's refusal of the
 * session (MOVED, STATE, BUSY, NO_SUCH_SESSION, PROTOCOL), io->closed set
 * and io->out possibly holding a last record for the client; or
 * TA_CRASHED / INVALID_ARG as for talos_ta_call. Serialised with calls
 * like talos_ta_call (the caller's lock). */
TALOS_MUST_CHECK int talos_ta_session(struct talos_ta *ta, uint32_t sid, enum talos_session_op op,
                                      const uint8_t *in, size_t in_len,
                                      struct talos_session_io *io);

#ifdef __cplusplus
}
#endif
#endif
