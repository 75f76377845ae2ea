/* A TA's session certificate, RA-TLS style (docs/sessions.md): a
 * self-signed X.509 certificate for the TA's TLS key that carries the
 * platform's evidence in an extension under the TCG DICE
 * tagged-evidence OID, as RA-TLS implementations do. Nothing trusts the
 * certificate's signature or names; a client trusts the evidence (it
 * verifies against its own anchors and policy) and the evidence's report
 * data binds the certificate's key (core/migcheck.h's binding, role 'C').
 *
 * The extension's value is an OCTET STRING holding the backend's evidence
 * bytes as they are (not the CBOR-tagged form of the TCG specification:
 * TALOS evidence names its backend itself). Non-critical.
 * Trusted code: made in the TA, parsed by the client library. */
#ifndef TALOS_CORE_RATLS_H
#define TALOS_CORE_RATLS_H

#include <stddef.h>
#include <stdint.h>

#define TALOS_RATLS_OID "2.23.133.5.4.9" /* tcg-dice-TaggedEvidence */

struct evp_pkey_st;
struct x509_st;

/* A self-signed certificate for `key` (Ed25519) with the evidence
 * extension; valid from an hour ago for 30 days (validity is not
 * checked: the evidence is what is trusted). NULL on failure. */
struct x509_st *talos_ratls_cert(struct evp_pkey_st *key, const uint8_t *ev, size_t ev_len);

/* The evidence a certificate carries: TALOS_OK with *len bytes copied to
 * ev (cap bytes of room); MALFORMED when there is no such extension, more
 * than one, or its value is empty; TOO_LARGE when it does not fit. */
int talos_ratls_evidence(const struct x509_st *cert, uint8_t *ev, size_t cap, size_t *len);

#endif
