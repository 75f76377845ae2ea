/* The exactly-once table (ta/once.h, docs/sessions.md §4). Rows in one
 * arena block that grows by doubling up to the client bound; each row's
 * answer (output ‖ reason ‖ NUL) in a block of its own. Every pointer is
 * into the arena, which lies at the same address on every node: the table
 * migrates as bytes, like a TA's own data.
 *
 * The arena is used directly, not through the state heap's lock
 * (ta/heap.c): only the serving thread allocates, and never while TA code
 * runs (the table is read before an ecall and written after it). Linear
 * scans: 1024 rows of 48 bytes, once per session call. */
#include "ta/once.h"

#include <string.h>

#include "ta/arena.h"
#include "talos/ta.h"

#define ONCE_MAGIC 0x31454e4f534c4154ULL /* "TALSONE1" */
#define FIRST_CAP 16u
#define REASON_MAX 255u

struct once_row {
    uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES];
    uint64_t seq;      /* last recorded; 0: a row made for a call not yet recorded */
    uint64_t used;     /* the table's use counter at the client's last call */
    int32_t status;
    uint32_t lost;     /* the call ran, its answer did not fit the arena */
    uint8_t *blob;     /* out ‖ reason ‖ NUL; NULL when both are empty or lost */
    uint32_t out_len, reason_len;
};

struct once_tab {
    uint64_t magic;
    uint64_t tick;  /* use counter: grows with every call the table sees */
    uint64_t bytes; /* out and reason bytes of all rows */
    uint32_t n, cap;
    struct once_row *rows;
};

/* The table's address: state, so it is in the persist section. */
static struct once_tab *tab TALOS_PERSIST;

static int find(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES])
{
    if (!tab)
        return -1;
    for (uint32_t i = 0; i < tab->n; i++)
        if (memcmp(tab->rows[i].cid, cid, TALOS_SESS_CLIENT_ID_BYTES) == 0)
            return (int)i;
    return -1;
}

static void drop_answer(struct once_row *r)
{
    tab->bytes -= (uint64_t)r->out_len + r->reason_len;
    talos_arena_free(r->blob); /* wipes the payload */
    r->blob = NULL;
    r->out_len = r->reason_len = 0;
}

/* Evict the least recently used row other than `keep` (-1: none kept);
 * returns keep's index after the move (the last row fills the hole). */
static int evict_lru(int keep)
{
    int lru = -1;

    for (uint32_t i = 0; i < tab->n; i++)
        if ((int)i != keep && (lru < 0 || tab->rows[i].used < tab->rows[lru].used))
            lru = (int)i;
    if (lru < 0)
        return keep;
    drop_answer(&tab->rows[lru]);
    tab->n--;
    if ((uint32_t)lru != tab->n) {
        tab->rows[lru] = tab->rows[tab->n];
        if (keep == (int)tab->n)
            keep = lru;
    }
    memset(&tab->rows[tab->n], 0, sizeof(tab->rows[0]));
    return keep;
}

static int make_table(void)
{
    struct once_tab *t = talos_arena_alloc(sizeof(*t));

    if (!t)
        return TALOS_ERR_NOMEM;
    if (!(t->rows = talos_arena_alloc(FIRST_CAP * sizeof(t->rows[0])))) {
        talos_arena_free(t);
        return TALOS_ERR_NOMEM;
    }
    t->magic = ONCE_MAGIC;
    t->cap = FIRST_CAP;
    tab = t;
    return TALOS_OK;
}

/* A row for a client the table does not know: its index, or -1 (no room). */
static int add_row(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES])
{
    if (!tab && make_table() != TALOS_OK)
        return -1;
    if (tab->n >= TALOS_ONCE_CLIENTS)
        (void)evict_lru(-1);
    if (tab->n >= tab->cap) {
        uint32_t cap = tab->cap * 2 > TALOS_ONCE_CLIENTS ? TALOS_ONCE_CLIENTS : tab->cap * 2;
        struct once_row *rows = talos_arena_realloc(tab->rows, cap * sizeof(rows[0]));
        if (!rows)
            return -1;
        tab->rows = rows;
        tab->cap = cap;
    }
    struct once_row *r = &tab->rows[tab->n];
    memset(r, 0, sizeof(*r));
    memcpy(r->cid, cid, TALOS_SESS_CLIENT_ID_BYTES);
    return (int)tab->n++;
}

int talos_once_decide(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES], uint64_t seq, int retry,
                      struct talos_once_answer *rec, const char **why)
{
    int i = find(cid);
    struct once_row *r = i >= 0 ? &tab->rows[i] : NULL;

    *why = "";
    /* A client gets its row at HELLO (talos_once_enter): one unknown here
     * was evicted since (or its HELLO found no room), and a retry of its
     * may have run. */
    if (!r) {
        if (retry) {
            *why = "its record was evicted: outcome unknown";
            return TALOS_ONCE_REPLAY;
        }
        if ((i = add_row(cid)) < 0)
            return TALOS_ERR_NOMEM;
        tab->rows[i].used = ++tab->tick;
        return TALOS_ONCE_RUN;
    }
    r->used = ++tab->tick;
    if (seq > r->seq)
        return TALOS_ONCE_RUN;
    if (seq < r->seq) {
        *why = "an older call than the client's last: its outcome is not kept";
        return TALOS_ONCE_REPLAY;
    }
    if (r->lost) {
        *why = "its answer could not be kept: outcome unknown";
        return TALOS_ONCE_REPLAY;
    }
    rec->status = r->status;
    rec->out = r->out_len ? r->blob : NULL;
    rec->out_len = r->out_len;
    rec->reason = r->blob ? (const char *)r->blob + r->out_len : "";
    return TALOS_ONCE_REPLAYED;
}

void talos_once_record(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES], uint64_t seq,
                       const struct talos_once_answer *a)
{
    int i = find(cid);
    size_t out_len = a->status == TALOS_OK && a->out ? a->out_len : 0;
    size_t reason_len = a->reason ? strnlen(a->reason, REASON_MAX) : 0;

    if (i < 0 && (i = add_row(cid)) < 0)
        return; /* not even a row: the client's next retry gets REPLAY */
    struct once_row *r = &tab->rows[i];
    drop_answer(r);
    r->seq = seq;
    r->status = a->status;
    r->lost = 0;
    r->used = ++tab->tick;
    if (out_len + reason_len) {
        if (!(r->blob = talos_arena_alloc(out_len + reason_len + 1))) {
            r->lost = 1;
            return;
        }
        if (out_len)
            memcpy(r->blob, a->out, out_len);
        memcpy(r->blob + out_len, a->reason, reason_len);
        r->out_len = (uint32_t)out_len;
        r->reason_len = (uint32_t)reason_len;
        tab->bytes += out_len + reason_len;
    }
    while (tab->bytes > TALOS_ONCE_BYTES && tab->n > 1)
        i = evict_lru(i);
}

int talos_once_enter(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES])
{
    int i = find(cid);

    if (i < 0 && (i = add_row(cid)) < 0)
        return TALOS_ERR_NOMEM;
    tab->rows[i].used = ++tab->tick;
    return TALOS_OK;
}

uint64_t talos_once_last_seq(const uint8_t cid[TALOS_SESS_CLIENT_ID_BYTES])
{
    int i = find(cid);
    return i >= 0 ? tab->rows[i].seq : 0;
}

size_t talos_once_clients(void) { return tab ? tab->n : 0; }

size_t talos_once_bytes(void) { return tab ? (size_t)tab->bytes : 0; }

void talos_once_detach(void) { tab = NULL; }
