/* A TA that does nothing but use malloc, realloc and free as ordinary C
 * code does, its bookkeeping in ordinary static data: built with
 * ta_link_state (D47), both must survive migrations (tests/integration/
 * test_heap_state.sh).
 *
 *   churn N SEED   N random steps over up to SLOTS live blocks: malloc a
 *                  block of a random size (1 B .. 64 KiB) filled with a
 *                  pattern of (its id, its size), realloc one (grow or
 *                  shrink, the pattern extended), or free one
 *   check          every live block still holds its pattern: "ok N SUM"
 *                  (N live blocks, SUM a checksum of their bytes), else
 *                  TA_REFUSED naming the first block that does not
 *   where ID       the address of live block ID's slot (for the test's
 *                  host-side corruption)
 *   canary [HEX]   keep HEX in a malloc'ed block (strdup) and in the static
 *                  buffer of a library (tests/lib_state/canary.c, named as
 *                  a state library); without HEX, show both */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talos/ta.h"
#include "tests/lib_state/canary.h"

#define SLOTS 512

struct block {
    uint8_t *p;
    size_t n;
    uint64_t id;
};

static struct block slot[SLOTS]; /* static data: state */
static uint64_t next_id = 1, rng = 1;
static char *canary_heap;

static uint64_t draw(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static uint8_t pat(uint64_t id, size_t i)
{
    return (uint8_t)((id * 131 + i * 7 + (i >> 8)) & 0xff);
}

static void fill(struct block *b, size_t from)
{
    for (size_t i = from; i < b->n; i++)
        b->p[i] = pat(b->id, i);
}

static int hs_churn(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    unsigned long steps = strtoul(argv[0].ptr, NULL, 10);
    (void)argc;
    rng = strtoull(argv[1].ptr, NULL, 10) | 1;
    for (unsigned long s = 0; s < steps; s++) {
        struct block *b = &slot[draw() % SLOTS];
        size_t n = 1 + (size_t)(draw() % (64 * 1024));
        if (!b->p) {
            if (!(b->p = malloc(n)))
                return TALOS_ERR_NOMEM;
            b->n = n, b->id = next_id++;
            fill(b, 0);
        } else if (draw() % 2) {
            uint8_t *q = realloc(b->p, n);
            if (!q)
                return TALOS_ERR_NOMEM;
            size_t old = b->n;
            b->p = q, b->n = n;
            if (n > old)
                fill(b, old);
        } else {
            free(b->p);
            b->p = NULL, b->n = 0;
        }
    }
    return talos_out_printf(out, "%lu", steps);
}

static int hs_check(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint64_t sum = 0, live = 0;
    (void)argc, (void)argv;
    for (int k = 0; k < SLOTS; k++) {
        struct block *b = &slot[k];
        if (!b->p)
            continue;
        live++;
        if (malloc_usable_size(b->p) < b->n) {
            talos_out_reason(out, "block %llu: usable size %zu below %zu",
                             (unsigned long long)b->id, malloc_usable_size(b->p), b->n);
            return TALOS_ERR_TA_REFUSED;
        }
        for (size_t i = 0; i < b->n; i++) {
            if (b->p[i] != pat(b->id, i)) {
                talos_out_reason(out, "block %llu: byte %zu changed", (unsigned long long)b->id, i);
                return TALOS_ERR_TA_REFUSED;
            }
            sum = sum * 31 + b->p[i];
        }
    }
    return talos_out_printf(out, "ok %llu %016llx", (unsigned long long)live,
                            (unsigned long long)sum);
}

static int hs_where(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    for (int k = 0; k < SLOTS; k++)
        if (slot[k].p)
            return talos_out_printf(out, "%p %zu", (void *)slot[k].p, slot[k].n);
    return TALOS_ERR_NOT_FOUND;
}

static int hs_free_all(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    for (int k = 0; k < SLOTS; k++) {
        free(slot[k].p);
        slot[k].p = NULL, slot[k].n = 0;
    }
    return talos_out_printf(out, "freed");
}

static int hs_canary(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    if (argc == 0) /* where it is kept: the heap block, then the static buffer */
        return talos_out_printf(out, "%s %s", canary_heap ? canary_heap : "-", canary_kept());
    free(canary_heap);
    if (!(canary_heap = strdup(argv[0].ptr)))
        return TALOS_ERR_NOMEM;
    canary_keep(argv[0].ptr);
    return talos_out_printf(out, "%s", canary_heap);
}

static int hs_init(void)
{
    return TALOS_OK;
}

static const struct talos_ecall hs_ecalls[] = {
    {"churn", hs_churn, 2, 2, 32, "STEPS SEED"},
    {"check", hs_check, 0, 0, 0, ""},
    {"where", hs_where, 0, 0, 0, ""},
    {"free_all", hs_free_all, 0, 0, 0, ""},
    {"canary", hs_canary, 0, 1, 63, "[HEX]"},
};

TALOS_TA_DEFINE("heapstress", hs_ecalls, hs_init);
