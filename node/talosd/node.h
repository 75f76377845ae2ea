/* talosd's process-wide state and the pieces main.c wires together. */
#ifndef TALOS_TALOSD_NODE_H
#define TALOS_TALOSD_NODE_H

#include <jansson.h>
#include <limits.h>

#include "core/sign.h"
#include "talos/talos.h"

#define CONTROL_FRAME_MAX (8u << 20)

struct node {
    char state_dir[PATH_MAX];
    char listen[128];
    const char *backend;
    int simulated; /* the backend's evidence says TALOS_CLAIM_SIMULATED */
    struct talos_host *host;
    int handoff_wait; /* seconds a PREPARED target waits for a resent HANDOFF */
    uint64_t pool_arena; /* bytes of arena each warm pool target faults in ahead (0: none) */
};

extern struct node node;

/* Serve one control connection until the client closes it (takes fd). */
void control_serve(int fd);

/* Answer one control request (the JSON bytes of one frame) as control_serve
 * does, but with no client connection: progress frames are dropped. Returns
 * the response object (the caller json_decref's it), NULL when out of
 * memory. For tests (tests/fuzz/fuzz_control_json.c). */
json_t *control_handle_json(const uint8_t *buf, size_t len);

struct peer_link;
struct talos_sdir;

/* The image store, STATE_DIR/images (checked at start: docs/state-dir.md). */
int images_init(const struct talos_sdir *sd, char *why, size_t cap);
void images_fini(void);
/* Copy an operator's image into STATE_DIR/images/<sha256>.ta (content-
 * addressed, so a later change to the user's file changes nothing here):
 * only a regular file, checked by the backend and allowed by the image
 * policy before it is kept; *out gets the path, why the reason of a
 * refusal. */
int images_store(const char *src, const uint8_t *sig, char *out, size_t cap, char *why,
                 size_t why_cap);
/* The same for `size` bytes from an authenticated peer, which must hash to
 * the `sha` it announced. sig (both): the image's signature (talos sign,
 * TALOS_IMAGE_SIG_BYTES) or NULL; kept with the image when it is allowed. */
int images_receive(struct peer_link *l, uint64_t size, const uint8_t sha[TALOS_SHA256_BYTES],
                   const uint8_t *sig, char *out, size_t cap, char *why, size_t why_cap);
/* The stored signature of an image: 1 and sig filled when there is one. */
int images_sig(const uint8_t sha[TALOS_SHA256_BYTES], uint8_t sig[TALOS_IMAGE_SIG_BYTES]);
/* The sha256 named by a stored image's path. */
int images_sha(const char *path, uint8_t sha[TALOS_SHA256_BYTES]);
/* Whether the store has the image (and its path): hashed again now; a
 * stored file that is not what its name says is removed. */
int images_have(const uint8_t sha[TALOS_SHA256_BYTES], char *out, size_t cap);

/* The node's record of the lineages it holds (journal.c): read what the
 * previous run left (and log it), start this run's; set one lineage's
 * state ("here", "moved", "stopped", "lost", "ended"), durably; mark a
 * clean shutdown. */
int journal_open(const struct talos_sdir *sd, char *why, size_t cap);
int journal_set(const char *id, const char *state, const char *name, uint64_t version,
                const char *detail);
void journal_close(void);

/* The local operator CA (nodeca.c): its default directory, and this
 * node's certificate and key issued by it (made when missing); the paths
 * of node cert, node key and CA certificate come back in cert, key, ca. */
const char *nodeca_default_dir(void);
int nodeca_ensure(const char *ca_dir, char *cert, char *key, char *ca, size_t cap, char *why,
                  size_t why_cap);

/* The image policy (imgpolicy.c): load talosd --image-policy FILE. */
int image_policy_load(const char *path, char *why, size_t cap);
/* Whether the policy allows an image of this measurement and file hash,
 * with this signature (NULL: none), brought by `origin` ("operator",
 * "peer", "store"); TALOS_ERR_POLICY with why otherwise. */
int image_policy_allows(const uint8_t m[TALOS_MEASUREMENT_BYTES],
                        const uint8_t sha[TALOS_SHA256_BYTES], const uint8_t *sig,
                        const char *origin, char *why, size_t cap);
int image_policy_loaded(void);
const char *image_policy_describe(void);

/* Warm pool of virgin targets (pool.c): take one for (image, mode), or
 * start one in the background; all stopped at shutdown. */
struct talos_ta *pool_take(const uint8_t sha[TALOS_SHA256_BYTES], int mode);
/* Pre-start a target of `path` in the background, after `delay_ms`: a
 * launch right after a migration would compete with the arrived TA's first
 * calls on two cores. */
void pool_fill(const uint8_t sha[TALOS_SHA256_BYTES], int mode, const char *path,
               unsigned delay_ms);
void pool_shutdown(void);

/* The ocalls every TA on this node may make. */
extern const struct talos_ocall node_ocalls[];
extern const size_t node_n_ocalls;

/* Peer listener: migrations arrive here (one thread per connection,
 * capped; peer.c). */
int peer_listen(const char *hostport, int *fd);
void peer_accept_one(int lfd);
/* Cut connections past their deadline (called about once a second). */
void peer_reap(void);

/* Backend options as talosd got them (backend.c), for talos_host_config. */
struct backend_opts {
    struct talos_backend_option o[TALOS_BACKEND_OPTIONS_MAX];
    char *keys[TALOS_BACKEND_OPTIONS_MAX]; /* o[i].key when it was split from KEY=VALUE */
    size_t n;
};
/* Add one: key NULL takes value as KEY=VALUE (--backend-option), else it
 * is the value of key (an alias flag: --sim-ca). 0, or the exit status
 * after a message on stderr (2 usage, 1 out of memory). */
int backend_opt_add(struct backend_opts *b, const char *key, const char *value);
void backend_opts_free(struct backend_opts *b);
/* Say on stderr why talos_host_open(backend) answered err, and what to do. */
void backend_open_failed(const char *backend, int err);

struct ta_entry;
/* Move a TA to the node at `to` (migrate.c), by pre-copy or stop-and-copy
 * as `precopy` says, with at most `max_rounds` rounds (0 default). `note`
 * reports progress. On failure `why` holds one line; the TA serves on
 * unless it is in doubt. */
int migrate_out(struct ta_entry *e, const char *to, int precopy, uint32_t max_rounds,
                struct talos_migration *m,
                void (*note)(void *ctx, const char *step, const char *detail), void *ctx,
                char *why, size_t why_cap);

#endif
