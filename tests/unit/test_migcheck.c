/* The migration checks of core/migcheck.c, each driven directly with the
 * exact refusal it must give (SECURITY.md "Evidence binding", I5, I8):
 *  - report-data binding (D44): the peer's evidence, made ahead, must carry
 *    SHA-256 over the speaker's role, its TLS key and the configuration;
 *    and its binding MAC, under this channel's exporter, must cover the
 *    role, session, lineage, the listener's nonce and both TLS keys; any
 *    one of them different is REPORT_DATA (attack T03/T04);
 *  - HELLO lineage: a target refuses a source offering another lineage than
 *    the one it was created for (PROTOCOL);
 *  - resume without ABORT: a source serves again only when HANDED_OFF with
 *    a pending session, and only on that session's ABORT (T05, T17, T18) —
 *    its own HANDOFF, a RECEIPT, an old or foreign ABORT are refused;
 *  - RECEIPT: a source retires only on the RECEIPT of its pending session,
 *    version and chain head.
 * Each refusal leaves the pending session as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto.h"
#include "core/migcheck.h"
#include "talos/err.h"

static char why[256];

/* --- report-data binding and binding MAC ------------------------------------ */
static uint8_t exporter[TALOS_MIG_KEY_BYTES], pub[TALOS_ED25519_PUB_BYTES], config[32],
    nonce[TALOS_NONCE_BYTES], session[TALOS_SESSION_BYTES], lineage[TALOS_LINEAGE_BYTES],
    peer_pub[TALOS_ED25519_PUB_BYTES];

static void fill_inputs(void)
{
    for (size_t i = 0; i < 32; i++) {
        exporter[i] = (uint8_t)(0x10 + i);
        pub[i] = (uint8_t)(0x40 + i);
        nonce[i] = (uint8_t)(0x70 + i);
        config[i] = (uint8_t)(0x90 + i);
        peer_pub[i] = (uint8_t)(0xe0 + i);
    }
    for (size_t i = 0; i < 16; i++) {
        session[i] = (uint8_t)(0xa0 + i);
        lineage[i] = (uint8_t)(0xc0 + i);
    }
}

static struct talos_mig_binding make_binding(void)
{
    fill_inputs();
    return (struct talos_mig_binding){.role = 'S', .pub = pub, .config = config};
}

static struct talos_mig_bind make_bind(void)
{
    fill_inputs();
    return (struct talos_mig_bind){.role = 'S', .exporter = exporter, .session = session,
                                   .lineage = lineage, .nonce = nonce, .speaker_pub = pub,
                                   .listener_pub = peer_pub};
}

/* The bytes are the protocol's: a change here changes the wire. */
static void binding_bytes(void **state)
{
    struct talos_mig_binding b = make_binding();
    uint8_t buf[14 + 1 + 32 + 32], want[32], rd[64];

    (void)state;
    memcpy(buf, "talos-ratls-v1", 14);
    buf[14] = 'S';
    memcpy(buf + 15, pub, 32);
    memcpy(buf + 47, config, 32);
    talos_sha256(buf, sizeof(buf), want);
    memset(rd, 0xff, sizeof(rd));
    talos_mig_binding_report_data(&b, rd);
    assert_memory_equal(rd, want, 32);
    for (size_t i = 32; i < 64; i++)
        assert_int_equal(rd[i], 0);
}

static void binding_accepts_its_own(void **state)
{
    struct talos_mig_binding b = make_binding();
    uint8_t rd[64];

    (void)state;
    talos_mig_binding_report_data(&b, rd);
    why[0] = '\0';
    assert_int_equal(talos_mig_binding_check(&b, rd, why, sizeof(why)), TALOS_OK);
    assert_string_equal(why, "");
}

#define NOT_BOUND "peer evidence is not bound to this channel, key, session and lineage"
#define NOT_THIS_MIGRATION "peer evidence is not bound to this session and lineage"

static void expect_unbound(const struct talos_mig_binding *b, const uint8_t rd[64], const char *what)
{
    snprintf(why, sizeof(why), "unchanged");
    if (talos_mig_binding_check(b, rd, why, sizeof(why)) != TALOS_ERR_REPORT_DATA)
        fail_msg("evidence bound to %s was accepted", what);
    assert_string_equal(why, NOT_BOUND);
}

