/* The TALOS runtime note: an ELF note every TA image carries (ta/abi_note.c)
 * so that a platform can tell a TA image from any other executable before it
 * starts one (the host op check_image in tee/tee.h).
 *
 * Layout (ELF note, 4-byte aligned, little-endian as every TA image):
 *   namesz = 6, descsz = 4, type = TALOS_ABI_NOTE_TYPE,
 *   name = "TALOS\0" padded to 8 bytes, desc = u32 TALOS_ABI_VERSION.
 * In section .note.talos (SHT_NOTE), within a PT_NOTE segment. */
#ifndef TALOS_CORE_ABI_NOTE_H
#define TALOS_CORE_ABI_NOTE_H

#include <stdint.h>

#define TALOS_ABI_NOTE_NAME "TALOS"
#define TALOS_ABI_NOTE_TYPE 1u
/* The ABI between the runtime in a TA image and the node that starts it
 * (launch fds, frames, the INIT handshake). A node refuses other versions. */
#define TALOS_ABI_VERSION 2u /* 2: the START_FAILED and PREFAULT frames (D38, D40) */

struct talos_abi_note {
    uint32_t namesz;
    uint32_t descsz;
    uint32_t type;
    char name[8];
    uint32_t version;
};

#endif
