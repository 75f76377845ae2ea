/* State certificates (core/cert.c): encode/decode, one certificate's
 * checks, and the chain checks, each refusal with its exact code. A small
 * in-test lineage plays the TA runtime (ta/cert.c): keys per epoch,
 * rotation links, checkpoints; evidence comes from a real sim platform.
 *
 * One file over 400 lines: the cases of one verifier, each a refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cert.h"
#include "core/crypto.h"
#include "core/sign.h"
#include "core/wire.h"
#include "tee/tee.h"
#include "tests/tmpdir.h"

#define MAXE 8

static const uint8_t meas[TALOS_MEASUREMENT_BYTES] = {0x41, 0x42},
                     cfg_id[TALOS_CONFIG_ID_BYTES] = {0x51}, cfgd[TALOS_CFG_DIGEST_BYTES] = {0x61};

struct fixture {
    char base[64], ca[96], st[96];
    const struct talos_tee_host_ops *ops;
    struct talos_platform *p;
    const uint8_t *pem;
    size_t pem_len;
};

static struct fixture *F;

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct talos_platform_config cfg = {0};

    assert_non_null(f);
    assert_non_null(test_tmpdir_make(f->base, sizeof(f->base), "cert"));
    snprintf(f->ca, sizeof(f->ca), "%s/ca", f->base);
    snprintf(f->st, sizeof(f->st), "%s/node", f->base);
    assert_int_equal(mkdir(f->st, 0700), 0);
    f->ops = talos_tee_host_find(talos_backend_default());
    assert_non_null(f->ops);
    cfg.state_dir = f->st;
    /* The default backend's local CA: one of this test's own. */
    struct talos_backend_option ca_opt = {"ca", f->ca};
    cfg.options = &ca_opt;
    cfg.n_options = 1;
    assert_int_equal(f->ops->open(&cfg, &f->p), TALOS_OK);
    assert_int_equal(f->ops->anchors(f->p, &f->pem, &f->pem_len), TALOS_OK);
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    f->ops->close(f->p);
    test_tmpdir_remove(f->base);
    free(f);
    return 0;
}

static int ev_fn(void *ctx, const uint8_t *ev, size_t len, struct talos_claims *cl)
{
    unsigned flags = ctx ? *(unsigned *)ctx : TALOS_VERIFY_ALLOW_SIM;
    return talos_verify_evidence(ev, len, F->pem, F->pem_len, flags, cl);
}

/* What the TA runtime keeps for a lineage. */
struct lin {
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    uint64_t epoch;
    uint8_t seed[MAXE][TALOS_ED25519_SEED_BYTES], pub[MAXE][TALOS_ED25519_PUB_BYTES];
    struct talos_cert_link links[MAXE];
    uint64_t version, head_version, prev_version;
    uint8_t head[TALOS_HASH], prev_head[TALOS_HASH];
    int rooted;
};

/* The state at a version: a function of the version (and a salt, to make
 * a second, different state for one version). */
static void root_of(uint64_t version, uint8_t salt, uint8_t out[TALOS_HASH])
{
    uint8_t b[9] = {salt};
    talos_be32_put(b + 1, (uint32_t)(version >> 32));
    talos_be32_put(b + 5, (uint32_t)version);
    talos_sha256(b, sizeof(b), out);
}

static void lin_init(struct lin *l, uint8_t id)
{
    memset(l, 0, sizeof(*l));
    memset(l->lineage, id, sizeof(l->lineage));
    talos_chain_genesis(l->lineage, l->head);
    assert_int_equal(talos_ed25519_keygen(l->seed[0], l->pub[0]), TALOS_OK);
}

static void checkpoint(struct lin *l, uint8_t salt)
{
    uint8_t root[TALOS_HASH];
    if (l->version == l->head_version && l->rooted)
        return;
    root_of(l->version, salt, root);
    l->prev_version = l->head_version;
    memcpy(l->prev_head, l->head, TALOS_HASH);
    talos_chain_next(l->head, l->version, root, l->head);
    l->head_version = l->version;
    l->rooted = 1;
}

