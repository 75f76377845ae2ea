/* State certificates (docs/state-certs.md): a TA's signed statement of its
 * lineage, version, state root, chain head, execution record and identity,
 * made with a lineage key that rotates at every migration, each new key
 * certified by the previous one (rotation links from the first key).
 *
 * One encoder and one decoder, shared by the TA runtime (which signs), the
 * CLI (which verifies) and the fuzzer. All integers big-endian (core/wire.h).
 *
 *   body  = u32 format ‖ lineage[16] ‖ u64 epoch ‖ pub[32] ‖ u64 version ‖
 *           root[32] ‖ u64 prev_version ‖ prev_head[32] ‖ u64 head_version ‖
 *           head[32] ‖ exec_head[32] ‖ str backend ‖ measurement[32] ‖
 *           config_id[32] ‖ cfg_digest[32] ‖ pub0[32] ‖ u32 n_links ‖
 *           n_links × link
 *   link  = u64 epoch ‖ pub[32] ‖ u64 version ‖ head[32] ‖ sig[64]
 *   cert  = body ‖ sig[64] ‖ bytes evidence
 *
 * sig = Ed25519(key of `pub`, "talos-state-cert-v1" ‖ body). Link i (epoch
 * i+1) is signed by the key of epoch i over "talos-lineage-link-v1" ‖
 * lineage ‖ u64 epoch ‖ pub ‖ u64 version ‖ head: the key made at a
 * migration, certified by the key that travelled. The evidence's report
 * data is SHA-256("talos-lineage-key" ‖ lineage ‖ u64 epoch ‖ pub) ‖ 0^32.
 * Trusted code; no OS dependency.
 */
#ifndef TALOS_CORE_CERT_H
#define TALOS_CORE_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "core/merkle.h"
#include "core/sign.h"
#include "talos/talos.h"

#define TALOS_CERT_FORMAT 1
#define TALOS_CERT_SIG_BYTES TALOS_ED25519_SIG_BYTES
/* Rotation links a certificate carries (one per migration). A lineage that
 * migrated more often can no longer certify its state (TOO_LARGE): a known
 * limit of format 1, see docs/state-certs.md. */
#define TALOS_CERT_MAX_LINKS 1024
#define TALOS_CERT_LINK_BYTES (8 + TALOS_ED25519_PUB_BYTES + 8 + TALOS_HASH + TALOS_CERT_SIG_BYTES)
#define TALOS_CERT_MAX_BYTES (544 + TALOS_CERT_MAX_LINKS * TALOS_CERT_LINK_BYTES + 4 + TALOS_EVIDENCE_MAX)

struct talos_cert_link {
    uint64_t epoch;      /* the epoch of the new key (>= 1) */
    uint8_t pub[TALOS_ED25519_PUB_BYTES]; /* the new key */
    uint64_t version;    /* the version the lineage had when the key was made */
    uint8_t head[TALOS_HASH]; /* the chain head then (the migration's checkpoint) */
    uint8_t sig[TALOS_CERT_SIG_BYTES]; /* by the key of epoch - 1 */
};

struct talos_cert {
    uint32_t format;
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t epoch;
    uint8_t pub[TALOS_ED25519_PUB_BYTES];
    uint64_t version;
    uint8_t root[TALOS_HASH];      /* Merkle root over the state pages at `version` */
    uint64_t prev_version;         /* the checkpoint before this one */
    uint8_t prev_head[TALOS_HASH];
    uint64_t head_version;         /* == version */
    uint8_t head[TALOS_HASH];      /* SHA-256("talos-chain" ‖ prev_head ‖ version ‖ root) */
    uint8_t exec_head[TALOS_HASH]; /* execution record at `version` */
    char backend[TALOS_BACKEND_NAME_MAX];
    uint8_t measurement[TALOS_MEASUREMENT_BYTES];
    uint8_t config_id[TALOS_CONFIG_ID_BYTES];
    uint8_t cfg_digest[TALOS_CFG_DIGEST_BYTES]; /* as the key's evidence states it (zero: none) */
    uint8_t pub0[TALOS_ED25519_PUB_BYTES];      /* the key of epoch 0 */
    uint32_t n_links;              /* == epoch */
    struct talos_cert_link *links; /* malloc'd; talos_cert_clear frees */
    uint8_t sig[TALOS_CERT_SIG_BYTES];
    uint8_t *evidence;             /* malloc'd */
    size_t evidence_len;
};

void talos_cert_clear(struct talos_cert *c);

