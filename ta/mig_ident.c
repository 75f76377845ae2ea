/* The identity of this TA's next migration, made ahead (RA-TLS style,
 * D44): a fresh TLS key, the platform's evidence over it (role, key,
 * configuration: core/migcheck.h) and the claims that evidence makes
 * about us, checked once. A migration then only proves possession of the
 * key in its handshake and binds session and lineage with a MAC: the
 * platform's quote and the check of our own evidence leave the critical
 * path. A spare serves one channel and is never used again; it never
 * leaves the TA, so it is no different from a key made on demand.
 *
 * Spares are made on the TA's threads that may ask the platform (the host
 * serves platform requests only while it waits for this TA): at start-up,
 * and by a source whose migration failed, before it answers its host. A
 * migration that finds no spare of its role makes one on the spot (the
 * slow path, as before D44). Trusted code. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/migcheck.h"
#include "ta/ident.h"
#include "ta/mig.h"
#include "ta/rt.h"
#include "tee/tee.h"

static struct {
    pthread_mutex_t lock;
    int have[2];              /* [0] source, [1] target */
    struct mig_ident slot[2];
} spare = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int slot_of(uint8_t role) { return role == MIG_ROLE_T; }

void mig_ident_free(struct mig_ident *id)
{
    talos_chan_key_free(&id->key);
    memset(id, 0, sizeof(*id));
}

int mig_ident_make(uint8_t role, struct mig_ident *id, char *why, size_t cap)
{
    uint8_t rd[TALOS_REPORT_DATA_BYTES];
    int rc = TALOS_OK;

    memset(id, 0, sizeof(*id));
    if ((rc = talos_chan_key_new(&id->key)) != TALOS_OK) {
        snprintf(why, cap, "cannot make a TLS key");
        return rc;
    }
    const struct talos_mig_binding b = {.role = role, .pub = id->key.pub,
                                        .config = talos_rt.config_digest};
    talos_mig_binding_report_data(&b, rd);
    id->ev_len = sizeof(id->ev);
    if ((rc = talos_tee_enclave.evidence(rd, id->ev, &id->ev_len)) != TALOS_OK) {
        snprintf(why, cap, "no evidence from the platform");
        goto fail;
    }
    /* Our own identity as the platform states it: the peer must match it. */
    if ((rc = talos_tee_enclave.verify(id->ev, id->ev_len, talos_rt.anchors, talos_rt.anchors_len,
                                       talos_rt.verify_flags, &id->own)) != TALOS_OK) {
        snprintf(why, cap, "own evidence does not verify: %s", talos_strerror(rc));
        goto fail;
    }
    id->role = role;
    return TALOS_OK;
fail:
    mig_ident_free(id);
    return rc;
}

int mig_ident_take(uint8_t role, struct mig_ident *id, char *why, size_t cap)
{
    int s = slot_of(role), have = 0;

    pthread_mutex_lock(&spare.lock);
    if ((have = spare.have[s])) {
        *id = spare.slot[s];
        memset(&spare.slot[s], 0, sizeof(spare.slot[s]));
        spare.have[s] = 0;
    }
    pthread_mutex_unlock(&spare.lock);
    if (have)
        return TALOS_OK;
    TLOG_DEBUG("%c: no identity made ahead: making one now", role);
    return mig_ident_make(role, id, why, cap);
}

void mig_ident_refill(uint8_t role)
{
    struct mig_ident id;
    char why[160];
    int s = slot_of(role), have = 0;

    pthread_mutex_lock(&spare.lock);
    have = spare.have[s];
    pthread_mutex_unlock(&spare.lock);
    if (have)
        return;
    if (mig_ident_make(role, &id, why, sizeof(why)) != TALOS_OK) {
        /* Not fatal: the next migration makes its own, or fails there. */
        TLOG_WARN("no identity made ahead for the %s role: %s",
                  role == MIG_ROLE_T ? "target" : "source", why);
        return;
    }
    pthread_mutex_lock(&spare.lock);
    if (!spare.have[s]) {
        spare.slot[s] = id;
        spare.have[s] = 1;
        memset(&id, 0, sizeof(id));
    }
    pthread_mutex_unlock(&spare.lock);
    mig_ident_free(&id);
}

void talos_rt_ident_start(int target)
{
    /* A target needs the target's identity for its import, then the
     * source's for the lineage's next move; a new lineage only the latter. */
    if (target)
        mig_ident_refill(MIG_ROLE_T);
    mig_ident_refill(MIG_ROLE_S);
}
