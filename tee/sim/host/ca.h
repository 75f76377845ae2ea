/* The local "sim CA" and a node's sim platform identity.
 *
 * CA directory (the backend option sim.ca, else talos_sim_ca_default()),
 * created 0700 (parents 0755) when missing:
 *   ca.key   Ed25519 private key, PEM, 0600
 *   ca.pem   self-signed X.509 v3 CA certificate, 10 years, 0644
 *   .lock    flock'ed while the CA is created or read, so two nodes starting
 *            at once create exactly one CA
 * Node state directory (created 0700 when missing; talosd creates it first):
 *   platform.key     Ed25519 platform key, PEM, 0600
 *   platform.pem     its certificate, issued by the CA, 0644 (re-issued, with
 *                    a warning, when it was issued by another CA or expired)
 *   platform.secret  32 random bytes, 0600: the root of every seal key
 *   platform.lock    flock'ed while the identity is loaded or created
 * Both directories and every file are opened through os/sdir: a directory or
 * file owned by another user, writable by group or others, or a symlink, and
 * a key or secret with any group/other permission, is refused
 * (TALOS_ERR_UNSAFE_FILE, logged with the file's path); so is any such entry
 * of the CA directory (docs/state-dir.md). Missing files are created; present
 * but unreadable or inconsistent key, certificate or secret files are refused
 * (TALOS_ERR_BACKEND), never silently replaced: replacing the secret would
 * change every seal key.
 *
 * Simulation only: the CA key sits on the same disk as the node. It stands in
 * for a vendor's certificate chain and gives no hardware isolation.
 */
#ifndef TALOS_TEE_SIM_CA_H
#define TALOS_TEE_SIM_CA_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "talos/talos.h"

#define TALOS_SIM_SECRET_BYTES 32

/* The sim CA directory when the node names none (option sim.ca):
 * $TALOS_SIM_CA, else $HOME/.local/state/talos/sim-ca (HOME from the
 * password database when unset). NULL when neither can be found. The
 * string is static or the environment's. */
const char *talos_sim_ca_default(void);

struct talos_sim_identity {
    EVP_PKEY *key;              /* platform Ed25519 private key */
    uint8_t *cert_der;          /* platform certificate, DER */
    size_t cert_der_len;
    uint8_t *ca_pem;            /* the CA certificate (ca.pem bytes): trust anchor */
    size_t ca_pem_len;
    uint8_t platform_id[TALOS_PLATFORM_ID_BYTES]; /* SHA-256 of the raw platform public key */
    uint8_t secret[TALOS_SIM_SECRET_BYTES];
};

/* Load or create the CA in ca_dir and the platform identity in state_dir
 * (each created when missing). On failure *id is empty. Errors:
 * TALOS_ERR_INVALID_ARG, TALOS_ERR_IO, TALOS_ERR_UNSAFE_FILE (a directory
 * or file another user could control: see above), TALOS_ERR_BACKEND
 * (corrupt or inconsistent files), TALOS_ERR_CRYPTO, TALOS_ERR_NOMEM. */
int talos_sim_identity_open(const char *state_dir, const char *ca_dir,
                            struct talos_sim_identity *id);

/* Wipe the secret, free keys and buffers; safe on an empty identity. */
void talos_sim_identity_close(struct talos_sim_identity *id);

#endif
