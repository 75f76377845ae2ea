/* The JSON file of a state certificate (docs/state-certs.md): every field
 * of the certificate for people and scripts, plus "cert", the encoded
 * certificate whose bytes are what was signed. talos verify decodes "cert"
 * and refuses a file whose other fields say anything else. */
#ifndef TALOS_CLI_CERT_JSON_H
#define TALOS_CLI_CERT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cert.h"

/* A new object, or NULL when out of memory. */
json_t *cli_cert_json(const struct talos_cert *c, const uint8_t *enc, size_t enc_len);

#endif
