/* The migration checks of core/migcheck.c, each driven directly with the
 * exact refusal it must give (SECURITY.md "Evidence binding", I5, I8):
 *  - report-data binding: the peer's evidence must carry SHA-256 over this
 *    channel's exporter, the speaker's role and TLS key, the listener's
 *    nonce, the session and the lineage; any one of them different is
 *    REPORT_DATA (attack T03/T04);
 *  - HELLO lineage: a target refuses a source offering another lineage than
 *    the one it was created for (PROTOCOL). */
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

/* --- report-data binding ---------------------------------------------------- */
static uint8_t exporter[32], pub[32], nonce[32], session[16], lineage[16];

static struct talos_mig_binding make_binding(void)
{
    for (size_t i = 0; i < 32; i++) {
        exporter[i] = (uint8_t)(0x10 + i);
        pub[i] = (uint8_t)(0x40 + i);
        nonce[i] = (uint8_t)(0x70 + i);
    }
    for (size_t i = 0; i < 16; i++) {
        session[i] = (uint8_t)(0xa0 + i);
        lineage[i] = (uint8_t)(0xc0 + i);
    }
    return (struct talos_mig_binding){.role = 'S', .exporter = exporter, .pub = pub,
                                      .nonce = nonce, .session = session, .lineage = lineage};
}

/* The bytes are the protocol's: a change here changes the wire. */
static void binding_bytes(void **state)
{
    struct talos_mig_binding b = make_binding();
    uint8_t buf[12 + 1 + 32 + 32 + 32 + 16 + 16], want[32], rd[64];

    (void)state;
    memcpy(buf, "talos-mig-v1", 12);
    buf[12] = 'S';
    memcpy(buf + 13, exporter, 32);
    memcpy(buf + 45, pub, 32);
    memcpy(buf + 77, nonce, 32);
    memcpy(buf + 109, session, 16);
    memcpy(buf + 125, lineage, 16);
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
    uint8_t *fields[] = {exporter, pub, nonce, session, lineage};
    const char *names[] = {"another channel (exporter)", "another TLS key", "another nonce",
                           "another session", "another lineage"};

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binding_bytes),
        cmocka_unit_test(binding_accepts_its_own),
        cmocka_unit_test(binding_refuses_any_other),
        cmocka_unit_test(hello_lineage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
