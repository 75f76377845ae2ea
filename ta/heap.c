/* The state heap (issue #16, D47): malloc and its family, as the TA's own
 * code and the static libraries its image names call them, served from the
 * state arena, so that what they allocate migrates and keeps its address.
 *
 * Which calls land here is decided at link time, not at run time: the
 * image's state objects (the TA's own and the libraries it names) are first
 * linked together with `ld -r --wrap=malloc ...` (Makefile, ta_link_state;
 * docs/ta-sdk.md), which turns their calls to malloc into calls to
 * __wrap_malloc, defined here. Everything else in the process — this
 * runtime, OpenSSL, libc itself — keeps glibc's malloc: the second heap,
 * never migrated, used before a restore and by every helper thread.
 *
 * free, realloc and malloc_usable_size go by address: a block in the arena
 * is the arena's, anything else came from glibc (a string libc's strdup
 * made for the TA, say) and goes back there — it does not migrate, which
 * docs/ta-sdk.md says. Alignments above 16 bytes and page-aligned blocks
 * are refused (NULL, ENOMEM, logged once) rather than served from a heap
 * that would not move.
 *
 * Thread-safe: one mutex around the arena (TA code runs on the serving
 * thread; the runtime's helpers only read pages). Trusted code. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ta/arena.h"
#include "ta/heap.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void *talos_heap_alloc(size_t n)
{
    pthread_mutex_lock(&lock);
    void *p = talos_arena_alloc(n);
    pthread_mutex_unlock(&lock);
    return p;
}

void talos_heap_free(void *p)
{
    pthread_mutex_lock(&lock);
    talos_arena_free(p);
    pthread_mutex_unlock(&lock);
}

void *talos_heap_realloc(void *p, size_t n)
{
    pthread_mutex_lock(&lock);
    void *q = talos_arena_realloc(p, n);
    pthread_mutex_unlock(&lock);
    return q;
}

size_t talos_heap_size(const void *p)
{
    pthread_mutex_lock(&lock);
    size_t n = talos_arena_size(p);
    pthread_mutex_unlock(&lock);
    return n;
}

static void *nomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* An alignment the arena cannot give (it aligns to 16): refused, said once. */
static void *unaligned(size_t align)
{
    static atomic_int said;

    if (!atomic_exchange(&said, 1))
        TLOG_WARN("the state heap serves alignments up to 16 bytes; a request for %zu was "
                  "refused (ENOMEM)", align);
    return nomem();
}

/* The wrapped family: the names are GNU ld's --wrap convention. */
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_reallocarray(void *p, size_t k, size_t n);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **out, size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
void *__wrap_memalign(size_t align, size_t n);
void *__wrap_valloc(size_t n);
void *__wrap_pvalloc(size_t n);
size_t __wrap_malloc_usable_size(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n)
{
    /* malloc(0) gives a unique pointer, as glibc's does. */
    void *p = talos_heap_alloc(n ? n : 1);
    return p ? p : nomem();
}

void *__wrap_calloc(size_t k, size_t n)
{
    size_t total = 0;

    if (__builtin_mul_overflow(k, n, &total))
        return nomem();
    return __wrap_malloc(total); /* arena blocks are zeroed */
}

void *__wrap_realloc(void *p, size_t n)
{
    if (p && !talos_arena_contains(p))
        return realloc(p, n); /* glibc's block stays glibc's */
    if (!p)
        return __wrap_malloc(n);
    void *q = talos_heap_realloc(p, n);
    return q || n == 0 ? q : nomem();
}

void *__wrap_reallocarray(void *p, size_t k, size_t n)
{
    size_t total = 0;

    if (__builtin_mul_overflow(k, n, &total))
        return nomem();
    return __wrap_realloc(p, total);
}

void __wrap_free(void *p)
{
    if (!p)
        return;
    if (talos_arena_contains(p))
        talos_heap_free(p);
    else
        free(p);
}

static int align_ok(size_t align)
{
    return align && (align & (align - 1)) == 0;
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
    if (!align_ok(align) || align % sizeof(void *) != 0)
        return EINVAL;
    if (align > 16) {
        (void)unaligned(align);
        return ENOMEM;
    }
    *out = __wrap_malloc(n);
    return *out ? 0 : ENOMEM;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    if (!align_ok(align)) {
        errno = EINVAL;
        return NULL;
    }
    return align > 16 ? unaligned(align) : __wrap_malloc(n);
}

void *__wrap_memalign(size_t align, size_t n)
{
    return __wrap_aligned_alloc(align, n);
}

void *__wrap_valloc(size_t n)
{
    (void)n;
    return unaligned(4096);
}

void *__wrap_pvalloc(size_t n)
{
    (void)n;
    return unaligned(4096);
}

size_t __wrap_malloc_usable_size(void *p)
{
    if (p && !talos_arena_contains(p))
        return malloc_usable_size(p);
    return talos_heap_size(p);
}

char *__wrap_strdup(const char *s)
{
    return __wrap_strndup(s, SIZE_MAX);
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = __wrap_malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}