/* A migration: the chain advances, the new instance makes epoch + 1. */
static void lin_migrate(struct lin *l)
{
    uint8_t root[TALOS_HASH];
    struct talos_cert_link *k = &l->links[l->epoch];

    root_of(l->version, 0, root);
    l->prev_version = l->head_version;
    memcpy(l->prev_head, l->head, TALOS_HASH);
    talos_chain_next(l->head, l->version, root, l->head);
    l->head_version = l->version;
    l->rooted = 1;
    assert_int_equal(talos_ed25519_keygen(l->seed[l->epoch + 1], l->pub[l->epoch + 1]), TALOS_OK);
    k->epoch = l->epoch + 1;
    memcpy(k->pub, l->pub[l->epoch + 1], TALOS_ED25519_PUB_BYTES);
    k->version = l->version;
    memcpy(k->head, l->head, TALOS_HASH);
    assert_int_equal(talos_cert_link_sign(l->lineage, k, l->seed[l->epoch]), TALOS_OK);
    l->epoch++;
}

/* A signed certificate at the lineage's current version. */
static void lin_cert(struct lin *l, uint8_t salt, struct talos_cert *c)
{
    uint8_t rd[TALOS_REPORT_DATA_BYTES], ev[TALOS_EVIDENCE_MAX];
    size_t ev_len = sizeof(ev);

    checkpoint(l, salt);
    memset(c, 0, sizeof(*c));
    c->format = TALOS_CERT_FORMAT;
    memcpy(c->lineage, l->lineage, TALOS_LINEAGE_BYTES);
    c->epoch = l->epoch;
    memcpy(c->pub, l->pub[l->epoch], TALOS_ED25519_PUB_BYTES);
    c->version = l->version;
    root_of(l->version, salt, c->root);
    c->prev_version = l->prev_version;
    memcpy(c->prev_head, l->prev_head, TALOS_HASH);
    c->head_version = l->head_version;
    memcpy(c->head, l->head, TALOS_HASH);
    if (salt) /* a second state at this version: its own chain head */
        talos_chain_next(l->prev_head, l->version, c->root, c->head);
    memset(c->exec_head, 0xee, TALOS_HASH);
    strcpy(c->backend, talos_backend_default());
    memcpy(c->measurement, meas, TALOS_MEASUREMENT_BYTES);
    memcpy(c->config_id, cfg_id, TALOS_CONFIG_ID_BYTES);
    memcpy(c->cfg_digest, cfgd, TALOS_CFG_DIGEST_BYTES);
    memcpy(c->pub0, l->pub[0], TALOS_ED25519_PUB_BYTES);
    c->n_links = (uint32_t)l->epoch;
    if (c->n_links) {
        c->links = calloc(c->n_links, sizeof(*c->links));
        assert_non_null(c->links);
        memcpy(c->links, l->links, c->n_links * sizeof(*c->links));
    }
    talos_cert_key_report_data(l->lineage, c->epoch, c->pub, rd);
    assert_int_equal(F->ops->quote(F->p, meas, cfg_id, cfgd, rd, ev, &ev_len), TALOS_OK);
    c->evidence = malloc(ev_len);
    assert_non_null(c->evidence);
    memcpy(c->evidence, ev, ev_len);
    c->evidence_len = ev_len;
    assert_int_equal(talos_cert_sign(c, l->seed[l->epoch]), TALOS_OK);
}

static int check(const struct talos_cert *c)
{
    char why[300] = "";
    return talos_cert_check(c, ev_fn, NULL, why, sizeof(why));
}

static int chain(size_t *bad, int n, ...)
{
    const struct talos_cert *v[16];
    char why[300] = "";
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i] = va_arg(ap, const struct talos_cert *);
    va_end(ap);
    for (int i = 0; i < n; i++)
        assert_int_equal(check(v[i]), TALOS_OK);
    int rc = talos_cert_chain_check(v, (size_t)n, NULL, bad, why, sizeof(why));
    if (rc != TALOS_OK)
        print_message("    refused: %s\n", why);
    return rc;
}

/* Re-sign c after a test changed a field (the signer is then genuine). */
static void resign(struct lin *l, struct talos_cert *c)
{
    assert_int_equal(talos_cert_sign(c, l->seed[c->epoch]), TALOS_OK);
}

