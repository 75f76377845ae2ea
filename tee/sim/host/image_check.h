/* The sim platform's check of an image before anything runs it (the host
 * op check_image, tee/tee.h). */
#ifndef TALOS_TEE_SIM_IMAGE_CHECK_H
#define TALOS_TEE_SIM_IMAGE_CHECK_H

#include <stddef.h>

/* Larger images are refused (TALOS_ERR_IMAGE): the node's image store takes
 * no more, and the whole file is read into memory to be checked. */
#define TALOS_SIM_IMAGE_MAX (512u << 20)

/* The bytes of the open file fd, read once with pread into private memory
 * (fd's offset unchanged), are a TA image this node can run:
 *  - a 64-bit little-endian ELF file for the machine talosd was built for;
 *  - ET_EXEC (TAs are non-PIE), without PT_INTERP or PT_DYNAMIC (static;
 *    relaxed only in sanitizer test builds, -DTALOS_SAN_DYNAMIC_TAS);
 *  - at least one PT_LOAD segment, every PT_LOAD and PT_NOTE inside the file;
 *  - the TALOS runtime note (core/abi_note.h) of TALOS_ABI_VERSION, in a
 *    PT_NOTE segment or an SHT_NOTE section.
 * Every header offset and size is hostile and checked before use.
 * TALOS_OK; TALOS_ERR_IMAGE with a one-line reason in why (cap bytes,
 * NUL-terminated; why may be NULL); TALOS_ERR_IO when fd cannot be read
 * (or changes size while read); TALOS_ERR_NOMEM; TALOS_ERR_BACKEND when
 * libelf cannot start. */
int talos_sim_check_image(int fd, char *why, size_t cap);

#endif
