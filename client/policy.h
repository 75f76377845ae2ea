/* The client library's own view of a policy (include/talos/client.h keeps
 * it opaque): what client/verify.c checks a TA's evidence against, and what
 * a session copies at open. Untrusted-host code: it runs on the relying
 * party's machine and trusts nothing from a node. */
#ifndef TALOS_CLIENT_POLICY_H
#define TALOS_CLIENT_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "talos/client.h"

#define TALOS_POLICY_SET_MAX 256      /* allowed measurements, and CFG digests */
#define TALOS_POLICY_ANCHORS_MAX (1u << 20)

struct talos_policy {
    uint8_t (*meas)[TALOS_MEASUREMENT_BYTES];
    size_t n_meas;
    uint8_t (*cfg)[TALOS_CFG_DIGEST_BYTES];
    size_t n_cfg;
    unsigned flags;    /* TALOS_VERIFY_ALLOW_* */
    uint8_t *anchors;  /* PEM; NULL: the default backend's, resolved by talos_policy_resolve */
    size_t anchors_len;
};

/* A deep copy of p in *out: TALOS_OK or NOMEM. */
int talos_policy_dup(const struct talos_policy *p, struct talos_policy **out);

/* Give p anchors when it has none: the default backend's file
 * (talos_default_anchors). TALOS_OK, or the failure with a reason in why. */
int talos_policy_resolve(struct talos_policy *p, char *why, size_t cap);

/* Read at most max bytes of the file at path into *buf (malloc'd, one NUL
 * after them); TALOS_OK, IO, TOO_LARGE or NOMEM with a reason in why. */
int talos_policy_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, char *why,
                           size_t cap);

#endif
