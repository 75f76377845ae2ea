/* Migration records (core/mig.c): the record table (talos_mig_check), the
 * handover tokens (talos_token_open) and the migration report a TA returns
 * to its host (talos_mig_report_decode).
 *
 * The whole input goes to each decoder:
 *  - talos_mig_check(type = in[0], sender = in[1], length = be32(in[2..5]));
 *    an accepted header is a known type, from an allowed sender, in bounds;
 *  - talos_token_open under a fixed key, expecting the kind, session and
 *    lineage the token names and then other ones; a second pass recomputes
 *    the MAC over the fuzzed body (the first TALOS_TOKEN_BYTES - 32 bytes)
 *    so that the checks after the MAC are reached. An opened token reseals
 *    to the very same bytes (encode(decode(x)) == x), and a token opens
 *    exactly when its MAC is right and it names what was expected;
 *  - talos_mig_report_decode: a decoded report encodes back to the input;
 *  - talos_mig_threads_decode (the THREADS record, core/migctx.h): a
 *    decoded record encodes back to the input, within its counts. */
#include <string.h>

#include "core/crypto.h"
#include "core/mig.h"
#include "core/migctx.h"
#include "core/wire.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_keys.h"

static void check_record_header(const uint8_t *d, size_t n)
{
    if (n < 6)
        return;
    uint8_t type = d[0], from = d[1];
    uint32_t len = fuzz_be32(d + 2);
    const struct talos_mig_desc *desc = talos_mig_find(type);
    int rc = talos_mig_check(type, from, len);

    FUZZ_CHECK(rc == TALOS_OK || rc == TALOS_ERR_PROTOCOL || rc == TALOS_ERR_TOO_LARGE ||
               rc == TALOS_ERR_MALFORMED);
    FUZZ_CHECK((rc == TALOS_ERR_PROTOCOL) == (!desc || !(desc->from & from)));
    if (rc == TALOS_OK)
        FUZZ_CHECK(desc->type == type && desc->min_len <= len && len <= desc->max_len);
}

/* Open `tok` expecting what it names, then something else; reseal. */
static void check_token(const uint8_t *tok, size_t n, int mac_ok)
{
    struct talos_token t, t2;
    uint8_t again[TALOS_TOKEN_BYTES];
    uint8_t kind = n > 0 ? tok[0] : 0;
    uint8_t session[TALOS_SESSION_BYTES] = {0}, lineage[16] = {0};
    int rc;

    if (n >= 33) {
        memcpy(session, tok + 1, sizeof(session));
        memcpy(lineage, tok + 17, sizeof(lineage));
    }
    rc = talos_token_open(tok, n, fuzz_token_key, kind, session, lineage, &t);
    if (n != TALOS_TOKEN_BYTES) {
        FUZZ_CHECK(rc == TALOS_ERR_MALFORMED);
        return;
    }
    /* The expected values are the token's own: only the MAC can fail. */
    FUZZ_CHECK(mac_ok ? rc == TALOS_OK : (rc == TALOS_OK || rc == TALOS_ERR_MAC));
    if (rc != TALOS_OK)
        return;
    /* encode(decode(x)) == x */
    t2 = t;
    FUZZ_CHECK(talos_token_seal(&t2, fuzz_token_key, again) == TALOS_OK);
    FUZZ_CHECK(memcmp(again, tok, TALOS_TOKEN_BYTES) == 0);
    FUZZ_CHECK(memcmp(t2.mac, t.mac, sizeof(t.mac)) == 0);
    FUZZ_CHECK(t.kind == kind && memcmp(t.session, session, sizeof(session)) == 0);

    /* A valid token of another kind, session or lineage is refused as such. */
    FUZZ_CHECK(talos_token_open(tok, n, fuzz_token_key, (uint8_t)(kind + 1), session, lineage,
                                &t2) == TALOS_ERR_PROTOCOL);
    session[tok[1] % sizeof(session)] ^= 0x01;
    FUZZ_CHECK(talos_token_open(tok, n, fuzz_token_key, kind, session, lineage, &t2) ==
               TALOS_ERR_PROTOCOL);
    session[tok[1] % sizeof(session)] ^= 0x01;
    lineage[tok[2] % sizeof(lineage)] ^= 0x80;
    FUZZ_CHECK(talos_token_open(tok, n, fuzz_token_key, kind, session, lineage, &t2) ==
               TALOS_ERR_PROTOCOL);
    /* Another key: the MAC fails. */
    uint8_t key2[32];
    memcpy(key2, fuzz_token_key, sizeof(key2));
    key2[tok[3] % sizeof(key2)] ^= 0x04;
    FUZZ_CHECK(talos_token_open(tok, n, key2, kind, session, lineage, &t2) == TALOS_ERR_MAC);
}

static void check_report(const uint8_t *d, size_t n)
{
    struct talos_mig_report rep;
    struct talos_wr w;

    memset(&rep, 0xa5, sizeof(rep));
    if (talos_mig_report_decode(d, n, &rep) != TALOS_OK)
        return;
    talos_wr_init(&w, 0);
    talos_mig_report_encode(&rep, &w);
    FUZZ_CHECK(!w.err && w.len == n && memcmp(w.p, d, n) == 0);
    talos_wr_free(&w);
}

static void check_threads(const uint8_t *d, size_t n)
{
    static struct talos_mig_threads t;
    struct talos_wr w;

    if (talos_mig_threads_decode(d, n, &t) != TALOS_OK) {
        FUZZ_CHECK(t.n == 0);
        return;
    }
    FUZZ_CHECK(t.n >= 1 && t.n <= TALOS_MIG_MAX_THREADS);
    talos_wr_init(&w, 0);
    FUZZ_CHECK(talos_mig_threads_encode(&t, &w) == TALOS_OK);
    FUZZ_CHECK(!w.err && w.len == n && memcmp(w.p, d, n) == 0);
    talos_wr_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_threads(data, size);
    check_record_header(data, size);
    check_token(data, size, 0);
    if (size >= TALOS_TOKEN_BYTES) {
        uint8_t tok[TALOS_TOKEN_BYTES];
        memcpy(tok, data, sizeof(tok));
        FUZZ_CHECK(talos_hmac_sha256(fuzz_token_key, sizeof(fuzz_token_key), tok,
                                     sizeof(tok) - TALOS_HASH,
                                     tok + sizeof(tok) - TALOS_HASH) == TALOS_OK);
        check_token(tok, sizeof(tok), 1);
    }
    check_report(data, size);
    return 0;
}
