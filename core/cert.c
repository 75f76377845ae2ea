/* State certificates: encoding, signatures, and the checks a verifier makes
 * (docs/state-certs.md). Everything decoded here is hostile: the decoder
 * copies once into c, bounds every count before it allocates, and every
 * refusal is a specific code with a one-line reason.
 *
 * One job over 400 lines: the certificate's codec and the verifier's
 * checks over it (signature, key rotation links, chain head, rollback and
 * fork between two certificates) read the same fields and must agree. */
#include "core/cert.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/reason.h"
#include "core/sign.h"
#include "core/wire.h"
#include "talos/err.h"

#define CERT_TAG "talos-state-cert-v1"
#define LINK_TAG "talos-lineage-link-v1"
#define KEY_TAG "talos-lineage-key"

static void link_encode(const struct talos_cert_link *l, struct talos_wr *w)
{
    talos_wr_u64(w, l->epoch);
    talos_wr_raw(w, l->pub, TALOS_ED25519_PUB_BYTES);
    talos_wr_u64(w, l->version);
    talos_wr_raw(w, l->head, TALOS_HASH);
    talos_wr_raw(w, l->sig, TALOS_CERT_SIG_BYTES);
}

static void link_decode(struct talos_rd *r, struct talos_cert_link *l)
{
    l->epoch = talos_rd_u64(r);
    talos_rd_raw(r, l->pub, TALOS_ED25519_PUB_BYTES);
    l->version = talos_rd_u64(r);
    talos_rd_raw(r, l->head, TALOS_HASH);
    talos_rd_raw(r, l->sig, TALOS_CERT_SIG_BYTES);
}

void talos_cert_clear(struct talos_cert *c)
{
    free(c->links);
    free(c->evidence);
    memset(c, 0, sizeof(*c));
}

void talos_cert_encode_body(const struct talos_cert *c, struct talos_wr *w)
{
    talos_wr_u32(w, c->format);
    talos_wr_raw(w, c->lineage, sizeof(c->lineage));
    talos_wr_u64(w, c->epoch);
    talos_wr_raw(w, c->pub, TALOS_ED25519_PUB_BYTES);
    talos_wr_u64(w, c->version);
    talos_wr_raw(w, c->root, TALOS_HASH);
    talos_wr_u64(w, c->prev_version);
    talos_wr_raw(w, c->prev_head, TALOS_HASH);
    talos_wr_u64(w, c->head_version);
    talos_wr_raw(w, c->head, TALOS_HASH);
    talos_wr_raw(w, c->exec_head, TALOS_HASH);
    talos_wr_str(w, c->backend);
    talos_wr_raw(w, c->measurement, sizeof(c->measurement));
    talos_wr_raw(w, c->config_id, sizeof(c->config_id));
    talos_wr_raw(w, c->cfg_digest, sizeof(c->cfg_digest));
    talos_wr_raw(w, c->pub0, TALOS_ED25519_PUB_BYTES);
    talos_wr_u32(w, c->n_links);
    for (uint32_t i = 0; i < c->n_links; i++)
        link_encode(&c->links[i], w);
}

void talos_cert_encode(const struct talos_cert *c, struct talos_wr *w)
{
    talos_cert_encode_body(c, w);
    talos_wr_raw(w, c->sig, TALOS_CERT_SIG_BYTES);
    talos_wr_bytes(w, c->evidence, c->evidence_len);
}