/* Evidence made for one binding, checked against a binding that differs in
 * exactly one input: refused, whichever it is. */
static void binding_refuses_any_other(void **state)
{
    struct talos_mig_binding b = make_binding();
    uint8_t rd[64];
    uint8_t *fields[] = {pub, config};
    const char *names[] = {"another TLS key (old or relayed evidence)", "another configuration"};

    (void)state;
    talos_mig_binding_report_data(&b, rd);
    /* The speaker's role: S's evidence replayed as T's (reflection). */
    b.role = 'T';
    expect_unbound(&b, rd, "the other role");
    b.role = 'S';
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        fields[f][3] ^= 0x01;
        expect_unbound(&b, rd, names[f]);
        fields[f][3] ^= 0x01;
    }
    assert_int_equal(talos_mig_binding_check(&b, rd, why, sizeof(why)), TALOS_OK);
    /* The half the binding leaves zero is still compared. */
    rd[63] ^= 0x80;
    expect_unbound(&b, rd, "non-zero trailing bytes");
    rd[63] ^= 0x80;
    /* No reason buffer: the same refusal. */
    rd[0] ^= 1;
    assert_int_equal(talos_mig_binding_check(&b, rd, NULL, 0), TALOS_ERR_REPORT_DATA);
}

/* The MAC's bytes: HMAC-SHA256 under the exporter value. */
static void bind_mac_bytes(void **state)
{
    struct talos_mig_bind b = make_bind();
    uint8_t buf[13 + 1 + 16 + 16 + 32 + 32 + 32], want[32], mac[32];

    (void)state;
    memcpy(buf, "talos-bind-v1", 13);
    buf[13] = 'S';
    memcpy(buf + 14, session, 16);
    memcpy(buf + 30, lineage, 16);
    memcpy(buf + 46, nonce, 32);
    memcpy(buf + 78, pub, 32);
    memcpy(buf + 110, peer_pub, 32);
    assert_int_equal(talos_hmac_sha256(exporter, sizeof(exporter), buf, sizeof(buf), want), TALOS_OK);
    assert_int_equal(talos_mig_bind_mac(&b, mac), TALOS_OK);
    assert_memory_equal(mac, want, 32);
    why[0] = '\0';
    assert_int_equal(talos_mig_bind_check(&b, mac, why, sizeof(why)), TALOS_OK);
    assert_string_equal(why, "");
}

/* A MAC made for one migration, checked against one that differs in
 * exactly one input: refused (REPORT_DATA), whichever it is. */
static void bind_refuses_any_other(void **state)
{
    struct talos_mig_bind b = make_bind();
    uint8_t mac[32];
    uint8_t *fields[] = {exporter, session, lineage, nonce, pub, peer_pub};
    const char *names[] = {"another channel (exporter)", "another session", "another lineage",
                           "another nonce", "another speaker key", "another listener key"};

    (void)state;
    assert_int_equal(talos_mig_bind_mac(&b, mac), TALOS_OK);
    b.role = 'T';
    assert_int_equal(talos_mig_bind_check(&b, mac, why, sizeof(why)), TALOS_ERR_REPORT_DATA);
    assert_string_equal(why, NOT_THIS_MIGRATION);
    b.role = 'S';
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        fields[f][5] ^= 0x20;
        snprintf(why, sizeof(why), "unchanged");
        if (talos_mig_bind_check(&b, mac, why, sizeof(why)) != TALOS_ERR_REPORT_DATA)
            fail_msg("a MAC over %s was accepted", names[f]);
        assert_string_equal(why, NOT_THIS_MIGRATION);
        fields[f][5] ^= 0x20;
    }
    assert_int_equal(talos_mig_bind_check(&b, mac, NULL, 0), TALOS_OK);
    mac[31] ^= 1;
    assert_int_equal(talos_mig_bind_check(&b, mac, NULL, 0), TALOS_ERR_REPORT_DATA);
}

