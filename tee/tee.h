/* The TEE backend contract: the five calls of the unified abstraction
 * (enclave side), what a platform does for the host (host side), and the
 * row of an evidence format (verify side).
 *
 * Only tee/<name>/ may name a TEE: everything outside tee/ asks a backend's
 * properties (talos_host_claims, the claims of verified evidence), never
 * its name, and passes it options it does not read (talos_host_config).
 *
 * Adding a backend is a new folder plus one line in TALOS_TEE_BACKENDS
 * below. The folder (copy tee/skeleton/, the porting template) shows the
 * backend's sides, each built into its own artifact by the Makefile, which
 * finds the files by folder:
 *   tee/<name>/enclave/  `talos_tee_enclave`, linked into TA images built
 *                        with `make TEE=<name>` (libraries they need: an
 *                        optional enclave/libs.mk adding to TEE_ENCLAVE_LIBS)
 *   tee/<name>/host/     `talos_tee_<name>_host`, the platform talosd and the
 *                        CLI link (every backend's, one picked at run time)
 *   tee/<name>/verify/   `talos_tee_<name>_format`, its evidence format,
 *                        linked wherever evidence is checked (TAs included)
 *   tee/<name>/common/   optional: code both sides build
 *   tee/<name>/tests/    optional: its own unit tests (test_*.c, run with
 *                        tests/unit's), fuzz harnesses of its formats
 *                        (fuzz_*.c) and their seed maker (gen_seeds.c)
 */
#ifndef TALOS_TEE_H
#define TALOS_TEE_H

#include <stddef.h>
#include <stdint.h>

#include "talos/err.h"
#include "talos/talos.h"
#include "talos/ta.h"

/* The backends of this build, the default first, one line each: X(name)
 * names the C identifiers talos_tee_<name>_host and talos_tee_<name>_format
 * (tee/registry_host.c and tee/evidence.c make their tables of it). */
#define TALOS_TEE_BACKENDS(X) \
    X(sim)                    \
    X(skeleton)

/* The envelope every backend's evidence starts with (core/wire.h,
 * big-endian): u32 TALOS_EV_MAGIC ‖ u16 version (the format's own) ‖ str
 * backend name. talos_verify_evidence() picks the format by that name. */
#define TALOS_EV_MAGIC 0x544c4556u /* "TLEV" */

/* One mapping of the TA's own address space (introspection). */
enum talos_region_kind {
    TALOS_REGION_CODE = 1,    /* executable image segment */
    TALOS_REGION_RODATA = 2,  /* read-only image segment */
    TALOS_REGION_DATA = 3,    /* writable image segment (.data/.bss) */
    TALOS_REGION_ARENA = 4,   /* the state arena */
    TALOS_REGION_OTHER = 5,   /* heap, stacks, libraries, vdso ... */
};

#define TALOS_PROT_R 0x1u
#define TALOS_PROT_W 0x2u
#define TALOS_PROT_X 0x4u

struct talos_region {
    uint64_t start, end; /* [start, end) */
    uint32_t prot;       /* TALOS_PROT_* */
    uint32_t kind;       /* enum talos_region_kind */
};

/* Services the TA runtime gives a backend's enclave side: a synchronous
 * request to the untrusted host (sim uses it to reach its platform). The
 * response is hostile: at most resp_cap bytes, copied once. */
struct talos_tee_env {
    int (*host_request)(void *ctx, uint16_t type, const uint8_t *req, size_t req_len,
                        uint8_t *resp, size_t resp_cap, size_t *resp_len);
    void *ctx;
};

/* Enclave side: linked into a TA image built for the backend. */
struct talos_tee_ops {
    const char *name;
    /* Confine the TA process: called once, by the TA runtime's main, before
     * it starts a thread or reads a byte from the host, and after the C and
     * crypto libraries loaded what they load from files. Failure ends the
     * TA. May be NULL: a TEE confines its enclaves by itself. */
    int (*confine)(void);
    int (*init)(const struct talos_tee_env *env);
    /* Hash of this TA's code as it is in memory now (introspection: it
     * re-reads the code every time; see docs/measurement.md). */
    int (*measure_self)(uint8_t out[TALOS_MEASUREMENT_BYTES]);
    /* The same hash taken once when the TA started: the baseline a later
     * measure_self is compared with. May be NULL (the runtime then compares
     * with the measurement in the TA's own evidence). */
    int (*launch_measurement)(uint8_t out[TALOS_MEASUREMENT_BYTES]);
    /* Evidence over report_data; *len in: capacity, out: bytes written. */
    int (*evidence)(const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev, size_t *len);
    /* Verify a peer's evidence (same contract as talos_verify_evidence). */
    int (*verify)(const uint8_t *ev, size_t len, const uint8_t *anchors_pem, size_t anchors_len,
                  unsigned flags, struct talos_claims *out);
    int (*seal_key)(enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES]);
    /* Up to *n regions of the TA's own address space; *n set to the count. */
    int (*memory_map)(struct talos_region *out, size_t *n);
    /* Stop any helper thread the backend started (before the TA exits);
     * may be NULL. */
    void (*fini)(void);
};

