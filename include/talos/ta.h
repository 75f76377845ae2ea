/* TALOS — the API a trusted application (TA) is written against.
 *
 * A TA is a C program linked with the TALOS TA runtime (libtalos_ta). It has
 * no main(): it declares a table of ecalls and an init hook with
 * TALOS_TA_DEFINE, and the runtime runs it inside the TEE the node chose.
 *
 * State model. Everything that must survive a migration lives either in the
 * state arena (talos_alloc/talos_free, reached from talos_state_root()) or
 * in globals marked TALOS_PERSIST. The arena sits at the same virtual address
 * on every node, so pointers inside it stay valid after a migration. Any
 * other memory (stack, ordinary globals, malloc) is lost when the TA moves;
 * a TA that holds what cannot move at all (a descriptor it opened, a thread
 * it started, memory it mapped itself) is refused migration with
 * TALOS_ERR_UNMOVABLE and keeps serving where it is (docs/ta-sdk.md).
 *
 * Transactions. Each ecall is one transaction: when the handler returns
 * TALOS_OK the runtime commits and the TA's version grows by one. A handler
 * that returns an error must leave the state as it found it; the version
 * does not change.
 *
 * Threads. Ecalls of one TA run one at a time, on the runtime's thread.
 */
#ifndef TALOS_TA_H
#define TALOS_TA_H

#include <stddef.h>
#include <stdint.h>

#include "talos/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed address and reserved size of the state arena: the same on x86-64,
 * AArch64 and RISC-V 64 (below the 256 GiB Sv39 user limit). */
#ifndef TALOS_ARENA_BASE
#define TALOS_ARENA_BASE 0x1000000000ULL /* 64 GiB; sanitizer builds override it */
#endif
#define TALOS_ARENA_MAX (8ULL << 30)     /* 8 GiB reserved, committed as used */

/* Limits of one ecall, enforced by the runtime before a handler runs. */
#define TALOS_MAX_ARGS 16
#define TALOS_MAX_ARG_BYTES (1u << 20)  /* one argument */
#define TALOS_MAX_OUT_BYTES (4u << 20)  /* one ecall's output */
#define TALOS_NAME_MAX 64               /* ecall and ocall names, bytes */

/* Mark a global whose value must survive migration:
 *     static uint64_t counter TALOS_PERSIST;
 * It is placed in the talos_persist section, which the runtime moves whole. */
#define TALOS_PERSIST __attribute__((section("talos_persist"), used, aligned(16)))

/* One ecall argument: a private, NUL-terminated copy of the caller's bytes.
 * `len` excludes the terminating NUL. The argument may contain NUL bytes. */
struct talos_arg {
    const char *ptr;
    size_t len;
};

/* Output sink of one ecall (opaque; write with talos_out_*). */
struct talos_out;

/* Ecall handler. argc is within the ecall's [min_args, max_args]; every
 * argument is at most max_arg_len bytes. Return TALOS_OK to commit, or a
 * negative talos_err (state unchanged) — e.g. TALOS_ERR_NOT_FOUND. */
typedef int (*talos_ecall_fn)(int argc, const struct talos_arg *argv, struct talos_out *out);

/* One row of a TA's ecall table. The runtime checks the shape before the
 * handler runs and answers TALOS_ERR_BAD_ARGS otherwise. */
struct talos_ecall {
    const char *name;      /* unique in the table, 1..TALOS_NAME_MAX-1 bytes */
    talos_ecall_fn fn;
    uint8_t min_args;
    uint8_t max_args;      /* <= TALOS_MAX_ARGS */
    uint32_t max_arg_len;  /* bytes, <= TALOS_MAX_ARG_BYTES */
    const char *usage;     /* e.g. "KEY VALUE", shown by tools; may be NULL */
};

/* Called once when a new lineage starts (never on restore after migration):
 * allocate the root object and set it with talos_set_state_root(). */
typedef int (*talos_init_fn)(void);

/* Why a restore hook runs (docs/ta-sdk.md, D45). */
enum talos_restore_reason {
    /* On a migration's target, after the state arrived and was verified,
     * before the target answers PREPARED and before any call is served. */
    TALOS_RESTORE_MIGRATED = 1,
    /* Reserved for recovery from a durable checkpoint (issue #18): not
     * produced by this runtime yet. */
    TALOS_RESTORE_RECOVERED = 2,
};

/* Optional: called once on every new home of a lineage, before its first
 * call, to rebuild what does not migrate (process-local caches, handles,
 * anything derived from the old process). It may read and write the
 * migrated state (arena, TALOS_PERSIST); talos_version() is the version the
 * lineage arrived with; ocalls are not available (TALOS_ERR_STATE). Return
 * TALOS_OK, or a negative talos_err to refuse the new home: the migration
 * then fails with TALOS_ERR_RESTORE_HOOK, the target ends, and the source
 * serves on, unchanged. A hook that ran commits like an ecall: the lineage
 * serves from the arrival version + 1 (its writes are on the chain). */