struct talos_wr;
/* The canonical signed body of c (deterministic bytes). */
void talos_cert_encode_body(const struct talos_cert *c, struct talos_wr *w);
/* body ‖ sig ‖ bytes evidence. */
void talos_cert_encode(const struct talos_cert *c, struct talos_wr *w);
/* Decode a whole certificate (copies everything; c owns its arrays).
 * TALOS_ERR_MALFORMED (also: a field out of its range, n_links != epoch),
 * TALOS_ERR_TOO_LARGE, TALOS_ERR_NOMEM. *c is cleared on failure. */
int talos_cert_decode(const uint8_t *p, size_t n, struct talos_cert *c);

/* Signing inputs (the TA runtime signs, verifiers recompute). */
void talos_cert_link_message(const uint8_t lineage[TALOS_LINEAGE_BYTES],
                             const struct talos_cert_link *l, struct talos_wr *w);
void talos_cert_key_report_data(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint64_t epoch,
                                const uint8_t pub[TALOS_ED25519_PUB_BYTES],
                                uint8_t out[TALOS_REPORT_DATA_BYTES]);
/* sig over the body of c with the key of `seed` (which must be c->pub's). */
int talos_cert_sign(struct talos_cert *c, const uint8_t seed[TALOS_ED25519_SEED_BYTES]);
/* Sign a rotation link with the previous epoch's key. */
int talos_cert_link_sign(const uint8_t lineage[TALOS_LINEAGE_BYTES], struct talos_cert_link *l,
                         const uint8_t seed[TALOS_ED25519_SEED_BYTES]);

/* The LINEAGE migration record (core/mig.h): what the source hands the
 * target about the lineage key, inside the attested channel:
 * u64 epoch ‖ seed[32] ‖ pub0[32] ‖ exec_head[32] ‖ u64 head_version ‖
 * head[32] ‖ u32 n_links ‖ n_links × link. `seed` is the private key of
 * `epoch`: callers wipe every copy. */
struct talos_lineage_rec {
    uint64_t epoch;
    uint8_t seed[TALOS_ED25519_SEED_BYTES];
    uint8_t pub0[TALOS_ED25519_PUB_BYTES];
    uint8_t exec_head[TALOS_HASH];
    uint64_t head_version;         /* the source's checkpoint at its freeze */
    uint8_t head[TALOS_HASH];
    uint32_t n_links;              /* == epoch */
    struct talos_cert_link *links; /* malloc'd with one spare slot */
};
void talos_lineage_rec_encode(const struct talos_lineage_rec *l, struct talos_wr *w);
/* TALOS_ERR_MALFORMED (also n_links != epoch or > TALOS_CERT_MAX_LINKS),
 * TALOS_ERR_NOMEM. On success l->links holds n_links + 1 slots. */
int talos_lineage_rec_decode(const uint8_t *p, size_t n, struct talos_lineage_rec *l);
/* Wipe (the seed) and free. */
void talos_lineage_rec_clear(struct talos_lineage_rec *l);

/* Evidence verification is the caller's (core names no backend): fill
 * *claims from ev and return TALOS_OK, or the evidence's refusal. */
typedef int (*talos_cert_evidence_fn)(void *ctx, const uint8_t *ev, size_t len,
                                      struct talos_claims *claims);

/* One certificate on its own: the signature (TALOS_ERR_CERT), the rotation
 * links from pub0 to pub (TALOS_ERR_CERT_LINK), head == chain(prev_head,
 * version, root) (TALOS_ERR_CERT), and, when ev_fn is not NULL, the key's
 * evidence (its own error), bound to the key (TALOS_ERR_REPORT_DATA) and
 * naming the cert's identity (TALOS_ERR_MEASUREMENT; TALOS_ERR_CFG_DIGEST for
 * the CFG digest). A reason goes to why. */
int talos_cert_check(const struct talos_cert *c, talos_cert_evidence_fn ev_fn, void *ctx,
                     char *why, size_t cap);

/* A sequence of certificates, each already checked, oldest first: one
 * lineage (TALOS_ERR_CERT_LINEAGE), one key per epoch (TALOS_ERR_CERT_FORK),
 * epochs and versions never go back (TALOS_ERR_CERT_ROLLBACK), one state per
 * version and one chain head per checkpoint (TALOS_ERR_CERT_FORK), nobody
 * serves on after the next key took over (TALOS_ERR_CERT_FORK), one identity
 * (TALOS_ERR_MEASUREMENT, TALOS_ERR_CFG_DIGEST; `measurement` non-NULL:
 * that one). *bad is the
 * index of the certificate that breaks the chain. */
int talos_cert_chain_check(const struct talos_cert *const *certs, size_t n,
                           const uint8_t *measurement, size_t *bad, char *why, size_t cap);

#endif