/* Provided by exactly one backend library linked into a TA image. */
extern const struct talos_tee_ops talos_tee_enclave;

/* Host side ---------------------------------------------------------------- */

struct talos_platform; /* backend-private */

struct talos_platform_config {
    const char *state_dir;  /* node state directory (exists) */
    /* This backend's options, the "<name>." of their keys taken off: each
     * key is one the backend lists in its ops' options. The backend alone
     * reads them (talos_tee_option). */
    const struct talos_backend_option *options;
    size_t n_options;
    /* Backends that run TAs as processes: the user they run as when the
     * node runs as root; NULL = "nobody" (docs/confinement.md). */
    const char *ta_user;
};

/* The value of option key in cfg (the last one given), or NULL. */
const char *talos_tee_option(const struct talos_platform_config *cfg, const char *key);

struct talos_launch {
    const char *image_path; /* the image (argv[0] and messages; opened when image_fd < 0) */
    /* -1: run the file at image_path (opened by the backend at launch).
     * >= 0: run exactly this open file (sim: execveat(image_fd, "", ...,
     * AT_EMPTY_PATH)), so that what runs is the file the host checked,
     * whatever image_path names by then. Either way the file is run through
     * a descriptor: no search permission on the folders above it is needed,
     * only the file's own mode, which must let the TA user execute and read
     * it (stored images are mode 0555: docs/confinement.md). The caller
     * keeps ownership of image_fd. */
    int image_fd;
    int channel_fd;         /* becomes fd 3 in the TA */
    int shm_fd;             /* becomes fd 4 in the TA, or -1 */
};

struct talos_tee_host_ops {
    const char *name;
    /* Claim flags every piece of evidence this platform produces carries:
     * TALOS_CLAIM_SIMULATED for a platform without hardware isolation.
     * The host library and talosd ask this, never the name. */
    uint32_t claims;
    /* The option keys the backend reads (NULL-terminated; NULL: none):
     * talos_host_open refuses another key addressed to this backend. */
    const char *const *options;
    int (*open)(const struct talos_platform_config *cfg, struct talos_platform **out);
    void (*close)(struct talos_platform *p);
    /* Whether the bytes of the open image file fd are something this
     * platform can run, checked before any process is started from it (and
     * before measure_image and launch). The bytes are read from fd with
     * pread only, never through a path, and fd's offset is left as it was:
     * a caller that checks an fd and then launches from that same fd (or
     * from a private copy it made of the bytes it checked) runs what was
     * checked. For sim, the rules are in tee/sim/host/image_check.h (a static,
     * non-PIE ELF for this machine, carrying the TALOS runtime note).
     * TALOS_OK; TALOS_ERR_IMAGE with a one-line reason in why (cap bytes,
     * NUL-terminated, truncated; why may be NULL), e.g. "PIE (ET_DYN)
     * image: TAs are built non-PIE"; TALOS_ERR_IO when fd cannot be read;
     * TALOS_ERR_NOMEM; TALOS_ERR_INVALID_ARG. Optional: NULL when the
     * backend checks nothing before launch; a backend that runs nothing
     * (skeleton) answers TALOS_ERR_NOT_IMPLEMENTED. Call it through
     * talos_tee_check_image, which answers for a NULL op. */
    int (*check_image)(struct talos_platform *p, int fd, char *why, size_t cap);
    /* The measurement the platform assigns to an image file at load. */
    int (*measure_image)(struct talos_platform *p, const char *path,
                         uint8_t out[TALOS_MEASUREMENT_BYTES]);
    /* The CFG digest the platform assigns to an image file at load
     * (docs/cfg.md) and, when file is not NULL, the canonical CFG file
     * (malloc'd, *file_len bytes, freed by the caller). May be NULL: the
     * backend computes no CFG, and its evidence says TALOS_CLAIM_NO_CFG. */
    int (*cfg_image)(struct talos_platform *p, const char *path,
                     uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **file, size_t *file_len);
    /* Start the TA; *pid is the process to watch (sim) or 0. */
    int (*launch)(struct talos_platform *p, const struct talos_launch *l, int *pid);
    /* Sign claims for a TA this platform launched (the quoting service).
     * cfg_digest NULL: no CFG digest (TALOS_CLAIM_NO_CFG). */
    int (*quote)(struct talos_platform *p, const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                 const uint8_t config_id[TALOS_CONFIG_ID_BYTES],
                 const uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES],
                 const uint8_t report_data[TALOS_REPORT_DATA_BYTES], uint8_t *ev, size_t *len);
    /* Seal key of a TA this platform launched. */
    int (*seal_key)(struct talos_platform *p, const uint8_t measurement[TALOS_MEASUREMENT_BYTES],
                    enum talos_seal_policy policy, uint8_t key[TALOS_SEAL_KEY_BYTES]);
    /* PEM trust anchors a verifier needs for this platform's evidence. */
    int (*anchors)(struct talos_platform *p, const uint8_t **pem, size_t *len);
    /* Without opening the platform: the file of trust anchors a verifier on
     * this machine uses by default (talos_default_anchors), and in *hint how
     * a user picks others (static, also set on failure). May be NULL. */
    int (*default_anchors)(char *path, size_t cap, const char **hint);
    /* A process this platform launched (pid from launch) has ended and is
     * not reaped yet: a zombie, so its pid cannot have been reused. signo
     * is the signal that killed it, or 0. Writes into why (cap bytes,
     * NUL-terminated) what the platform knows of the end beyond the wait
     * status (sim: the system call its confinement forbade), or "", and
     * releases what the platform kept for that process. Called once per
     * launched process. May be NULL. */
    void (*ended)(struct talos_platform *p, int pid, int signo, char *why, size_t cap);
};