typedef int (*talos_restore_fn)(enum talos_restore_reason why);

struct talos_ta_desc {
    const char *name;
    const struct talos_ecall *ecalls;
    size_t n_ecalls;
    talos_init_fn init;
    talos_restore_fn restore; /* may be NULL (TALOS_TA_DEFINE leaves it so) */
};

/* Declare the TA. Exactly one per TA image. */
#define TALOS_TA_DEFINE(ta_name, table, init_fn)                                 \
    TALOS_TA_DEFINE_RESTORE(ta_name, table, init_fn, NULL)

/* The same, with a restore hook (talos_restore_fn, may be NULL). */
#define TALOS_TA_DEFINE_RESTORE(ta_name, table, init_fn, restore_fn)             \
    const struct talos_ta_desc talos_ta_desc = {                                 \
        .name = (ta_name),                                                       \
        .ecalls = (table),                                                       \
        .n_ecalls = sizeof(table) / sizeof((table)[0]),                          \
        .init = (init_fn),                                                       \
        .restore = (restore_fn),                                                 \
    }

/* --- output ---------------------------------------------------------------- */

/* Append n bytes to the ecall's output. TALOS_ERR_TOO_LARGE when the total
 * would exceed TALOS_MAX_OUT_BYTES (nothing is appended then). */
TALOS_MUST_CHECK int talos_out_write(struct talos_out *out, const void *p, size_t n);

/* printf-style append; same limits as talos_out_write. */
TALOS_MUST_CHECK int talos_out_printf(struct talos_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Attach a one-line reason to a failing ecall (shown to the caller beside
 * the error code). It must not contain secrets: it leaves the TA. */
void talos_out_reason(struct talos_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- state arena ----------------------------------------------------------- */

/* Allocate n bytes (16-byte aligned) in the state arena; NULL when n is 0 or
 * the arena is full. Memory is zeroed. */
void *talos_alloc(size_t n);

/* Release a block from talos_alloc (NULL is ignored). Freeing anything else
 * aborts the TA: it is a TA bug that would corrupt migrated state. */
void talos_free(void *p);

/* Resize a block from talos_alloc to n bytes, keeping its first bytes (the
 * rest is zeroed); in place when it can. NULL when the arena is full (p is
 * then untouched); p NULL acts as talos_alloc, n 0 as talos_free. Anything
 * but a live block aborts the TA, as talos_free. */
void *talos_realloc(void *p, size_t n);

/* The size a live block was allocated (or last resized) with; 0 for NULL.
 * Anything else aborts the TA. */
size_t talos_usable_size(const void *p);

/* A TA's ordinary C code and static libraries can keep their heap and
 * their static data in the state too, without calling these: see
 * docs/ta-sdk.md (their malloc family is served from the arena). */

/* The TA's root object (NULL until set). Survives migration. */
void *talos_state_root(void);
void talos_set_state_root(void *root);

/* --- host interaction ---------------------------------------------------- */

/* ocall: ask the untrusted host to run `name` with `req`; its answer is
 * copied into resp (at most resp_cap bytes, *resp_len set). The answer is
 * hostile input: it is copied once into resp and never exceeds resp_cap
 * (TALOS_ERR_TOO_LARGE otherwise). */
TALOS_MUST_CHECK int talos_call_host(const char *name, const void *req, size_t req_len,
                                     void *resp, size_t resp_cap, size_t *resp_len);

/* Which seal key (docs/sealing.md). MEASUREMENT is bound to the platform:
 * a blob sealed with it does not open after the TA migrates. LINEAGE is
 * bound to the lineage: it opens wherever the lineage lives (after any
 * migration), never in another lineage of the same image. */
enum talos_seal_policy {
    TALOS_SEAL_MEASUREMENT = 1, /* same code measurement on the same platform */
    TALOS_SEAL_LINEAGE = 2,     /* this lineage, on whatever node it lives */
};

#define TALOS_SEAL_KEY_BYTES 32

/* Derive the TA's sealing key for `policy` (UniTEE get_seal_key). Wipe it
 * with talos_wipe() when done. */
TALOS_MUST_CHECK int talos_seal_key(enum talos_seal_policy policy,
                                    uint8_t key[TALOS_SEAL_KEY_BYTES]);

/* A place where a long-running ecall may be stopped for migration. Call
 * boundaries are migration points too. Returns TALOS_OK, or TALOS_ERR_MOVED
 * when the TA has been handed off and the ecall must return at once. */
int talos_migration_point(void);

/* Fill buf with n cryptographically secure random bytes. */
TALOS_MUST_CHECK int talos_random(void *buf, size_t n);

/* Zero n bytes in a way the compiler cannot elide. */
void talos_wipe(void *p, size_t n);

/* SHA-256 of n bytes into out (OpenSSL inside the TA). */
void talos_sha256(const void *p, size_t n, uint8_t out[TALOS_SHA256_BYTES]);

/* The TA's current version (number of committed ecalls in its lineage). */
uint64_t talos_version(void);

#ifdef __cplusplus
}
#endif
#endif
