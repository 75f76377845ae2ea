/* The TA side of state certificates (docs/state-certs.md): the lineage key
 * (made at a fresh start, carried inside the encrypted migration stream,
 * rotated by each new instance), the execution record, and the STATE_CERT
 * checkpoint. Internal to the TA runtime. Trusted code. */
#ifndef TALOS_TA_CERT_H
#define TALOS_TA_CERT_H

#include <stdint.h>

#include "core/cert.h"
#include "ta/mig.h"

/* Fresh start (epoch 0): a new lineage key and an empty execution record.
 * talos_rt.lineage must be set. */
int talos_rt_cert_genesis(void);

/* A committed ecall (dispatch, after version++): append (version, index of
 * the ecall in the TA's table) to the record. No hashing on this path: the
 * entries are folded into the record's hash chain 64 at a time and at
 * checkpoints. */
void talos_rt_exec_note(uint64_t version, uint32_t ecall);

/* STATE_CERT from the host: checkpoint (state root, chain head), sign, and
 * send the REPLY with the encoded certificate. */
int talos_rt_state_cert(void);

/* Migration (ta/mig_cert.c). S, frozen, before BEGIN: send the LINEAGE
 * record. T, before BEGIN: read the body (len bytes) of the LINEAGE record
 * whose header it read, and hold it aside until activation. Both set
 * m->reason on a refusal. */
int talos_rt_cert_send(struct mig *m);
int talos_rt_cert_recv(struct mig *m, uint32_t len);

/* What travels (the links are borrowed: valid until the next call into
 * this file); TALOS_ERR_STATE when this instance holds no key. The caller
 * wipes rec. */
int talos_rt_cert_export(struct talos_lineage_rec *rec);
/* Hold a received record aside for talos_rt_cert_adopt; takes rec->links
 * and wipes rec. */
void talos_rt_cert_import(struct talos_lineage_rec *rec);
/* T, after activation and RECEIPT (off the downtime path), whether the
 * HANDOFF came in the channel or later through its node: take the received
 * lineage key, make the key of the next epoch, certify it with the old one,
 * wipe the old one. Nothing when no received key waits. */
void talos_rt_cert_adopt(void);

/* Wipe every key and the record (retire, FAILED, exit). */
void talos_rt_cert_wipe(void);

#endif
