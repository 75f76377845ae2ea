/* Memory introspection (ta/introspect.c, DESIGN.md "Verification"), the
 * check a target runs right before it activates (ta/mig_target.c,
 * ta/mig_handoff.c): the backend's memory map must show no writable code
 * mapping, the state arena mapped read-write, not executable, at its
 * address, the migrated data section in writable, non-executable image
 * data; the code measured now must equal the launch measurement and the
 * one the platform put in the evidence. Each refusal is MEASUREMENT (or the
 * backend's own error) with its exact reason. The file is included, as
 * tests/unit/test_frames.c includes ta/frames.c: the backend it asks is a
 * fake whose answers each test sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ta/introspect.c"

/* --- the fake backend ------------------------------------------------------------ */
static struct talos_region map[8];
static size_t map_n;
static int map_rc, measure_rc, launch_rc;
static uint8_t measured[TALOS_MEASUREMENT_BYTES], launched[TALOS_MEASUREMENT_BYTES];

static int fake_memory_map(struct talos_region *out, size_t *n)
{
    if (map_rc != TALOS_OK)
        return map_rc;
    assert_true(*n >= map_n);
    memcpy(out, map, map_n * sizeof(map[0]));
    *n = map_n;
    return TALOS_OK;
}
static int fake_measure_self(uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    memcpy(out, measured, TALOS_MEASUREMENT_BYTES);
    return measure_rc;
}
static int fake_launch_measurement(uint8_t out[TALOS_MEASUREMENT_BYTES])
{
    memcpy(out, launched, TALOS_MEASUREMENT_BYTES);
    return launch_rc;
}
/* The migrated data section (TALOS_PERSIST and gathered static data, D47):
 * [persist_at, persist_at + persist_len), 0 bytes unless a test sets it. */
static uintptr_t persist_at = 0x402800;
static size_t persist_len;
uint8_t *talos_rt_persist(size_t *len)
{
    *len = persist_len;
    return (uint8_t *)persist_at;
}
const struct talos_tee_ops talos_tee_enclave = {
    .name = "fake",
    .measure_self = fake_measure_self,
    .launch_measurement = fake_launch_measurement,
    .memory_map = fake_memory_map,
};

/* A clean TA: code r-x, rodata r--, the arena rw- around its base. */
static int setup(void **state)
{
    uint64_t base = talos_arena_base();

    (void)state;
    map_rc = measure_rc = launch_rc = TALOS_OK;
    memset(measured, 0xab, sizeof(measured));
    memcpy(launched, measured, sizeof(launched));
    map_n = 0;
    map[map_n++] = (struct talos_region){0x400000, 0x401000, TALOS_PROT_R | TALOS_PROT_X,
                                         TALOS_REGION_CODE};
    map[map_n++] = (struct talos_region){0x401000, 0x402000, TALOS_PROT_R, TALOS_REGION_RODATA};
    map[map_n++] = (struct talos_region){base, base + 0x10000, TALOS_PROT_R | TALOS_PROT_W,
                                         TALOS_REGION_ARENA};
    map[map_n++] = (struct talos_region){0x402000, 0x404000, TALOS_PROT_R | TALOS_PROT_W,
                                         TALOS_REGION_DATA};
    persist_len = 0x1000;
    return 0;
}

static char why[256];

static void expect(int rc, const char *reason)
{
    uint8_t m[TALOS_MEASUREMENT_BYTES];

    snprintf(why, sizeof(why), "unchanged");
    assert_int_equal(talos_rt_introspect(m, why, sizeof(why)), rc);
    assert_string_equal(why, reason);
}

static void clean_map_passes(void **state)
{
    uint8_t m[TALOS_MEASUREMENT_BYTES] = {0};

    (void)state;
    why[0] = '\0';
    assert_int_equal(talos_rt_introspect(m, why, sizeof(why)), TALOS_OK);
    assert_memory_equal(m, measured, sizeof(m));
    assert_string_equal(why, "");
    /* A backend without a memory map: only the measurement. */
    map_rc = TALOS_ERR_NOT_IMPLEMENTED;
    assert_int_equal(talos_rt_introspect(m, why, sizeof(why)), TALOS_OK);
}

static void writable_code(void **state)
{
    (void)state;
    map[0].prot |= TALOS_PROT_W;
    expect(TALOS_ERR_MEASUREMENT, "a code mapping at 0x400000 is writable");
    map[0].prot = TALOS_PROT_R | TALOS_PROT_W; /* W without X is still writable code */
    expect(TALOS_ERR_MEASUREMENT, "a code mapping at 0x400000 is writable");
}

static void arena_protection(void **state)
{
    const uint32_t bad[] = {TALOS_PROT_R, TALOS_PROT_W, 0,
                            TALOS_PROT_R | TALOS_PROT_W | TALOS_PROT_X};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        map[2].prot = bad[i];
        expect(TALOS_ERR_MEASUREMENT, "the state arena is mapped with the wrong protection");
    }
}

