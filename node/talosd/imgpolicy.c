/* The node's image policy (talosd --image-policy FILE, docs/node-security.md):
 * which images this node runs. Without a file a node runs what its
 * operator passes to `talos run` and what authenticated peer nodes send;
 * with one, only images whose measurement it lists or that carry a
 * signature by a key it lists (talos sign), whoever brings them. Every
 * image is parsed and checked by the backend first either way (images.c).
 *
 *   {"measurements": ["<64 hex>", ...], "signers": ["<64 hex Ed25519 public key>", ...]}
 *
 * (either list may be absent, not both). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/sign.h"
#include "node/talosd/node.h"

#define POLICY_MAX 1024

/* A set of measurements or of signers' Ed25519 public keys: 32 bytes each. */
#define POLICY_KEY_BYTES TALOS_MEASUREMENT_BYTES
_Static_assert(TALOS_MEASUREMENT_BYTES == TALOS_ED25519_PUB_BYTES, "one key size for both sets");

struct keyset {
    size_t n;
    uint8_t (*k)[POLICY_KEY_BYTES];
};

static struct {
    int loaded;
    struct keyset m, signers;
    char path[PATH_MAX];
} pol;

/* list (absent: empty) of 64-hex strings into set. */
static int load_set(const char *path, const char *name, json_t *list, struct keyset *set,
                    char *why, size_t cap)
{
    json_t *v = NULL;
    size_t i = 0;

    free(set->k);
    memset(set, 0, sizeof(*set));
    if (!list)
        return TALOS_OK;
    if (!json_is_array(list) || json_array_size(list) > POLICY_MAX) {
        snprintf(why, cap, "%s: \"%s\" must be an array of at most %d strings", path, name,
                 POLICY_MAX);
        return TALOS_ERR_MALFORMED;
    }
    if (!(set->k = calloc(json_array_size(list) + 1, sizeof(*set->k))))
        return TALOS_ERR_NOMEM;
    json_array_foreach(list, i, v) {
        const char *hex = json_string_value(v);
        if (!hex || strlen(hex) != 2 * POLICY_KEY_BYTES ||
            talos_unhex(hex, set->k[i], POLICY_KEY_BYTES) != TALOS_OK) {
            snprintf(why, cap, "%s: %s %zu is not 64 hex characters", path,
                     strcmp(name, "signers") == 0 ? "signer" : "measurement", i + 1);
            return TALOS_ERR_MALFORMED;
        }
    }
    set->n = json_array_size(list);
    return TALOS_OK;
}

int image_policy_load(const char *path, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *ms = NULL, *ss = NULL;
    int rc = TALOS_ERR_MALFORMED;

    if (!root) {
        snprintf(why, cap, "%s: %s (line %d)", path, jerr.text, jerr.line);
        return rc;
    }
    ms = json_object_get(root, "measurements");
    ss = json_object_get(root, "signers");
    if (!json_is_object(root) || (!ms && !ss) ||
        json_object_size(root) != (size_t)(ms != NULL) + (ss != NULL)) {
        snprintf(why, cap, "%s: wants {\"measurements\": [\"<64 hex>\", ...], \"signers\": "
                           "[\"<64 hex>\", ...]} (either or both) and nothing else", path);
        goto out;
    }
    if ((rc = load_set(path, "measurements", ms, &pol.m, why, cap)) != TALOS_OK ||
        (rc = load_set(path, "signers", ss, &pol.signers, why, cap)) != TALOS_OK)
        goto out;
    pol.loaded = 1;
    snprintf(pol.path, sizeof(pol.path), "%s", path);
out:
    json_decref(root);
    return rc;
}

int image_policy_allows(const uint8_t m[TALOS_MEASUREMENT_BYTES],
                        const uint8_t sha[TALOS_SHA256_BYTES], const uint8_t *sig,
                        const char *origin, char *why, size_t cap)
{
    char hex[2 * TALOS_MEASUREMENT_BYTES + 1];
    uint8_t msg[TALOS_IMAGE_SIG_MSG_BYTES];

    if (!pol.loaded)
        return TALOS_OK; /* the default: the operator's and authenticated peers' images */
    for (size_t i = 0; i < pol.m.n; i++)
        if (memcmp(pol.m.k[i], m, TALOS_MEASUREMENT_BYTES) == 0)
            return TALOS_OK;
    talos_image_sig_msg(sha, msg);
    for (size_t i = 0; sig && i < pol.signers.n; i++)
        if (talos_ed25519_verify(pol.signers.k[i], msg, sizeof(msg), sig) == TALOS_OK)
            return TALOS_OK;
    talos_hex(m, TALOS_MEASUREMENT_BYTES, hex);
    snprintf(why, cap, "measurement %s (from the %s) is not in the image policy %s%s", hex, origin,
             pol.path,
             !pol.signers.n ? ""
             : sig          ? ", and its signature is by no signer it lists"
                            : ", and the image carries no signature (talos sign)");
    return TALOS_ERR_POLICY;
}

int image_policy_loaded(void) { return pol.loaded; }

const char *image_policy_describe(void)
{
    static char buf[PATH_MAX + 96];
    if (!pol.loaded)
        return "default (the operator's images and authenticated peers' images)";
    snprintf(buf, sizeof(buf), "%s (%zu measurements, %zu signers)", pol.path, pol.m.n,
             pol.signers.n);
    return buf;
}
