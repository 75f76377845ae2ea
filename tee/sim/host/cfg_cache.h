/* The sim platform's CFG of each image it launches (docs/cfg.md,
 * "Identity"): built once per image file identity with the libtalos_cfg API
 * (tools/cfg stays the only user of Capstone), kept with its canonical CFG
 * file so that a migration target gets the file without extracting again.
 * Sim gives no hardware isolation: the host computes and could forge this
 * digest, exactly as it could forge the measurement. */
#ifndef TALOS_TEE_SIM_CFG_CACHE_H
#define TALOS_TEE_SIM_CFG_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "talos/talos.h"

struct sim_cfg_cache;

/* state_dir: keep each image's CFG there too (cfg_store.h, D43) and look
 * there before extracting; NULL: in memory only. Errors of
 * sim_cfg_store_open (UNSAFE_FILE, IO), NOMEM. */
int sim_cfg_cache_new(const char *state_dir, struct sim_cfg_cache **out);
void sim_cfg_cache_free(struct sim_cfg_cache *c); /* accepts NULL */

/* The CFG digest of the image at path (from memory, else from the state
 * dir, else extracted, and then kept in both) and, when file is not NULL, a
 * malloc'd copy of its canonical CFG file (*file_len bytes; the caller
 * frees it). Errors of talos_cfg_build (IO, IMAGE, NOT_IMPLEMENTED for a
 * machine without a disassembler back end, TOO_LARGE, NOMEM). */
int sim_cfg_cache_get(struct sim_cfg_cache *c, const char *path,
                      uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **file, size_t *file_len);

#endif
