/* The sim platform's CFG files kept in the node's state dir (D43,
 * docs/state-dir.md): STATE/cfg/<sha256 of the image file>.cfg, so that a
 * restarted node loads the CFG of an image it has seen before instead of
 * extracting it again (~0.3 s for kvstore.ta).
 *
 * A kept file is the platform's own (os/sdir rules: 0700 directory,
 * O_NOFOLLOW, owner and mode checks, atomic replace), but it is read as
 * hostile all the same: a damaged, truncated, foreign or outdated file is
 * never used; the caller extracts again and replaces it.
 *
 * File (big-endian):
 *   "TALOSCFC" u8 version=1 u8 n + n bytes extractor tag
 *   [32] SHA-256 of the image file  [32] CFG digest  canonical CFG file
 * It is used only when the magic, version and extractor tag are this
 * build's, the image hash is the one asked for, the CFG file parses
 * (talos_cfg_parse: every rule, canonical, trailer) and the digest it
 * yields equals the one kept (constant time). */
#ifndef TALOS_TEE_SIM_CFG_STORE_H
#define TALOS_TEE_SIM_CFG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "talos/talos.h"

struct sim_cfg_store;

/* Open (creating it 0700) state_dir/cfg and check it and its entries
 * (os/sdir). TALOS_ERR_UNSAFE_FILE (the reason is logged), TALOS_ERR_IO,
 * TALOS_ERR_NOMEM, TALOS_ERR_INVALID_ARG. */
int sim_cfg_store_open(const char *state_dir, struct sim_cfg_store **out);
void sim_cfg_store_close(struct sim_cfg_store *s); /* accepts NULL */

/* The kept CFG of the image whose file hashes to image_sha: its digest and
 * a malloc'd copy of the canonical CFG file (*file_len bytes; the caller
 * frees it). TALOS_OK; TALOS_ERR_NOT_FOUND when none is kept;
 * TALOS_ERR_MALFORMED when the kept file fails a check above (one line in
 * why, cap bytes); TALOS_ERR_UNSAFE_FILE, TALOS_ERR_IO, TALOS_ERR_TOO_LARGE
 * from reading it (os/sdir, reason in why); TALOS_ERR_NOMEM. */
int sim_cfg_store_load(struct sim_cfg_store *s, const uint8_t image_sha[TALOS_SHA256_BYTES],
                       uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **file, size_t *file_len,
                       char *why, size_t cap);

/* Keep the CFG (digest, canonical file) of that image, replacing any kept
 * one atomically (mode 0444). TALOS_ERR_IO (reason in why), TALOS_ERR_NOMEM,
 * TALOS_ERR_INVALID_ARG. */
int sim_cfg_store_save(struct sim_cfg_store *s, const uint8_t image_sha[TALOS_SHA256_BYTES],
                       const uint8_t digest[TALOS_CFG_DIGEST_BYTES], const uint8_t *file,
                       size_t file_len, char *why, size_t cap);

/* The path of that image's kept file, for messages. */
void sim_cfg_store_path(const struct sim_cfg_store *s, const uint8_t image_sha[TALOS_SHA256_BYTES],
                        char *out, size_t cap);

/* SHA-256 of the file open at fd (pread from 0; the offset is left alone).
 * TALOS_ERR_IO, TALOS_ERR_NOMEM. */
int sim_cfg_store_hash_fd(int fd, uint8_t sha[TALOS_SHA256_BYTES]);

#endif