static void test_roundtrip(void **state)
{
    struct lin l;
    struct talos_cert c, d;
    struct talos_wr w, w2;

    lin_init(&l, 1);
    l.version = 3;
    lin_migrate(&l);
    l.version = 5;
    lin_cert(&l, 0, &c);
    talos_wr_init(&w, 0);
    talos_cert_encode(&c, &w);
    assert_int_equal(w.err, TALOS_OK);
    assert_int_equal(talos_cert_decode(w.p, w.len, &d), TALOS_OK);
    talos_wr_init(&w2, 0);
    talos_cert_encode(&d, &w2);
    assert_int_equal(w2.len, w.len);
    assert_memory_equal(w2.p, w.p, w.len);
    assert_int_equal(check(&d), TALOS_OK);
    /* Every truncation is refused, none crashes. */
    for (size_t n = 0; n < w.len; n++) {
        struct talos_cert e;
        int rc = talos_cert_decode(w.p, n, &e);
        assert_true(rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_TOO_LARGE);
    }
    /* A count of links that is not the epoch, or absurd. */
    uint8_t *p = malloc(w.len);
    memcpy(p, w.p, w.len);
    size_t at = 4 + 16 + 8 + 32 + 8 + 32 + 8 + 32 + 8 + 32 + 32 + 4 + 3 + 32 + 32 + 32 + 32;
    assert_int_equal(talos_be32_get(p + at), 1);
    talos_be32_put(p + at, 0xffffffffu);
    talos_cert_clear(&d);
    assert_int_equal(talos_cert_decode(p, w.len, &d), TALOS_ERR_MALFORMED);
    free(p);
    talos_wr_free(&w);
    talos_wr_free(&w2);
    talos_cert_clear(&c);
    talos_cert_clear(&d);
}

static void test_forged_signature(void **state)
{
    struct lin l, other;
    struct talos_cert c;

    lin_init(&l, 2);
    lin_init(&other, 2);
    l.version = 4;
    lin_cert(&l, 0, &c);
    assert_int_equal(check(&c), TALOS_OK);
    c.sig[10] ^= 1;
    assert_int_equal(check(&c), TALOS_ERR_CERT);
    c.sig[10] ^= 1;
    c.version++; /* any body field */
    assert_int_equal(check(&c), TALOS_ERR_CERT);
    c.version--;
    /* Signed by a key that is not the lineage's. */
    assert_int_equal(talos_cert_sign(&c, other.seed[0]), TALOS_OK);
    assert_int_equal(check(&c), TALOS_ERR_CERT);
    /* A state root the chain head does not commit to, signed by the key. */
    resign(&l, &c);
    assert_int_equal(check(&c), TALOS_OK);
    c.root[0] ^= 1;
    resign(&l, &c);
    assert_int_equal(check(&c), TALOS_ERR_CERT);
    talos_cert_clear(&c);
}

static void test_broken_link(void **state)
{
    struct lin l, other;
    struct talos_cert c;

    lin_init(&l, 3);
    lin_init(&other, 3);
    l.version = 2;
    lin_migrate(&l);
    l.version = 3;
    lin_migrate(&l);
    lin_cert(&l, 0, &c);
    assert_int_equal(check(&c), TALOS_OK);
    /* The links are in the signed body; the key signs whatever it is
     * given, so each case is re-signed by the certificate's own key. */
    c.links[0].sig[5] ^= 1;
    assert_int_equal(check(&c), TALOS_ERR_CERT); /* not re-signed */
    resign(&l, &c);
    assert_int_equal(check(&c), TALOS_ERR_CERT_LINK);
    c.links[0].sig[5] ^= 1;
    /* Epoch 2's key certified by a stranger, not by epoch 1's key. */
    assert_int_equal(talos_cert_link_sign(l.lineage, &c.links[1], other.seed[0]), TALOS_OK);
    resign(&l, &c);
    assert_int_equal(check(&c), TALOS_ERR_CERT_LINK);
    memcpy(&c.links[1], &l.links[1], sizeof(c.links[1]));
    /* A key no link leads to, signing its own certificate. */
    memcpy(c.pub, other.pub[0], TALOS_ED25519_PUB_BYTES);
    assert_int_equal(talos_cert_sign(&c, other.seed[0]), TALOS_OK);
    assert_int_equal(check(&c), TALOS_ERR_CERT_LINK);
    talos_cert_clear(&c);
}