static void arena_elsewhere(void **state)
{
    (void)state;
    /* An arena region that does not hold the arena's base. */
    map[2].start += 0x10000, map[2].end += 0x10000;
    expect(TALOS_ERR_MEASUREMENT, "the state arena is not mapped at its address");
    /* The right range, named something else. */
    map[2].start -= 0x10000, map[2].end -= 0x10000;
    map[2].kind = TALOS_REGION_OTHER;
    expect(TALOS_ERR_MEASUREMENT, "the state arena is not mapped at its address");
}

/* The migrated data section must lie in writable, non-executable image
 * data, and nowhere else: a mapping over it of another kind or protection
 * is refused. */
static void persist_section(void **state)
{
    const uint32_t bad[] = {TALOS_PROT_R, TALOS_PROT_R | TALOS_PROT_W | TALOS_PROT_X};
    const char *why_bad = "the migrated data section at 0x402000 is not writable image data";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        map[3].prot = bad[i];
        expect(TALOS_ERR_MEASUREMENT, why_bad);
    }
    map[3].prot = TALOS_PROT_R | TALOS_PROT_W;
    map[3].kind = TALOS_REGION_OTHER;
    expect(TALOS_ERR_MEASUREMENT, why_bad);
    /* Straddling into the rodata mapping before it. */
    map[3].kind = TALOS_REGION_DATA;
    persist_at = 0x401800;
    expect(TALOS_ERR_MEASUREMENT, "the migrated data section at 0x401000 is not writable image data");
    persist_at = 0x402800;
    /* No section: nothing to check. */
    persist_len = 0;
    map[3].prot = TALOS_PROT_R;
    why[0] = '\0';
    uint8_t m[TALOS_MEASUREMENT_BYTES];
    assert_int_equal(talos_rt_introspect(m, why, sizeof(why)), TALOS_OK);
}

static void backend_errors(void **state)
{
    char reason[200];

    (void)state;
    map_rc = TALOS_ERR_IO;
    snprintf(reason, sizeof(reason), "cannot read this TA's own mappings: %s",
             talos_strerror(TALOS_ERR_IO));
    expect(TALOS_ERR_IO, reason);
    map_rc = TALOS_OK;
    measure_rc = TALOS_ERR_IO;
    snprintf(reason, sizeof(reason), "cannot measure this TA's own code: %s",
             talos_strerror(TALOS_ERR_IO));
    expect(TALOS_ERR_IO, reason);
}

#define CHANGED "this TA's code changed since it was launched (memory introspection)"

static void code_unchanged(void **state)
{
    uint8_t now[TALOS_MEASUREMENT_BYTES], claimed[TALOS_MEASUREMENT_BYTES];

    (void)state;
    memcpy(now, launched, sizeof(now));
    memcpy(claimed, launched, sizeof(claimed));
    why[0] = '\0';
    assert_int_equal(talos_rt_code_unchanged(now, claimed, why, sizeof(why)), TALOS_OK);
    assert_string_equal(why, "");
    /* A backend without a launch measurement: the evidence's is the baseline. */
    launch_rc = TALOS_ERR_NOT_IMPLEMENTED;
    memset(launched, 0, sizeof(launched));
    assert_int_equal(talos_rt_code_unchanged(now, claimed, why, sizeof(why)), TALOS_OK);
}

static void code_changed(void **state)
{
    uint8_t now[TALOS_MEASUREMENT_BYTES], claimed[TALOS_MEASUREMENT_BYTES];

    (void)state;
    memcpy(claimed, launched, sizeof(claimed));
    /* T14: one byte of code patched after launch. */
    memcpy(now, launched, sizeof(now));
    now[5] ^= 0x01;
    snprintf(why, sizeof(why), "unchanged");
    assert_int_equal(talos_rt_code_unchanged(now, claimed, why, sizeof(why)), TALOS_ERR_MEASUREMENT);
    assert_string_equal(why, CHANGED);
    /* Now as launched, but not what the evidence claimed (the platform
     * measured something else). */
    memcpy(now, launched, sizeof(now));
    claimed[0] ^= 0x80;
    snprintf(why, sizeof(why), "unchanged");
    assert_int_equal(talos_rt_code_unchanged(now, claimed, why, sizeof(why)), TALOS_ERR_MEASUREMENT);
    assert_string_equal(why, CHANGED);
    /* Now as claimed, but not as launched (patched before the evidence). */
    memcpy(claimed, launched, sizeof(claimed));
    launched[31] ^= 0x01;
    snprintf(why, sizeof(why), "unchanged");
    assert_int_equal(talos_rt_code_unchanged(now, claimed, why, sizeof(why)), TALOS_ERR_MEASUREMENT);
    assert_string_equal(why, CHANGED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(clean_map_passes, setup),
        cmocka_unit_test_setup(writable_code, setup),
        cmocka_unit_test_setup(arena_protection, setup),
        cmocka_unit_test_setup(arena_elsewhere, setup),
        cmocka_unit_test_setup(persist_section, setup),
        cmocka_unit_test_setup(backend_errors, setup),
        cmocka_unit_test_setup(code_unchanged, setup),
        cmocka_unit_test_setup(code_changed, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
