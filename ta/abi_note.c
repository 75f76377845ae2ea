/* The TALOS runtime note (core/abi_note.h): marks this image as a TA built
 * against TALOS_ABI_VERSION. A platform refuses to start an image without
 * it. `used` keeps the compiler from dropping it; ta/entry.c refers to it so
 * that the linker takes this object out of libtalos_ta.a. */
#include "core/abi_note.h"

__attribute__((used, section(".note.talos"), aligned(4)))
const struct talos_abi_note talos_abi_note = {
    .namesz = sizeof(TALOS_ABI_NOTE_NAME),
    .descsz = sizeof(uint32_t),
    .type = TALOS_ABI_NOTE_TYPE,
    .name = TALOS_ABI_NOTE_NAME,
    .version = TALOS_ABI_VERSION,
};