/* --- HELLO lineage ------------------------------------------------------------ */
static void hello_lineage(void **state)
{
    struct talos_mig_hello h = {.version = TALOS_MIG_VERSION};
    uint8_t expected[16];

    (void)state;
    memset(expected, 0x5a, sizeof(expected));
    memcpy(h.lineage, expected, sizeof(h.lineage));
    why[0] = '\0';
    assert_int_equal(talos_mig_hello_lineage_check(&h, expected, why, sizeof(why)), TALOS_OK);
    assert_string_equal(why, "");
    for (size_t i = 0; i < sizeof(h.lineage); i += 5) {
        h.lineage[i] ^= 0x01;
        why[0] = '\0';
        assert_int_equal(talos_mig_hello_lineage_check(&h, expected, why, sizeof(why)),
                         TALOS_ERR_PROTOCOL);
        assert_string_equal(why, "the source offers another lineage than its node announced");
        h.lineage[i] ^= 0x01;
    }
    memset(h.lineage, 0, sizeof(h.lineage)); /* an all-zero lineage is no wildcard */
    assert_int_equal(talos_mig_hello_lineage_check(&h, expected, NULL, 0), TALOS_ERR_PROTOCOL);
}

/* --- tokens of a pending session ---------------------------------------------- */
static struct talos_mig_pending pending;
static uint8_t tok_lineage[16];

static void make_pending(void)
{
    memset(&pending, 0, sizeof(pending));
    pending.live = 1;
    memset(pending.session, 0x11, sizeof(pending.session));
    memset(pending.k_tok, 0x22, sizeof(pending.k_tok));
    pending.version = 42;
    memset(pending.head, 0x33, sizeof(pending.head));
    memset(tok_lineage, 0x44, sizeof(tok_lineage));
}

/* A token of kind sealed under key for (sess, lin, version, head). */
static void seal(uint8_t kind, int32_t code, const uint8_t key[TALOS_MIG_KEY_BYTES],
                 const uint8_t sess[TALOS_SESSION_BYTES], const uint8_t lin[TALOS_LINEAGE_BYTES],
                 uint64_t version, const uint8_t head[TALOS_MIG_HASH_BYTES],
                 uint8_t out[TALOS_TOKEN_BYTES])
{
    struct talos_token t = {.kind = kind, .version = version, .code = code};

    memcpy(t.session, sess, sizeof(t.session));
    memcpy(t.lineage, lin, sizeof(t.lineage));
    memcpy(t.head, head, sizeof(t.head));
    assert_int_equal(talos_token_seal(&t, key, out), TALOS_OK);
}

static void seal_good(uint8_t kind, int32_t code, uint8_t out[TALOS_TOKEN_BYTES])
{
    static const uint8_t zero[TALOS_MIG_HASH_BYTES];
    /* A target's ABORT names no chain head (ta/mig_handoff.c). */
    seal(kind, code, pending.k_tok, pending.session, tok_lineage, pending.version,
         kind == TALOS_MIG_ABORT ? zero : pending.head, out);
}

typedef int (*pending_check)(enum talos_life_state, const struct talos_mig_pending *,
                             const uint8_t *, const uint8_t *, size_t, struct talos_token *,
                             char *, size_t);

/* check(tok) must give rc and exactly reason, and leave pending as it was. */
static void expect(pending_check check, enum talos_life_state st, const uint8_t *tok, size_t len,
                   int rc, const char *reason)
{
    struct talos_mig_pending before = pending;
    struct talos_token t;

    snprintf(why, sizeof(why), "unchanged");
    assert_int_equal(check(st, &pending, tok_lineage, tok, len, &t, why, sizeof(why)), rc);
    if (reason)
        assert_string_equal(why, reason);
    assert_memory_equal(&before, &pending, sizeof(pending));
}

static const char *invalid(const char *kind, int rc)
{
    static char buf[200];
    snprintf(buf, sizeof(buf), "not a valid %s of the pending session: %s", kind,
             talos_strerror(rc));
    return buf;
}

static void resume_on_its_abort(void **state)
{
    uint8_t tok[TALOS_TOKEN_BYTES];
    struct talos_token t;

    (void)state;
    make_pending();
    seal_good(TALOS_MIG_ABORT, TALOS_ERR_MEASUREMENT, tok);
    assert_int_equal(talos_mig_resume_check(TALOS_LIFE_HANDED_OFF, &pending, tok_lineage, tok,
                                            sizeof(tok), &t, why, sizeof(why)),
                     TALOS_OK);
    assert_int_equal(t.kind, TALOS_MIG_ABORT);
    assert_int_equal(t.code, TALOS_ERR_MEASUREMENT);
}