static void test_evidence_binding(void **state)
{
    struct lin l;
    struct talos_cert c, d;
    unsigned strict = 0;
    char why[300];

    lin_init(&l, 4);
    l.version = 1;
    lin_cert(&l, 0, &c);
    lin_migrate(&l);
    lin_cert(&l, 0, &d);
    /* Sim evidence refused by a verifier that does not accept sim. */
    assert_int_equal(talos_cert_check(&c, ev_fn, &strict, why, sizeof(why)), TALOS_ERR_EVIDENCE_SIM);
    /* The evidence of another epoch's key. */
    uint8_t *ev = c.evidence;
    size_t ev_len = c.evidence_len;
    c.evidence = d.evidence;
    c.evidence_len = d.evidence_len;
    assert_int_equal(check(&c), TALOS_ERR_REPORT_DATA);
    c.evidence = ev;
    c.evidence_len = ev_len;
    /* A certificate naming another image than its key's evidence. */
    c.measurement[0] ^= 1;
    assert_int_equal(talos_cert_sign(&c, l.seed[0]), TALOS_OK);
    assert_int_equal(check(&c), TALOS_ERR_MEASUREMENT);
    c.measurement[0] ^= 1;
    /* ... or another CFG digest. */
    c.cfg_digest[0] ^= 1;
    assert_int_equal(talos_cert_sign(&c, l.seed[0]), TALOS_OK);
    assert_int_equal(check(&c), TALOS_ERR_CFG_DIGEST);
    talos_cert_clear(&c);
    talos_cert_clear(&d);
}

static void test_chain_ok(void **state)
{
    struct lin l;
    struct talos_cert c1, c1b, c2a, c2, c3;
    size_t bad = 99;

    lin_init(&l, 5);
    l.version = 3;
    lin_cert(&l, 0, &c1);
    lin_cert(&l, 0, &c1b); /* same version: same checkpoint */
    assert_memory_equal(c1.head, c1b.head, TALOS_HASH);
    lin_migrate(&l);
    lin_cert(&l, 0, &c2a); /* right after the migration, same version */
    l.version = 5;
    lin_cert(&l, 0, &c2);
    lin_migrate(&l);
    l.version = 6;
    lin_cert(&l, 0, &c3);
    assert_int_equal(chain(&bad, 5, &c1, &c1b, &c2a, &c2, &c3), TALOS_OK);
    assert_int_equal(chain(&bad, 3, &c1, &c2, &c3), TALOS_OK);
    assert_int_equal(chain(&bad, 2, &c1, &c3), TALOS_OK);
    assert_int_equal(chain(&bad, 1, &c3), TALOS_OK);
    /* Migrations without a certificate between them. */
    lin_migrate(&l);
    lin_migrate(&l);
    struct talos_cert c4;
    lin_cert(&l, 0, &c4);
    assert_int_equal(chain(&bad, 3, &c1, &c3, &c4), TALOS_OK);
    talos_cert_clear(&c1);
    talos_cert_clear(&c1b);
    talos_cert_clear(&c2a);
    talos_cert_clear(&c2);
    talos_cert_clear(&c3);
    talos_cert_clear(&c4);
}

static void test_version_goes_back(void **state)
{
    struct lin l;
    struct talos_cert c1, c2, c3;
    size_t bad = 99;

    lin_init(&l, 6);
    l.version = 2;
    lin_cert(&l, 0, &c1);
    l.version = 7;
    lin_cert(&l, 0, &c2);
    lin_migrate(&l);
    l.version = 9;
    lin_cert(&l, 0, &c3);
    assert_int_equal(chain(&bad, 2, &c2, &c1), TALOS_ERR_CERT_ROLLBACK);
    assert_int_equal(bad, 1);
    assert_int_equal(chain(&bad, 3, &c1, &c3, &c2), TALOS_ERR_CERT_ROLLBACK);
    assert_int_equal(bad, 2);
    talos_cert_clear(&c1);
    talos_cert_clear(&c2);
    talos_cert_clear(&c3);
}