/* One evidence format: a row of the table in tee/evidence.c, picked by
 * the backend name in the envelope. */
struct talos_tee_verifier {
    const char *name;
    /* Claim flags every piece of evidence of this format carries
     * (TALOS_CLAIM_SIMULATED: it proves no hardware isolation); checked on
     * whatever verify and decode answer (TALOS_ERR_BACKEND otherwise). */
    uint32_t claims;
    int (*verify)(const uint8_t *ev, size_t len, const uint8_t *anchors_pem, size_t anchors_len,
                  unsigned flags, struct talos_claims *out);
    /* Decode strictly without checking signatures or chains (for display:
     * talos_evidence_claims); may be NULL. */
    int (*decode)(const uint8_t *ev, size_t len, struct talos_claims *out);
    /* Work a verifier can do ahead of its first evidence, given the anchors
     * it will be asked to check against (parse them, say); may be NULL. */
    void (*warm)(const uint8_t *anchors_pem, size_t anchors_len);
};

/* ops->check_image(p, fd, why, cap), or TALOS_ERR_NOT_IMPLEMENTED with a
 * reason when the backend has no such check (tee/registry_host.c). */
int talos_tee_check_image(const struct talos_tee_host_ops *ops, struct talos_platform *p, int fd,
                          char *why, size_t cap);

/* Registries (tee/registry_host.c, tee/evidence.c): NULL when unknown. */
const struct talos_tee_host_ops *talos_tee_host_find(const char *name);
const struct talos_tee_verifier *talos_tee_verifier_find(const char *name);

/* The options in in[0..n_in) addressed to ops ("<ops->name>.<key>"), with
 * that prefix taken off, into out (TALOS_BACKEND_OPTIONS_MAX entries; pointers
 * into in's strings); options of other backends are left out, so one list
 * may carry options for several. TALOS_ERR_INVALID_ARG (logged) for a key
 * with no "<backend>." or one ops does not list; TALOS_ERR_TOO_LARGE. */
int talos_tee_options_for(const struct talos_tee_host_ops *ops, const struct talos_backend_option *in,
                          size_t n_in, struct talos_backend_option *out, size_t *n_out);
/* Every verifier's warm (off a critical path: it may take milliseconds). */
void talos_tee_verifiers_warm(const uint8_t *anchors_pem, size_t anchors_len);

#endif
