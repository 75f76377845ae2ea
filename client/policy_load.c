/* A policy file (include/talos/client.h): JSON, strict. A field this
 * version does not know is refused, not ignored: a misspelt constraint
 * ("cfg_digest" for "cfg_digests") must not leave a policy silently weaker
 * than its author wrote. */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/policy.h"
#include "core/crypto.h"

#define POLICY_FILE_MAX (256u << 10)

/* Every string of array `key` (64 hex characters each) added with add. */
static int load_set(struct talos_policy *p, const json_t *doc, const char *key, int required,
                    int (*add)(struct talos_policy *, const uint8_t *), char *why, size_t cap)
{
    const json_t *arr = json_object_get(doc, key), *v = NULL;
    uint8_t d[32];
    size_t i = 0;

    if (!arr) {
        if (required)
            snprintf(why, cap, "\"%s\" is missing", key);
        return required ? TALOS_ERR_MALFORMED : TALOS_OK;
    }
    if (!json_is_array(arr) || (required && json_array_size(arr) == 0)) {
        snprintf(why, cap, "\"%s\" must be a%s array of 64-hex-digit strings", key,
                 required ? " non-empty" : "n");
        return TALOS_ERR_MALFORMED;
    }
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != 64 || talos_unhex(s, d, sizeof(d)) != TALOS_OK) {
            snprintf(why, cap, "\"%s\"[%zu] is not 64 hex digits", key, i);
            return TALOS_ERR_MALFORMED;
        }
        int rc = add(p, d);
        if (rc != TALOS_OK) {
            snprintf(why, cap, "\"%s\": %s", key,
                     rc == TALOS_ERR_TOO_LARGE ? "too many entries" : "out of memory");
            return rc;
        }
    }
    return TALOS_OK;
}

static int add_meas(struct talos_policy *p, const uint8_t *d)
{
    return talos_policy_allow_measurement(p, d);
}

static int add_cfg(struct talos_policy *p, const uint8_t *d)
{
    return talos_policy_allow_cfg_digest(p, d);
}

static int load_flag(const json_t *doc, const char *key, unsigned bit, unsigned *flags, char *why,
                     size_t cap)
{
    const json_t *v = json_object_get(doc, key);
    if (!v)
        return TALOS_OK;
    if (!json_is_boolean(v)) {
        snprintf(why, cap, "\"%s\" must be true or false", key);
        return TALOS_ERR_MALFORMED;
    }
    if (json_is_true(v))
        *flags |= bit;
    return TALOS_OK;
}

/* The anchors file, relative to the policy file's folder unless absolute. */
static int load_anchors(struct talos_policy *p, const json_t *doc, const char *policy_path,
                        char *why, size_t cap)
{
    const json_t *v = json_object_get(doc, "anchors");
    char dir[PATH_MAX], path[PATH_MAX];
    uint8_t *pem = NULL;
    size_t len = 0;
    int rc = TALOS_OK;

    if (!v)
        return TALOS_OK;
    const char *s = json_string_value(v);
    if (!s || s[0] == '\0') {
        snprintf(why, cap, "\"anchors\" must be a file name");
        return TALOS_ERR_MALFORMED;
    }
    snprintf(dir, sizeof(dir), "%s", policy_path);
    if ((size_t)snprintf(path, sizeof(path), "%s%s%s", s[0] == '/' ? "" : dirname(dir),
                         s[0] == '/' ? "" : "/", s) >= sizeof(path)) {
        snprintf(why, cap, "\"anchors\": path too long");
        return TALOS_ERR_TOO_LARGE;
    }
    rc = talos_policy_read_file(path, TALOS_POLICY_ANCHORS_MAX, &pem, &len, why, cap);
    if (rc == TALOS_OK && len == 0) {
        snprintf(why, cap, "anchors %.150s: empty file", path);
        rc = TALOS_ERR_MALFORMED;
    }
    if (rc == TALOS_OK && (rc = talos_policy_set_anchors(p, pem, len)) != TALOS_OK)
        snprintf(why, cap, "anchors %.150s: cannot keep them", path);
    free(pem);
    return rc;
}

static const char *const known[] = {"measurements", "cfg_digests", "allow_sim", "allow_debug",
                                    "anchors"};

static int check_keys(const json_t *doc, char *why, size_t cap)
{
    const char *key = NULL;
    const json_t *v = NULL;

    json_object_foreach((json_t *)doc, key, v) {
        size_t i = 0;
        while (i < sizeof(known) / sizeof(known[0]) && strcmp(key, known[i]) != 0)
            i++;
        if (i == sizeof(known) / sizeof(known[0])) {
            char shown[64];
            size_t k = 0;
            for (; key[k] && k < sizeof(shown) - 1; k++) /* printable only: it goes to a terminal */
                shown[k] = key[k] >= 0x20 && key[k] < 0x7f ? key[k] : '?';
            shown[k] = '\0';
            snprintf(why, cap, "unknown field \"%s\"", shown);
            return TALOS_ERR_MALFORMED;
        }
    }
    return TALOS_OK;
}

int talos_policy_load(const char *path, struct talos_policy **out, char *why, size_t cap)
{
    char scratch[256] = "", inner[200] = "";
    struct talos_policy *p = NULL;
    json_error_t jerr;
    json_t *doc = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    unsigned flags = 0;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!why || cap == 0) {
        why = scratch;
        cap = sizeof(scratch);
    }
    why[0] = '\0';
    if (!out || !path) {
        snprintf(why, cap, "no policy file");
        return rc;
    }
    *out = NULL;
    if ((rc = talos_policy_read_file(path, POLICY_FILE_MAX, &text, &len, inner, sizeof(inner))) !=
        TALOS_OK)
        goto out;
    if (!(doc = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr)) ||
        !json_is_object(doc)) {
        snprintf(inner, sizeof(inner), "not a JSON object%s%.100s", doc ? "" : ": ",
                 doc ? "" : jerr.text);
        rc = TALOS_ERR_MALFORMED;
        goto out;
    }
    if ((rc = talos_policy_new(&p)) != TALOS_OK) {
        snprintf(inner, sizeof(inner), "out of memory");
        goto out;
    }
    if ((rc = check_keys(doc, inner, sizeof(inner))) != TALOS_OK ||
        (rc = load_set(p, doc, "measurements", 1, add_meas, inner, sizeof(inner))) != TALOS_OK ||
        (rc = load_set(p, doc, "cfg_digests", 0, add_cfg, inner, sizeof(inner))) != TALOS_OK ||
        (rc = load_flag(doc, "allow_sim", TALOS_VERIFY_ALLOW_SIM, &flags, inner, sizeof(inner))) !=
            TALOS_OK ||
        (rc = load_flag(doc, "allow_debug", TALOS_VERIFY_ALLOW_DEBUG, &flags, inner,
                        sizeof(inner))) != TALOS_OK ||
        (rc = load_anchors(p, doc, path, inner, sizeof(inner))) != TALOS_OK)
        goto out;
    talos_policy_set_flags(p, flags);
    *out = p;
    p = NULL;
out:
    if (rc != TALOS_OK)
        snprintf(why, cap, "policy %s: %s", path, inner);
    talos_policy_free(p);
    json_decref(doc);
    free(text);
    return rc;
}
