#include "core/migrx.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/merkle.h"
#include "talos/err.h"

#define PAGE ((uint64_t)TALOS_MIG_PAGE_BYTES)

static int bit_get(const uint64_t *b, uint64_t i) { return (int)(b[i / 64] >> (i % 64) & 1); }
static void bit_set(uint64_t *b, uint64_t i) { b[i / 64] |= 1ull << (i % 64); }
static void bit_clear(uint64_t *b, uint64_t i) { b[i / 64] &= ~(1ull << (i % 64)); }

static int refuse(int rc, const char *reason, const char **why)
{
    *why = reason;
    return rc;
}

int talos_mig_rx_init(struct talos_mig_rx *x, uint64_t arena_max_bytes, uint64_t persist_bytes)
{
    memset(x, 0, sizeof(*x));
    x->round = -1;
    x->max_arena = arena_max_bytes / PAGE;
    x->persist_bytes = persist_bytes;
    x->p_pages = (persist_bytes + PAGE - 1) / PAGE;
    /* The persist pages follow the arena's in the leaf numbering. */
    x->have = calloc((x->max_arena + x->p_pages) / 64 + 1, sizeof(uint64_t));
    return x->have ? TALOS_OK : TALOS_ERR_NOMEM;
}

void talos_mig_rx_free(struct talos_mig_rx *x)
{
    free(x->have);
    x->have = NULL;
}

unsigned talos_mig_rx_phase(const struct talos_mig_rx *x)
{
    if (x->final)
        return TALOS_MIG_RX_FINAL;
    if (x->round >= 0)
        return x->keyed ? TALOS_MIG_RX_ROUNDS_KEYED : TALOS_MIG_RX_ROUNDS;
    return x->keyed ? TALOS_MIG_RX_KEYED : TALOS_MIG_RX_OPEN;
}

int talos_mig_rx_lineage(struct talos_mig_rx *x, const char **why)
{
    if (x->final || x->keyed)
        return refuse(TALOS_ERR_PROTOCOL, "unexpected record in the state stream", why);
    x->keyed = 1;
    return TALOS_OK;
}

int talos_mig_rx_round(struct talos_mig_rx *x, const struct talos_mig_round *r, int64_t *acked,
                       const char **why)
{
    *acked = -1;
    if (x->final)
        return refuse(TALOS_ERR_PROTOCOL, "pre-copy round after the final one", why);
    if ((int64_t)r->round != x->round + 1)
        return refuse(TALOS_ERR_PROTOCOL, "pre-copy rounds out of order", why);
    *acked = x->round;
    x->round++;
    x->next = 0;
    return TALOS_OK;
}

int talos_mig_rx_begin(struct talos_mig_rx *x, const struct talos_mig_begin *b, const char **why)
{
    if (x->final)
        return refuse(TALOS_ERR_PROTOCOL, "unexpected record in the state stream", why);
    if (!x->keyed)
        return refuse(TALOS_ERR_PROTOCOL, "BEGIN before the lineage key", why);
    if (b->arena_bytes % PAGE || b->arena_bytes == 0 || b->arena_bytes > x->max_arena * PAGE)
        return refuse(TALOS_ERR_MALFORMED, "announced state does not fit this TA's arena", why);
    if (b->persist_bytes != x->persist_bytes)
        return refuse(TALOS_ERR_MALFORMED, "persist section differs from this image's", why);
    if (b->head_version > b->version)
        return refuse(TALOS_ERR_MALFORMED, "chain head is newer than the state", why);
    x->begin = *b;
    x->final = 1;
    x->next = 0;
    /* Persist pages come in this phase only, whatever indices the rounds
     * used (the arena may have shrunk since). */
    uint64_t a_pages = b->arena_bytes / PAGE;
    for (uint64_t i = a_pages; i < a_pages + x->p_pages; i++)
        bit_clear(x->have, i);
    return TALOS_OK;
}

uint64_t talos_mig_rx_total(const struct talos_mig_rx *x)
{
    return x->final ? x->begin.arena_bytes / PAGE + x->p_pages : 0;
}

int talos_mig_rx_chunk(struct talos_mig_rx *x, const struct talos_mig_chunk *c, uint32_t rec_len,
                       struct talos_mig_rx_place *pl, const char **why)
{
    /* A round may write anywhere in the arena region, never the persist
     * section; the final phase writes the state BEGIN announced. */
    uint64_t a_pages = x->final ? x->begin.arena_bytes / PAGE : x->max_arena;
    uint64_t total = x->final ? a_pages + x->p_pages : a_pages;
    uint64_t first = c->first;
    uint32_t n = c->n_pages;

    memset(pl, 0, sizeof(*pl));
    if (!x->final && x->round < 0)
        return refuse(TALOS_ERR_PROTOCOL, "unexpected record in the state stream", why);
    /* Numbered without gaps over the whole stream, ascending and not
     * overlapping within a round, whole pages, inside one region. */
    if (c->seq != x->seq || first < x->next || n == 0 || n > TALOS_MIG_CHUNK_PAGES ||
        first >= total || n > total - first ||
        rec_len != TALOS_MIG_CHUNK_HDR_BYTES + (uint64_t)n * PAGE ||
        (first < a_pages && first + n > a_pages))
        return refuse(TALOS_ERR_PROTOCOL, "chunk out of order, repeated or out of range", why);
    pl->persist = first >= a_pages;
    pl->page = pl->persist ? first - a_pages : first;
    pl->leaf = first;
    pl->n = n;
    for (uint32_t i = 0; i < n; i++)
        bit_set(x->have, first + i);
    if (first < a_pages && first + n > x->high)
        x->high = first + n;
    x->seq++;
    x->next = first + n;
    return TALOS_OK;
}

int talos_mig_rx_manifest(const struct talos_mig_rx *x, const struct talos_mig_manifest *m,
                          const char **why)
{
    uint64_t total = talos_mig_rx_total(x);
    int complete = m->n_chunks == x->seq;

    if (!x->final)
        return refuse(TALOS_ERR_PROTOCOL, "unexpected record in the state stream", why);
    for (uint64_t i = 0; complete && i < total; i++)
        complete = bit_get(x->have, i);
    if (!complete)
        return refuse(TALOS_ERR_PROTOCOL, "manifest does not match the chunks received", why);
    return TALOS_OK;
}

int talos_mig_rx_verify(const struct talos_mig_rx *x, const struct talos_mig_manifest *m,
                        const uint8_t root[TALOS_MIG_HASH_BYTES],
                        uint8_t head[TALOS_MIG_HASH_BYTES], const char **why)
{
    /* The new head chains onto the one BEGIN named: a source that lies
     * about its previous checkpoint breaks the chain here, even when every
     * page is right. */
    talos_chain_next(x->begin.head, x->begin.version, root, head);
    if (!talos_ct_eq(root, m->root, TALOS_MIG_HASH_BYTES) ||
        !talos_ct_eq(head, m->head, TALOS_MIG_HASH_BYTES))
        return refuse(TALOS_ERR_MAC, "state root or chain head does not match the pages received",
                      why);
    return TALOS_OK;
}