int talos_cert_decode(const uint8_t *p, size_t n, struct talos_cert *c)
{
    struct talos_rd r;
    const uint8_t *ev = NULL;
    size_t ev_len = 0;
    int rc = TALOS_OK;

    memset(c, 0, sizeof(*c));
    if (n > TALOS_CERT_MAX_BYTES)
        return TALOS_ERR_TOO_LARGE;
    talos_rd_init(&r, p, n);
    c->format = talos_rd_u32(&r);
    talos_rd_raw(&r, c->lineage, sizeof(c->lineage));
    c->epoch = talos_rd_u64(&r);
    talos_rd_raw(&r, c->pub, TALOS_ED25519_PUB_BYTES);
    c->version = talos_rd_u64(&r);
    talos_rd_raw(&r, c->root, TALOS_HASH);
    c->prev_version = talos_rd_u64(&r);
    talos_rd_raw(&r, c->prev_head, TALOS_HASH);
    c->head_version = talos_rd_u64(&r);
    talos_rd_raw(&r, c->head, TALOS_HASH);
    talos_rd_raw(&r, c->exec_head, TALOS_HASH);
    talos_rd_str(&r, c->backend, sizeof(c->backend));
    talos_rd_raw(&r, c->measurement, sizeof(c->measurement));
    talos_rd_raw(&r, c->config_id, sizeof(c->config_id));
    talos_rd_raw(&r, c->cfg_digest, sizeof(c->cfg_digest));
    talos_rd_raw(&r, c->pub0, TALOS_ED25519_PUB_BYTES);
    c->n_links = talos_rd_u32(&r);
    if (r.err) /* a short input: stop before the count is believed */
        goto bad;
    if (c->format != TALOS_CERT_FORMAT || c->n_links != c->epoch ||
        c->n_links > TALOS_CERT_MAX_LINKS ||
        (uint64_t)c->n_links * TALOS_CERT_LINK_BYTES > talos_rd_left(&r))
        goto bad;
    if (c->n_links && !(c->links = calloc(c->n_links, sizeof(*c->links)))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < c->n_links; i++)
        link_decode(&r, &c->links[i]);
    talos_rd_raw(&r, c->sig, TALOS_CERT_SIG_BYTES);
    ev = talos_rd_bytes(&r, &ev_len, TALOS_EVIDENCE_MAX);
    if ((rc = talos_rd_finish(&r)) != TALOS_OK)
        goto out;
    /* A backend name is printed: it must be one printable word. */
    for (const char *s = c->backend; *s; s++)
        if (*s <= ' ' || *s > '~')
            goto bad;
    if (ev_len && !(c->evidence = malloc(ev_len))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    if (ev_len)
        memcpy(c->evidence, ev, ev_len);
    c->evidence_len = ev_len;
    return TALOS_OK;
bad:
    rc = r.err == TALOS_ERR_TOO_LARGE ? TALOS_ERR_TOO_LARGE : TALOS_ERR_MALFORMED;
out:
    talos_cert_clear(c);
    return rc;
}

void talos_lineage_rec_encode(const struct talos_lineage_rec *l, struct talos_wr *w)
{
    talos_wr_u64(w, l->epoch);
    talos_wr_raw(w, l->seed, sizeof(l->seed));
    talos_wr_raw(w, l->pub0, TALOS_ED25519_PUB_BYTES);
    talos_wr_raw(w, l->exec_head, TALOS_HASH);
    talos_wr_u64(w, l->head_version);
    talos_wr_raw(w, l->head, TALOS_HASH);
    talos_wr_u32(w, l->n_links);
    for (uint32_t i = 0; i < l->n_links; i++)
        link_encode(&l->links[i], w);
}

int talos_lineage_rec_decode(const uint8_t *p, size_t n, struct talos_lineage_rec *l)
{
    struct talos_rd r;
    int rc = TALOS_ERR_MALFORMED;

    memset(l, 0, sizeof(*l));
    talos_rd_init(&r, p, n);
    l->epoch = talos_rd_u64(&r);
    talos_rd_raw(&r, l->seed, sizeof(l->seed));
    talos_rd_raw(&r, l->pub0, TALOS_ED25519_PUB_BYTES);
    talos_rd_raw(&r, l->exec_head, TALOS_HASH);
    l->head_version = talos_rd_u64(&r);
    talos_rd_raw(&r, l->head, TALOS_HASH);
    l->n_links = talos_rd_u32(&r);
    if (r.err || l->n_links != l->epoch || l->n_links > TALOS_CERT_MAX_LINKS ||
        (uint64_t)l->n_links * TALOS_CERT_LINK_BYTES != talos_rd_left(&r))
        goto out;
    if (!(l->links = calloc((size_t)l->n_links + 1, sizeof(*l->links)))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < l->n_links; i++)
        link_decode(&r, &l->links[i]);
    rc = talos_rd_finish(&r);
out:
    if (rc != TALOS_OK)
        talos_lineage_rec_clear(l);
    return rc;
}

void talos_lineage_rec_clear(struct talos_lineage_rec *l)
{
    free(l->links);
    talos_wipe(l, sizeof(*l));
}

void talos_cert_link_message(const uint8_t lineage[TALOS_LINEAGE_BYTES],
                             const struct talos_cert_link *l, struct talos_wr *w)
{
    talos_wr_raw(w, LINK_TAG, sizeof(LINK_TAG) - 1);
    talos_wr_raw(w, lineage, TALOS_LINEAGE_BYTES);
    talos_wr_u64(w, l->epoch);
    talos_wr_raw(w, l->pub, TALOS_ED25519_PUB_BYTES);
    talos_wr_u64(w, l->version);
    talos_wr_raw(w, l->head, TALOS_HASH);
}

void talos_cert_key_report_data(const uint8_t lineage[TALOS_LINEAGE_BYTES], uint64_t epoch,
                                const uint8_t pub[TALOS_ED25519_PUB_BYTES],
                                uint8_t out[TALOS_REPORT_DATA_BYTES])
{
    uint8_t buf[sizeof(KEY_TAG) - 1 + TALOS_LINEAGE_BYTES + 8 + TALOS_ED25519_PUB_BYTES];
    uint8_t *p = buf;

    memcpy(p, KEY_TAG, sizeof(KEY_TAG) - 1), p += sizeof(KEY_TAG) - 1;
    memcpy(p, lineage, TALOS_LINEAGE_BYTES), p += TALOS_LINEAGE_BYTES;
    talos_be32_put(p, (uint32_t)(epoch >> 32)), talos_be32_put(p + 4, (uint32_t)epoch), p += 8;
    memcpy(p, pub, TALOS_ED25519_PUB_BYTES);
    memset(out, 0, TALOS_REPORT_DATA_BYTES);
    talos_sha256(buf, sizeof(buf), out);
}

/* The message a certificate's signature covers: tag ‖ body. */
static int signed_message(const struct talos_cert *c, struct talos_wr *w)
{
    talos_wr_init(w, 0);
    talos_wr_raw(w, CERT_TAG, sizeof(CERT_TAG) - 1);
    talos_cert_encode_body(c, w);
    return w->err;
}

int talos_cert_sign(struct talos_cert *c, const uint8_t seed[TALOS_ED25519_SEED_BYTES])
{
    struct talos_wr w;
    int rc = signed_message(c, &w);
    if (rc == TALOS_OK)
        rc = talos_ed25519_sign(seed, w.p, w.len, c->sig);
    talos_wr_free(&w);
    return rc;
}

int talos_cert_link_sign(const uint8_t lineage[TALOS_LINEAGE_BYTES], struct talos_cert_link *l,
                         const uint8_t seed[TALOS_ED25519_SEED_BYTES])
{
    struct talos_wr w;
    int rc = TALOS_OK;

    talos_wr_init(&w, 0);
    talos_cert_link_message(lineage, l, &w);
    rc = w.err ? w.err : talos_ed25519_sign(seed, w.p, w.len, l->sig);
    talos_wr_free(&w);
    return rc;
}

/* 0 when sig is pub's over msg; otherwise the error to report. */
static int verify_sig(const uint8_t pub[TALOS_ED25519_PUB_BYTES], const struct talos_wr *msg,
                      const uint8_t sig[TALOS_CERT_SIG_BYTES], int bad)
{
    int rc = msg->err ? msg->err : talos_ed25519_verify(pub, msg->p, msg->len, sig);
    return rc == 1 ? bad : rc;
}

static int check_links(const struct talos_cert *c, char *why, size_t cap)
{
    const uint8_t *key = c->pub0;
    uint64_t last = 0;

    for (uint32_t i = 0; i < c->n_links; i++) {
        const struct talos_cert_link *l = &c->links[i];
        struct talos_wr w;
        int rc = TALOS_OK;

        if (l->epoch != (uint64_t)i + 1)
            return talos_reason(TALOS_ERR_CERT_LINK, why, cap, "rotation link %u names epoch %llu",
                                i, (unsigned long long)l->epoch);
        if (l->version < last || l->version > c->version)
            return talos_reason(TALOS_ERR_CERT_ROLLBACK, why, cap,
                                "rotation link to epoch %llu names version %llu, out of order",
                                (unsigned long long)l->epoch, (unsigned long long)l->version);
        talos_wr_init(&w, 0);
        talos_cert_link_message(c->lineage, l, &w);
        rc = verify_sig(key, &w, l->sig, TALOS_ERR_CERT_LINK);
        talos_wr_free(&w);
        if (rc != TALOS_OK)
            return talos_reason(rc, why, cap,
                                "the key of epoch %llu is not certified by the key of epoch %u",
                                (unsigned long long)l->epoch, i);
        key = l->pub;
        last = l->version;
    }
    if (!talos_ct_eq(key, c->pub, TALOS_ED25519_PUB_BYTES))
        return talos_reason(TALOS_ERR_CERT_LINK, why, cap,
                            "the signing key is not the one the rotation links lead to");
    return TALOS_OK;
}

int talos_cert_check(const struct talos_cert *c, talos_cert_evidence_fn ev_fn, void *ctx,
                     char *why, size_t cap)
{
    uint8_t head[TALOS_HASH], rd[TALOS_REPORT_DATA_BYTES];
    struct talos_claims cl;
    struct talos_wr w;
    int rc = TALOS_OK;

    if (c->format != TALOS_CERT_FORMAT || c->n_links != c->epoch)
        return talos_reason(TALOS_ERR_MALFORMED, why, cap, "not a format %d certificate",
                            TALOS_CERT_FORMAT);
    rc = signed_message(c, &w);
    if (rc == TALOS_OK)
        rc = verify_sig(c->pub, &w, c->sig, TALOS_ERR_CERT);
    talos_wr_free(&w);
    if (rc != TALOS_OK)
        return talos_reason(rc, why, cap, "signature does not verify under the certificate's key");
    if ((rc = check_links(c, why, cap)) != TALOS_OK)
        return rc;
    if (c->head_version != c->version || c->prev_version > c->version)
        return talos_reason(TALOS_ERR_CERT, why, cap,
                            "chain head is not the checkpoint of this version");
    talos_chain_next(c->prev_head, c->version, c->root, head);
    if (!talos_ct_eq(head, c->head, TALOS_HASH))
        return talos_reason(TALOS_ERR_CERT, why, cap,
                            "chain head does not commit to the state root");
    /* Alone, a certificate must already agree with its own rotation links
     * (the checkpoint of its epoch's migration): a genuine TA never signs
     * one that does not, so it is a bad certificate, not a fork. */
    {
        const struct talos_cert *one[1] = {c};
        char inner[200] = "";
        size_t bad = 0;
        if ((rc = talos_cert_chain_check(one, 1, NULL, &bad, inner, sizeof(inner))) != TALOS_OK)
            return talos_reason(rc == TALOS_ERR_CERT_FORK ? TALOS_ERR_CERT : rc, why, cap,
                                "the certificate contradicts its own rotation links (%s)", inner);
    }
    if (!ev_fn)
        return TALOS_OK;
    memset(&cl, 0, sizeof(cl));
    if ((rc = ev_fn(ctx, c->evidence, c->evidence_len, &cl)) != TALOS_OK)
        return talos_reason(rc, why, cap, "evidence of the key of epoch %llu refused: %s",
                            (unsigned long long)c->epoch, talos_strerror(rc));
    talos_cert_key_report_data(c->lineage, c->epoch, c->pub, rd);
    if (!talos_ct_eq(rd, cl.report_data, sizeof(rd)))
        return talos_reason(TALOS_ERR_REPORT_DATA, why, cap,
                            "evidence does not bind the key of epoch %llu of this lineage",
                            (unsigned long long)c->epoch);
    cl.backend[sizeof(cl.backend) - 1] = '\0';
    if (strcmp(cl.backend, c->backend) != 0 ||
        !talos_ct_eq(cl.measurement, c->measurement, sizeof(cl.measurement)) ||
        !talos_ct_eq(cl.config_id, c->config_id, sizeof(cl.config_id)))
        return talos_reason(TALOS_ERR_MEASUREMENT, why, cap,
                            "the key's evidence names another identity than the certificate");
    if (!talos_ct_eq(cl.cfg_digest, c->cfg_digest, sizeof(cl.cfg_digest)))
        return talos_reason(TALOS_ERR_CFG_DIGEST, why, cap,
                            "the key's evidence names another CFG digest than the certificate");
    return TALOS_OK;
}

/* One checkpoint a verifier learns of: within an epoch, a version has one
 * chain head (a state-cert advances the chain only when the version moved;
 * the checkpoint of a migration opens the next epoch). */
struct point {
    uint64_t epoch, version;
    const uint8_t *head;
    size_t from; /* index of the certificate that told us */
};

static int add_point(struct point *pts, size_t *n, uint64_t epoch, uint64_t version,
                     const uint8_t *head, size_t from, size_t *bad, char *why, size_t cap)
{
    for (size_t i = 0; i < *n; i++)
        if (pts[i].epoch == epoch && pts[i].version == version) {
            if (talos_ct_eq(pts[i].head, head, TALOS_HASH))
                return TALOS_OK;
            *bad = from > pts[i].from ? from : pts[i].from;
            return talos_reason(TALOS_ERR_CERT_FORK, why, cap,
                                "fork: two chain heads for version %llu in epoch %llu",
                                (unsigned long long)version, (unsigned long long)epoch);
        }
    pts[*n].epoch = epoch;
    pts[*n].version = version;
    pts[*n].head = head;
    pts[*n].from = from;
    (*n)++;
    return TALOS_OK;
}

static int same_link(const struct talos_cert_link *a, const struct talos_cert_link *b)
{
    return a->epoch == b->epoch && a->version == b->version &&
           talos_ct_eq(a->pub, b->pub, TALOS_ED25519_PUB_BYTES) &&
           talos_ct_eq(a->head, b->head, TALOS_HASH);
}

int talos_cert_chain_check(const struct talos_cert *const *certs, size_t n,
                           const uint8_t *measurement, size_t *bad, char *why, size_t cap)
{
    const struct talos_cert *ref = NULL; /* the certificate with the most links so far */
    struct point *pts = NULL;
    size_t np = 0;
    int rc = TALOS_OK;

    *bad = 0;
    if (n == 0)
        return talos_reason(TALOS_ERR_INVALID_ARG, why, cap, "no certificate");
    const struct talos_cert *first = certs[0];
    const uint8_t *want = measurement ? measurement : first->measurement;
    for (size_t i = 0; i < n; i++) {
        const struct talos_cert *c = certs[i], *p = i ? certs[i - 1] : NULL;
        *bad = i;
        if (c->n_links != c->epoch || (c->n_links && !c->links))
            return talos_reason(TALOS_ERR_MALFORMED, why, cap, "not a decoded certificate");
        if (!talos_ct_eq(c->lineage, first->lineage, sizeof(c->lineage)))
            return talos_reason(TALOS_ERR_CERT_LINEAGE, why, cap, "certificate of another lineage");
        if (!talos_ct_eq(c->measurement, want, TALOS_MEASUREMENT_BYTES))
            return talos_reason(TALOS_ERR_MEASUREMENT, why, cap,
                                "the TA runs another image (measurement)");
        if (!talos_ct_eq(c->config_id, first->config_id, TALOS_CONFIG_ID_BYTES) ||
            strcmp(c->backend, first->backend))
            return talos_reason(TALOS_ERR_MEASUREMENT, why, cap,
                                "the TA runs with another launch config or backend");
        if (!talos_ct_eq(c->cfg_digest, first->cfg_digest, sizeof(c->cfg_digest)))
            return talos_reason(TALOS_ERR_CFG_DIGEST, why, cap,
                                "the TA runs an image of another CFG");
        if (!talos_ct_eq(c->pub0, first->pub0, TALOS_ED25519_PUB_BYTES))
            return talos_reason(TALOS_ERR_CERT_FORK, why, cap, "fork: two keys for epoch 0");
        if (ref) {
            uint32_t m = c->n_links < ref->n_links ? c->n_links : ref->n_links;
            for (uint32_t k = 0; k < m; k++)
                if (!same_link(&c->links[k], &ref->links[k]))
                    return talos_reason(TALOS_ERR_CERT_FORK, why, cap,
                                        "fork: two keys for epoch %u", k + 1);
        }
        if (!ref || c->n_links > ref->n_links)
            ref = c;
        if (p && c->epoch < p->epoch)
            return talos_reason(TALOS_ERR_CERT_ROLLBACK, why, cap,
                                "epoch goes back (%llu after %llu): certificates out of order",
                                (unsigned long long)c->epoch, (unsigned long long)p->epoch);
        if (p && c->version < p->version)
            return talos_reason(TALOS_ERR_CERT_ROLLBACK, why, cap,
                                "version goes back (%llu after %llu)",
                                (unsigned long long)c->version, (unsigned long long)p->version);
        if (p && c->version == p->version && !talos_ct_eq(c->root, p->root, TALOS_HASH))
            return talos_reason(TALOS_ERR_CERT_FORK, why, cap,
                                "fork: two different states for version %llu",
                                (unsigned long long)c->version);
    }
    /* Nobody serves on after its successor key took over: a certificate of
     * epoch e past the version at which epoch e+1 began is a second instance. */
    for (size_t i = 0; i < n; i++)
        for (uint32_t k = (uint32_t)certs[i]->epoch; k < ref->n_links; k++)
            if (certs[i]->version > ref->links[k].version) {
                *bad = i;
                return talos_reason(
                    TALOS_ERR_CERT_FORK, why, cap,
                    "fork: epoch %llu served version %llu after epoch %llu began at %llu",
                    (unsigned long long)certs[i]->epoch, (unsigned long long)certs[i]->version,
                    (unsigned long long)ref->links[k].epoch,
                    (unsigned long long)ref->links[k].version);
            }
    /* Chain heads link: every checkpoint named twice names one head. */
    if (!(pts = calloc(3 * n + ref->n_links + 1, sizeof(*pts))))
        return talos_reason(TALOS_ERR_NOMEM, why, cap, "out of memory");
    for (uint32_t k = 0; k < ref->n_links && rc == TALOS_OK; k++)
        rc = add_point(pts, &np, ref->links[k].epoch, ref->links[k].version, ref->links[k].head, 0,
                       bad, why, cap);
    for (size_t i = 0; i < n && rc == TALOS_OK; i++) {
        const struct talos_cert *c = certs[i];
        uint64_t pe = c->epoch;
        rc = add_point(pts, &np, c->epoch, c->version, c->head, i, bad, why, cap);
        /* The checkpoint before: in the previous epoch when this one is the
         * migration's own (the source's head at its freeze). */
        if (c->epoch > 0 && c->version == c->links[c->epoch - 1].version &&
            talos_ct_eq(c->head, c->links[c->epoch - 1].head, TALOS_HASH))
            pe = c->epoch - 1;
        if (rc == TALOS_OK && !(pe == c->epoch && c->prev_version == c->version))
            rc = add_point(pts, &np, pe, c->prev_version, c->prev_head, i, bad, why, cap);
    }
    free(pts);
    return rc;
}
