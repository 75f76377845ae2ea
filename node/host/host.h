/* Private structures of the host library (untrusted side). */
#ifndef TALOS_NODE_HOST_H
#define TALOS_NODE_HOST_H

#include <pthread.h>
#include <stdint.h>

#include "os/xport.h"
#include "talos/talos.h"
#include "tee/tee.h"

struct talos_host {
    const struct talos_tee_host_ops *ops;
    struct talos_platform *plat;
    uint8_t *config;       /* launch config given to every TA (measured: config_id) */
    size_t config_len;
    uint8_t config_id[TALOS_CONFIG_ID_BYTES];
};

struct talos_ta {
    struct talos_host *host;
    struct talos_xport x;
    struct talos_wr rx, tx;
    struct talos_ta_options opt;
    uint8_t measurement[TALOS_MEASUREMENT_BYTES];
    uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES];
    int has_cfg;           /* the platform computed cfg_digest (else NO_CFG evidence) */
    char *image_path;      /* the image launched: its CFG file is served on request */
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t version;
    uint64_t state_bytes;
    char name[TALOS_TA_NAME_MAX];
    int pid;
    int dead;              /* the TA process is gone: every call answers TA_CRASHED */
    int target;            /* started in restore mode and not activated yet */
    int migrating;         /* a MIGRATE_OUT is in flight */
    uint64_t prefault_grant;    /* what a target may pre-fault before its source is attested */
    talos_ta_event_fn on_event; /* may be NULL */
    void *event_ctx;
};

/* Wait for a frame of type `want` from the TA, serving its ocalls and
 * platform requests meanwhile (ta.c); a TA that breaks off is lost. */
int talos_host_await(struct talos_ta *ta, uint16_t want);

/* What may be served on a channel while the host waits (serve.c). */
#define TALOS_HOST_SERVE_OCALLS 0x1u   /* TALOS_MSG_OCALL */
#define TALOS_HOST_SERVE_PLATFORM 0x2u /* TALOS_MSG_HOST_REQ */
#define TALOS_HOST_SERVE_START 0x4u    /* TALOS_MSG_START_FAILED: ends the wait with its status */
/* The one wait loop: receive frames on x into rx until one of type `want`
 * (TALOS_OK, its body in rx), serving those `serve` allows (answers go out
 * through tx); another type is TALOS_ERR_PROTOCOL; a transport error is
 * returned as it is (the caller decides what it means for the TA). */
int talos_host_serve_until(struct talos_ta *ta, struct talos_xport *x, struct talos_wr *rx,
                           struct talos_wr *tx, uint16_t want, unsigned serve);
/* The one decoder of a REPLY frame in ta->rx (i32 status ‖ u64 version ‖
 * bytes out ‖ str reason) into res; a frame that does not decode means the
 * TA broke the protocol (talos_host_lose). Release res with
 * talos_result_clear. */
int talos_host_decode_reply(struct talos_ta *ta, struct talos_result *res);
/* The decoder itself, over any buffer: TALOS_ERR_MALFORMED when it does not
 * decode (the caller decides what that means for the TA). */
int talos_host_decode_reply_buf(const uint8_t *p, size_t len, struct talos_result *res);
/* The READY frame in ta->rx (raw lineage[16] ‖ u64 version ‖ str name)
 * into ta->lineage, ta->version, ta->name (NUL-terminated); TALOS_OK or
 * TALOS_ERR_MALFORMED (the caller refuses the image). */
int talos_host_decode_ready(struct talos_ta *ta);
/* The INFO_RET frame in ta->rx (u64 version ‖ u64 state_bytes ‖ str state)
 * into ta->version, ta->state_bytes and state (state_cap bytes with NUL);
 * a frame that does not decode loses the TA (TA_CRASHED, state ""). */
int talos_host_decode_info(struct talos_ta *ta, char *state, size_t state_cap);
/* The TA broke the protocol or died: mark it lost, log it, reap it. */
int talos_host_lose(struct talos_ta *ta, int why);

#ifdef TALOS_HOSTILE_HOST
/* Test build only (tests/host/hostile.c, SECURITY.md T25): answer the
 * ocall "hostile.<mode>" the hostile way <mode> names. */
int talos_hostile_ocall(struct talos_ta *ta, const char *mode);
/* The same for a platform request: 1 when it answered (*rc: the send's
 * result), 0 when the request is served normally. */
int talos_hostile_host_req(struct talos_ta *ta, uint16_t type, int *rc);
#endif

/* Build the launch configuration (anchors, policy) shared by the host's TAs. */
int talos_host_make_config(struct talos_host *h);

#endif
