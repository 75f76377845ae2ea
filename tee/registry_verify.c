/* Evidence verifiers by the backend name found in the evidence envelope.
 * Adding a backend adds one row. */
#include <string.h>

#include "tee/sim/verify/evidence.h"
#include "tee/tee.h"

/* Defined in tee/skeleton/verify/evidence.c (the sim row is in tee/sim/verify/evidence.h). */
extern const struct talos_tee_verifier talos_tee_skeleton_verifier;

static const struct talos_tee_verifier *const verifiers[] = {
    &talos_tee_sim_verifier,
    &talos_tee_skeleton_verifier,
};

const struct talos_tee_verifier *talos_tee_verifier_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(verifiers) / sizeof(verifiers[0]); i++)
        if (strcmp(verifiers[i]->name, name) == 0)
            return verifiers[i];
    return NULL;
}

void talos_tee_verifiers_warm(const uint8_t *anchors_pem, size_t anchors_len)
{
    for (size_t i = 0; i < sizeof(verifiers) / sizeof(verifiers[0]); i++)
        if (verifiers[i]->warm)
            verifiers[i]->warm(anchors_pem, anchors_len);
}