static void test_fork(void **state)
{
    struct lin l, twin;
    struct talos_cert c1, x, y, old, c2;
    size_t bad = 99;

    lin_init(&l, 7);
    l.version = 3;
    lin_cert(&l, 0, &c1);
    /* Two different states certified for one version, by the genuine key. */
    l.version = 4;
    lin_cert(&l, 0, &x);
    lin_cert(&l, 1, &y);
    assert_int_equal(chain(&bad, 3, &c1, &x, &y), TALOS_ERR_CERT_FORK);
    assert_int_equal(bad, 2);
    /* Two keys for epoch 1: one lineage migrated twice from one state. */
    twin = l;
    lin_migrate(&l);
    lin_migrate(&twin);
    l.version = twin.version = 6;
    talos_cert_clear(&x);
    talos_cert_clear(&y);
    lin_cert(&l, 0, &x);
    lin_cert(&twin, 0, &y);
    assert_int_equal(chain(&bad, 2, &x, &y), TALOS_ERR_CERT_FORK);
    /* The old instance serving on after its successor took over at 4. */
    struct lin stale = l;
    stale.epoch = 0;
    stale.version = 8;
    lin_cert(&stale, 0, &old);
    l.version = 9;
    lin_cert(&l, 0, &c2);
    assert_int_equal(chain(&bad, 3, &c1, &old, &c2), TALOS_ERR_CERT_FORK);
    assert_int_equal(bad, 1);
    talos_cert_clear(&c1);
    talos_cert_clear(&x);
    talos_cert_clear(&y);
    talos_cert_clear(&old);
    talos_cert_clear(&c2);
}

static void test_heads_link(void **state)
{
    struct lin l;
    struct talos_cert c1, c2;
    size_t bad = 99;

    lin_init(&l, 10);
    l.version = 3;
    lin_cert(&l, 0, &c1);
    l.version = 5;
    lin_cert(&l, 0, &c2);
    assert_int_equal(chain(&bad, 2, &c1, &c2), TALOS_OK);
    /* c2 chained from another checkpoint at version 3 than c1's: a
     * self-consistent certificate (head = chain(prev, 5, root)) whose
     * history is not c1's. */
    c2.prev_head[0] ^= 1;
    talos_chain_next(c2.prev_head, c2.version, c2.root, c2.head);
    resign(&l, &c2);
    assert_int_equal(chain(&bad, 2, &c1, &c2), TALOS_ERR_CERT_FORK);
    assert_int_equal(bad, 1);
    talos_cert_clear(&c1);
    talos_cert_clear(&c2);
}

static void test_another_lineage(void **state)
{
    struct lin a, b;
    struct talos_cert ca, cb;
    size_t bad = 99;

    lin_init(&a, 8);
    lin_init(&b, 9);
    a.version = 1;
    b.version = 2;
    lin_cert(&a, 0, &ca);
    lin_cert(&b, 0, &cb);
    assert_int_equal(chain(&bad, 2, &ca, &cb), TALOS_ERR_CERT_LINEAGE);
    assert_int_equal(bad, 1);
    /* Another identity (--measurement): the image is checked too. */
    const struct talos_cert *v[1] = {&ca};
    char why[200];
    uint8_t other[TALOS_MEASUREMENT_BYTES] = {9};
    assert_int_equal(talos_cert_chain_check(v, 1, other, &bad, why, sizeof(why)), TALOS_ERR_MEASUREMENT);
    assert_int_equal(talos_cert_chain_check(v, 1, meas, &bad, why, sizeof(why)), TALOS_OK);
    talos_cert_clear(&ca);
    talos_cert_clear(&cb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_forged_signature),
        cmocka_unit_test(test_broken_link),
        cmocka_unit_test(test_evidence_binding),
        cmocka_unit_test(test_chain_ok),
        cmocka_unit_test(test_version_goes_back),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_heads_link),
        cmocka_unit_test(test_another_lineage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
