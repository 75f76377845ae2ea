/* The node's image policy (talosd --image-policy FILE, docs/node-security.md):
 * which measurements this node runs. Without a file a node runs what its
 * operator passes to `talos run` and what authenticated peer nodes send;
 * with one, only the measurements it lists, whoever brings the image. Every
 * image is parsed and checked by the backend first either way (images.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "node/talosd/node.h"

#define POLICY_MAX 1024

static struct {
    int loaded;
    size_t n;
    uint8_t (*m)[TALOS_MEASUREMENT_BYTES];
    char path[PATH_MAX];
} pol;

int image_policy_load(const char *path, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *list = NULL, *v = NULL;
    size_t i = 0;
    int rc = TALOS_ERR_MALFORMED;

    if (!root) {
        snprintf(why, cap, "%s: %s (line %d)", path, jerr.text, jerr.line);
        return rc;
    }
    list = json_object_get(root, "measurements");
    if (!json_is_object(root) || !json_is_array(list) || json_object_size(root) != 1) {
        snprintf(why, cap, "%s: wants {\"measurements\": [\"<64 hex>\", ...]} and nothing else", path);
        goto out;
    }
    if (json_array_size(list) > POLICY_MAX) {
        snprintf(why, cap, "%s: at most %d measurements", path, POLICY_MAX);
        goto out;
    }
    free(pol.m);
    pol.n = 0;
    if (!(pol.m = calloc(json_array_size(list) + 1, sizeof(*pol.m)))) {
        rc = TALOS_ERR_NOMEM;
        goto out;
    }
    json_array_foreach(list, i, v) {
        const char *hex = json_string_value(v);
        if (!hex || strlen(hex) != 2 * TALOS_MEASUREMENT_BYTES ||
            talos_unhex(hex, pol.m[i], TALOS_MEASUREMENT_BYTES) != TALOS_OK) {
            snprintf(why, cap, "%s: measurement %zu is not 64 hex characters", path, i + 1);
            goto out;
        }
    }
    pol.n = json_array_size(list);
    pol.loaded = 1;
    snprintf(pol.path, sizeof(pol.path), "%s", path);
    rc = TALOS_OK;
out:
    json_decref(root);
    return rc;
}

int image_policy_allows(const uint8_t m[TALOS_MEASUREMENT_BYTES], const char *origin, char *why,
                        size_t cap)
{
    char hex[2 * TALOS_MEASUREMENT_BYTES + 1];

    if (!pol.loaded)
        return TALOS_OK; /* the default: the operator's and authenticated peers' images */
    for (size_t i = 0; i < pol.n; i++)
        if (memcmp(pol.m[i], m, TALOS_MEASUREMENT_BYTES) == 0)
            return TALOS_OK;
    talos_hex(m, TALOS_MEASUREMENT_BYTES, hex);
    snprintf(why, cap, "measurement %s (from the %s) is not in the image policy %s", hex, origin,
             pol.path);
    return TALOS_ERR_POLICY;
}

const char *image_policy_describe(void)
{
    static char buf[PATH_MAX + 64];
    if (!pol.loaded)
        return "default (the operator's images and authenticated peers' images)";
    snprintf(buf, sizeof(buf), "%s (%zu measurements)", pol.path, pol.n);
    return buf;
}
