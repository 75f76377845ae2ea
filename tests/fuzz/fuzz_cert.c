/* State certificates (core/cert.c): the decoder talos_cert_decode, the
 * checks of one certificate (talos_cert_check) and of a chain
 * (talos_cert_chain_check).
 *
 * Input: one encoded certificate. Checked:
 *  - a decoded certificate re-encodes to the very input (one canonical
 *    encoding), has n_links == epoch <= TALOS_CERT_MAX_LINKS and a
 *    printable backend name;
 *  - its check ends in a known refusal or TALOS_OK, never a crash;
 *  - re-signed with a fixed key that is made its first and current key
 *    (second pass), the checks behind the signature run on fuzzed links,
 *    versions and heads; a certificate whose check passed also passes the
 *    chain check as a chain of one, and as the same certificate twice.
 * The same input also goes to the LINEAGE record's decoder
 * (talos_lineage_rec_decode): a decoded record re-encodes to the input and
 * has n_links == epoch <= TALOS_CERT_MAX_LINKS.
 * Evidence is not verified here (fuzz_evidence covers that decoder). */
#include <string.h>

#include "core/cert.h"
#include "core/crypto.h"
#include "core/sign.h"
#include "core/wire.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

static uint8_t seed[TALOS_ED25519_SEED_BYTES], pub[TALOS_ED25519_PUB_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    memset(seed, 0x5a, sizeof(seed)); /* a fixed test key, protecting nothing */
    return talos_ed25519_public(seed, pub) == TALOS_OK ? 0 : 1;
}

static int known(int rc)
{
    return rc == TALOS_OK || rc == TALOS_ERR_CERT || rc == TALOS_ERR_CERT_LINK ||
           rc == TALOS_ERR_CERT_ROLLBACK || rc == TALOS_ERR_MALFORMED;
}

static void chain_once(const struct talos_cert *c)
{
    const struct talos_cert *v[2] = {c, c};
    char why[300];
    size_t bad = 0;
    FUZZ_CHECK(talos_cert_chain_check(v, 1, NULL, &bad, why, sizeof(why)) == TALOS_OK);
    FUZZ_CHECK(talos_cert_chain_check(v, 2, NULL, &bad, why, sizeof(why)) == TALOS_OK);
}

static void lineage_rec(const uint8_t *data, size_t size)
{
    struct talos_lineage_rec l;
    struct talos_wr w;
    int rc = talos_lineage_rec_decode(data, size, &l);

    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_MALFORMED);
    if (rc != TALOS_OK)
        return;
    FUZZ_CHECK(l.n_links == l.epoch && l.n_links <= TALOS_CERT_MAX_LINKS && l.links);
    talos_wr_init(&w, 0);
    talos_lineage_rec_encode(&l, &w);
    FUZZ_CHECK(w.err == TALOS_OK && w.len == size && memcmp(w.p, data, size) == 0);
    talos_wr_free(&w);
    talos_lineage_rec_clear(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lineage_rec(data, size);

    struct talos_cert c;
    struct talos_wr w;
    char why[300];
    int rc = talos_cert_decode(data, size, &c);

    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_TOO_LARGE);
    if (rc != TALOS_OK)
        return 0;
    FUZZ_CHECK(c.n_links == c.epoch && c.n_links <= TALOS_CERT_MAX_LINKS);
    for (const char *s = c.backend; *s; s++)
        FUZZ_CHECK(*s > ' ' && *s <= '~');
    talos_wr_init(&w, 0);
    talos_cert_encode(&c, &w);
    FUZZ_CHECK(w.err == TALOS_OK && w.len == size && memcmp(w.p, data, size) == 0);
    talos_wr_free(&w);

    rc = talos_cert_check(&c, NULL, NULL, why, sizeof(why));
    FUZZ_CHECK(known(rc));
    if (rc == TALOS_OK)
        chain_once(&c);

    /* Second pass: the fixed key is every epoch's key and signs every
     * link and the body, so the signatures verify and the epoch, version
     * and head checks behind them run on the fuzzed values. */
    memcpy(c.pub0, pub, TALOS_ED25519_PUB_BYTES);
    memcpy(c.pub, pub, TALOS_ED25519_PUB_BYTES);
    for (uint32_t i = 0; i < c.n_links; i++) {
        memcpy(c.links[i].pub, pub, TALOS_ED25519_PUB_BYTES);
        FUZZ_CHECK(talos_cert_link_sign(c.lineage, &c.links[i], seed) == TALOS_OK);
    }
    FUZZ_CHECK(talos_cert_sign(&c, seed) == TALOS_OK);
    rc = talos_cert_check(&c, NULL, NULL, why, sizeof(why));
    FUZZ_CHECK(known(rc) && rc != TALOS_ERR_MALFORMED);
    if (rc == TALOS_OK)
        chain_once(&c);
    talos_cert_clear(&c);
    return 0;
}