/* Only HANDED_OFF resumes on a token: FROZEN thaws on its own (nothing was
 * promised), the other states never serve again this way. */
static void resume_only_handed_off(void **state)
{
    uint8_t tok[TALOS_TOKEN_BYTES];
    char reason[200];

    (void)state;
    make_pending();
    seal_good(TALOS_MIG_ABORT, TALOS_ERR_ABORTED, tok);
    for (int s = 0; s < TALOS_LIFE_N_STATES; s++) {
        if (s == TALOS_LIFE_HANDED_OFF)
            continue;
        snprintf(reason, sizeof(reason), "TA is %s: only a HANDED_OFF source can resume",
                 talos_life_state_name((enum talos_life_state)s));
        expect(talos_mig_resume_check, (enum talos_life_state)s, tok, sizeof(tok), TALOS_ERR_STATE,
               reason);
    }
    /* HANDED_OFF with no pending session (its ABORT was used already). */
    pending.live = 0;
    expect(talos_mig_resume_check, TALOS_LIFE_HANDED_OFF, tok, sizeof(tok), TALOS_ERR_STATE,
           "TA is HANDED_OFF: only a HANDED_OFF source can resume");
}

static void resume_without_abort(void **state)
{
    uint8_t tok[TALOS_TOKEN_BYTES], other[TALOS_MIG_KEY_BYTES];
    const enum talos_life_state H = TALOS_LIFE_HANDED_OFF;

    (void)state;
    make_pending();
    /* No token at all, a short one, one byte more. */
    expect(talos_mig_resume_check, H, NULL, 0, TALOS_ERR_MALFORMED,
           invalid("ABORT", TALOS_ERR_MALFORMED));
    seal_good(TALOS_MIG_ABORT, TALOS_ERR_ABORTED, tok);
    expect(talos_mig_resume_check, H, tok, sizeof(tok) - 1, TALOS_ERR_MALFORMED,
           invalid("ABORT", TALOS_ERR_MALFORMED));
    /* The source's own HANDOFF (its node holds it) and the target's RECEIPT
     * and PREPARED: genuine tokens of the session, not an ABORT. */
    const uint8_t kinds[] = {TALOS_MIG_HANDOFF, TALOS_MIG_RECEIPT, TALOS_MIG_PREPARED};
    for (size_t i = 0; i < sizeof(kinds); i++) {
        seal_good(kinds[i], 0, tok);
        expect(talos_mig_resume_check, H, tok, sizeof(tok), TALOS_ERR_PROTOCOL,
               invalid("ABORT", TALOS_ERR_PROTOCOL));
    }
    /* An ABORT of an earlier session (another key) or under a forged key. */
    memset(other, 0x23, sizeof(other));
    seal(TALOS_MIG_ABORT, TALOS_ERR_ABORTED, other, pending.session, tok_lineage, 42, pending.head,
         tok);
    expect(talos_mig_resume_check, H, tok, sizeof(tok), TALOS_ERR_MAC, invalid("ABORT", TALOS_ERR_MAC));
    /* Under the right key, for another session or another lineage. */
    memset(other, 0x12, sizeof(other));
    seal(TALOS_MIG_ABORT, TALOS_ERR_ABORTED, pending.k_tok, other, tok_lineage, 42, pending.head,
         tok);
    expect(talos_mig_resume_check, H, tok, sizeof(tok), TALOS_ERR_PROTOCOL,
           invalid("ABORT", TALOS_ERR_PROTOCOL));
    seal(TALOS_MIG_ABORT, TALOS_ERR_ABORTED, pending.k_tok, pending.session, other, 42,
         pending.head, tok);
    expect(talos_mig_resume_check, H, tok, sizeof(tok), TALOS_ERR_PROTOCOL,
           invalid("ABORT", TALOS_ERR_PROTOCOL));
    /* Every single bit flipped in a genuine ABORT. */
    seal_good(TALOS_MIG_ABORT, TALOS_ERR_ABORTED, tok);
    for (size_t i = 0; i < sizeof(tok) * 8; i++) {
        tok[i / 8] ^= (uint8_t)(1u << (i % 8));
        expect(talos_mig_resume_check, H, tok, sizeof(tok), TALOS_ERR_MAC,
               invalid("ABORT", TALOS_ERR_MAC));
        tok[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}

/* --- RECEIPT --------------------------------------------------------------------- */
static void receipt_of_its_session(void **state)
{
    uint8_t tok[TALOS_TOKEN_BYTES];
    struct talos_token t;

    (void)state;
    make_pending();
    seal_good(TALOS_MIG_RECEIPT, 0, tok);
    assert_int_equal(talos_mig_receipt_check(TALOS_LIFE_HANDED_OFF, &pending, tok_lineage, tok,
                                             sizeof(tok), &t, why, sizeof(why)),
                     TALOS_OK);
    assert_int_equal(t.version, 42);
    assert_memory_equal(t.head, pending.head, sizeof(t.head));
}

static void receipt_refusals(void **state)
{
    uint8_t tok[TALOS_TOKEN_BYTES], other[TALOS_MIG_KEY_BYTES];
    char reason[200];
    const enum talos_life_state H = TALOS_LIFE_HANDED_OFF;

    (void)state;
    make_pending();
    seal_good(TALOS_MIG_RECEIPT, 0, tok);
    for (int s = 0; s < TALOS_LIFE_N_STATES; s++) {
        if (s == TALOS_LIFE_HANDED_OFF)
            continue;
        snprintf(reason, sizeof(reason), "TA is %s: only a HANDED_OFF source takes a RECEIPT",
                 talos_life_state_name((enum talos_life_state)s));
        expect(talos_mig_receipt_check, (enum talos_life_state)s, tok, sizeof(tok),
               TALOS_ERR_STATE, reason);
    }
    pending.live = 0;
    expect(talos_mig_receipt_check, H, tok, sizeof(tok), TALOS_ERR_STATE,
           "TA is HANDED_OFF: only a HANDED_OFF source takes a RECEIPT");
    pending.live = 1;
    /* Not a RECEIPT: the target's ABORT, the source's own HANDOFF. */
    seal_good(TALOS_MIG_ABORT, TALOS_ERR_ABORTED, tok);
    expect(talos_mig_receipt_check, H, tok, sizeof(tok), TALOS_ERR_PROTOCOL,
           invalid("RECEIPT", TALOS_ERR_PROTOCOL));
    seal_good(TALOS_MIG_HANDOFF, 0, tok);
    expect(talos_mig_receipt_check, H, tok, sizeof(tok), TALOS_ERR_PROTOCOL,
           invalid("RECEIPT", TALOS_ERR_PROTOCOL));
    /* Another session's RECEIPT (its own key): MAC. */
    memset(other, 0x23, sizeof(other));
    seal(TALOS_MIG_RECEIPT, 0, other, pending.session, tok_lineage, 42, pending.head, tok);
    expect(talos_mig_receipt_check, H, tok, sizeof(tok), TALOS_ERR_MAC,
           invalid("RECEIPT", TALOS_ERR_MAC));
    expect(talos_mig_receipt_check, H, tok, 7, TALOS_ERR_MALFORMED,
           invalid("RECEIPT", TALOS_ERR_MALFORMED));
    /* A genuine RECEIPT of the session that names another version or head. */
    seal(TALOS_MIG_RECEIPT, 0, pending.k_tok, pending.session, tok_lineage, 41, pending.head, tok);
    expect(talos_mig_receipt_check, H, tok, sizeof(tok), TALOS_ERR_PROTOCOL,
           "the RECEIPT names another version or chain head");
    memcpy(other, pending.head, 32);
    other[31] ^= 1;
    seal(TALOS_MIG_RECEIPT, 0, pending.k_tok, pending.session, tok_lineage, 42, other, tok);
    expect(talos_mig_receipt_check, H, tok, sizeof(tok), TALOS_ERR_PROTOCOL,
           "the RECEIPT names another version or chain head");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binding_bytes),
        cmocka_unit_test(binding_accepts_its_own),
        cmocka_unit_test(binding_refuses_any_other),
        cmocka_unit_test(bind_mac_bytes),
        cmocka_unit_test(bind_refuses_any_other),
        cmocka_unit_test(hello_lineage),
        cmocka_unit_test(resume_on_its_abort),
        cmocka_unit_test(resume_only_handed_off),
        cmocka_unit_test(resume_without_abort),
        cmocka_unit_test(receipt_of_its_session),
        cmocka_unit_test(receipt_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
