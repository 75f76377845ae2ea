/* The state heap: the arena behind one lock (ta/heap.c, D47). talos_alloc,
 * talos_free, talos_realloc and talos_usable_size, and the wrapped malloc
 * family of a TA's state objects, all go through it. Internal to ta/. */
#ifndef TALOS_TA_HEAP_H
#define TALOS_TA_HEAP_H

#include <stddef.h>

void *talos_heap_alloc(size_t n);
void talos_heap_free(void *p);
void *talos_heap_realloc(void *p, size_t n);
size_t talos_heap_size(const void *p);

#endif
