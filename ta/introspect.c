/* Memory introspection (DESIGN.md "Verification"): the TA checks its own
 * address space through the backend — code mappings are not writable, the
 * state arena is mapped where it must be, the migrated data section is
 * writable image data and nothing else, and the code in memory still
 * hashes to what it was at launch. Trusted code. */
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "ta/arena.h"
#include "ta/rt.h"
#include "tee/tee.h"

#define MAX_REGIONS 512

int talos_rt_introspect(uint8_t measurement[TALOS_MEASUREMENT_BYTES], char *why, size_t cap)
{
    static struct talos_region regions[MAX_REGIONS];
    size_t n = MAX_REGIONS;
    uintptr_t base = talos_arena_base();
    size_t plen = 0;
    uintptr_t pstart = (uintptr_t)talos_rt_persist(&plen), pend = pstart + plen;
    int arena_seen = 0, rc = TALOS_OK;

    if (talos_tee_enclave.memory_map &&
        (rc = talos_tee_enclave.memory_map(regions, &n)) == TALOS_OK) {
        for (size_t i = 0; i < n; i++) {
            const struct talos_region *r = &regions[i];
            /* W^X on the image: writable code could change after any check. */
            if (r->kind == TALOS_REGION_CODE && (r->prot & TALOS_PROT_W)) {
                snprintf(why, cap, "a code mapping at 0x%llx is writable",
                         (unsigned long long)r->start);
                return TALOS_ERR_MEASUREMENT;
            }
            /* The migrated data section (TALOS_PERSIST and the gathered
             * static data of D47): image data, writable, never executable. */
            if (plen && r->start < pend && pstart < r->end &&
                (r->kind != TALOS_REGION_DATA || (r->prot & TALOS_PROT_X) ||
                 !(r->prot & TALOS_PROT_W))) {
                snprintf(why, cap, "the migrated data section at 0x%llx is not writable image data",
                         (unsigned long long)r->start);
                return TALOS_ERR_MEASUREMENT;
            }
            if (r->kind == TALOS_REGION_ARENA && r->start <= base && base < r->end) {
                arena_seen = 1;
                if ((r->prot & (TALOS_PROT_R | TALOS_PROT_W)) != (TALOS_PROT_R | TALOS_PROT_W) ||
                    (r->prot & TALOS_PROT_X)) {
                    snprintf(why, cap, "the state arena is mapped with the wrong protection");
                    return TALOS_ERR_MEASUREMENT;
                }
            }
        }
        if (!arena_seen) {
            snprintf(why, cap, "the state arena is not mapped at its address");
            return TALOS_ERR_MEASUREMENT;
        }
    } else if (rc != TALOS_OK && rc != TALOS_ERR_NOT_IMPLEMENTED) {
        snprintf(why, cap, "cannot read this TA's own mappings: %s", talos_strerror(rc));
        return rc;
    }
    if ((rc = talos_tee_enclave.measure_self(measurement)) != TALOS_OK)
        snprintf(why, cap, "cannot measure this TA's own code: %s", talos_strerror(rc));
    return rc;
}

int talos_rt_code_unchanged(const uint8_t now[TALOS_MEASUREMENT_BYTES],
                            const uint8_t claimed[TALOS_MEASUREMENT_BYTES], char *why, size_t cap)
{
    uint8_t launch[TALOS_MEASUREMENT_BYTES];
    const uint8_t *baseline = claimed;

    if (talos_tee_enclave.launch_measurement &&
        talos_tee_enclave.launch_measurement(launch) == TALOS_OK)
        baseline = launch;
    if (!talos_ct_eq(now, baseline, TALOS_MEASUREMENT_BYTES) ||
        !talos_ct_eq(now, claimed, TALOS_MEASUREMENT_BYTES)) {
        snprintf(why, cap, "this TA's code changed since it was launched (memory introspection)");
        return TALOS_ERR_MEASUREMENT;
    }
    return TALOS_OK;
}
