/* TALOS — the few definitions every public header and every layer share.
 *
 * Defined here once, so that the host API (talos.h), the TA API (ta.h), the
 * error vocabulary (err.h) and internal headers cannot drift apart.
 */
#ifndef TALOS_COMMON_H
#define TALOS_COMMON_H

/* The release, as `talosd --version` and `talos --version` print it and the
 * control API's "node" answer carries it. */
#define TALOS_VERSION_STRING "0.1.0"

/* Marks the functions of the public API; everything else is built with
 * -fvisibility=hidden. */
#define TALOS_EXPORT __attribute__((visibility("default")))

/* On every function whose result says whether it failed: a caller that
 * drops it does not compile (-Werror). */
#define TALOS_MUST_CHECK __attribute__((warn_unused_result))

/* Bytes of a CFG digest (docs/cfg.md): in verified claims, in evidence, in
 * state certificates and in the CFG file's trailer. */
#define TALOS_CFG_DIGEST_BYTES 32

/* Bytes of a SHA-256 digest: talos_sha256's output (talos/ta.h and
 * core/crypto.h), an image file's hash, a node's id. */
#define TALOS_SHA256_BYTES 32

#endif
