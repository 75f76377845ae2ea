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
 *    decoded record encodes back to the input, within its counts;
 *  - every record body codec of core/migrec.h (HELLO, HELLO_ACK, EVIDENCE,
 *    BEGIN, CHUNK header, MANIFEST, ROUND, ROUND_ACK, RECEIPT) and the
 *    migration's host bodies of core/msg.h (MIGRATE_IN, GIVE_UP, ACTIVATE):
 *    a body decodes exactly when it has the record's size (EVIDENCE: a
 *    length prefix matching the rest less the MAC, within TALOS_EVIDENCE_MAX), and a
 *    decoded body encodes back to the input. */
#include <string.h>

#include "core/crypto.h"
#include "core/mig.h"
#include "core/migctx.h"
#include "core/migrec.h"
#include "core/msg.h"
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
    uint8_t session[TALOS_SESSION_BYTES] = {0}, lineage[TALOS_LINEAGE_BYTES] = {0};
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
    uint8_t key2[TALOS_MIG_KEY_BYTES];
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

/* decode(x) succeeds iff x has the body's size; then encode(decode(x)) == x. */
#define CHECK_FIXED(type, size, dec, enc)                                                          \
    do {                                                                                           \
        type v_;                                                                                   \
        uint8_t b_[size];                                                                          \
        int rc_ = dec(d, n, &v_);                                                                  \
        FUZZ_CHECK((rc_ == TALOS_OK) == (n == (size)));                                            \
        FUZZ_CHECK(rc_ == TALOS_OK || rc_ == TALOS_ERR_MALFORMED);                                 \
        if (rc_ == TALOS_OK) {                                                                     \
            enc(&v_, b_);                                                                          \
            FUZZ_CHECK(memcmp(b_, d, size) == 0);                                                  \
        }                                                                                          \
    } while (0)

/* The decoder takes any page count, the encoder only what a record holds. */
static void check_chunk(const uint8_t *d, size_t n)
{
    struct talos_mig_chunk c;
    uint8_t b[TALOS_MIG_CHUNK_HDR_BYTES];
    int rc = talos_mig_chunk_decode(d, n, &c);

    FUZZ_CHECK((rc == TALOS_OK) == (n == sizeof(b)));
    if (rc != TALOS_OK)
        return;
    rc = talos_mig_chunk_encode(&c, b);
    if (c.n_pages >= 1 && c.n_pages <= TALOS_MIG_CHUNK_PAGES)
        FUZZ_CHECK(rc == TALOS_OK && memcmp(b, d, sizeof(b)) == 0);
    else
        FUZZ_CHECK(rc == TALOS_ERR_INVALID_ARG);
}
static void round_ack_enc(const uint32_t *r, uint8_t *out) { talos_mig_round_ack_encode(*r, out); }
static void give_up_enc(const int32_t *c, uint8_t *out) { talos_msg_give_up_encode(*c, out); }

static void check_bodies(const uint8_t *d, size_t n)
{
    CHECK_FIXED(struct talos_mig_hello, TALOS_MIG_HELLO_BYTES, talos_mig_hello_decode,
                talos_mig_hello_encode);
    CHECK_FIXED(struct talos_mig_hello_ack, TALOS_MIG_HELLO_ACK_BYTES, talos_mig_hello_ack_decode,
                talos_mig_hello_ack_encode);
    CHECK_FIXED(struct talos_mig_begin, TALOS_MIG_BEGIN_BYTES, talos_mig_begin_decode,
                talos_mig_begin_encode);
    check_chunk(d, n);
    CHECK_FIXED(struct talos_mig_manifest, TALOS_MIG_MANIFEST_BYTES, talos_mig_manifest_decode,
                talos_mig_manifest_encode);
    CHECK_FIXED(struct talos_mig_round, TALOS_MIG_ROUND_BYTES, talos_mig_round_decode,
                talos_mig_round_encode);
    CHECK_FIXED(uint32_t, TALOS_MIG_ROUND_ACK_BYTES, talos_mig_round_ack_decode, round_ack_enc);
    CHECK_FIXED(struct talos_mig_receipt, TALOS_MIG_RECEIPT_BYTES, talos_mig_receipt_decode,
                talos_mig_receipt_encode);
    CHECK_FIXED(struct talos_msg_migrate_in, TALOS_MSG_MIGRATE_IN_BYTES,
                talos_msg_migrate_in_decode, talos_msg_migrate_in_encode);
    CHECK_FIXED(int32_t, TALOS_MSG_GIVE_UP_BYTES, talos_msg_give_up_decode, give_up_enc);
    CHECK_FIXED(struct talos_host_activate, TALOS_HOST_ACTIVATE_BYTES, talos_host_activate_decode,
                talos_host_activate_encode);

    /* EVIDENCE: u32 n ‖ n bytes ‖ MAC, n within the bound, nothing after. */
    const uint8_t *ev = NULL, *mac = NULL;
    size_t ev_len = 0;
    int rc = talos_mig_evidence_decode(d, n, &ev, &ev_len, &mac);
    int want = n >= TALOS_MIG_EVIDENCE_MIN && fuzz_be32(d) == n - TALOS_MIG_EVIDENCE_MIN &&
               n - TALOS_MIG_EVIDENCE_MIN <= TALOS_EVIDENCE_MAX;
    FUZZ_CHECK((rc == TALOS_OK) == want);
    if (rc == TALOS_OK) {
        struct talos_wr w;
        FUZZ_CHECK(ev == d + 4 && ev_len == n - TALOS_MIG_EVIDENCE_MIN && mac == d + 4 + ev_len);
        talos_wr_init(&w, 0);
        FUZZ_CHECK(talos_mig_evidence_encode(ev, ev_len, mac, &w) == TALOS_OK);
        FUZZ_CHECK(w.len == n && memcmp(w.p, d, n) == 0);
        talos_wr_free(&w);
    } else {
        FUZZ_CHECK(rc == TALOS_ERR_MALFORMED && ev == NULL && ev_len == 0 && mac == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_bodies(data, size);
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
