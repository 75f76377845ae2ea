/* ledger: the invariant-keeping bank of UniTEE (Fig. 7). Money moves
 * between accounts, never appears or vanishes: `total` is the same before
 * and after any number of transfers — and after any number of migrations.
 *
 *   open ACCT AMOUNT        new account with AMOUNT (EXISTS if taken)
 *   transfer FROM TO AMOUNT (NOT_FOUND, TA_REFUSED when funds are short)
 *   balance ACCT
 *   total                   sum of all balances
 *   stats                   accounts and transfers so far
 */
#include <stdlib.h>
#include <string.h>

#include "talos/ta.h"

#define ACCT_NAME_MAX 32
#define AMOUNT_MAX 1000000000000000ULL /* 1e15: sums of many stay far from 2^63 */

struct account {
    char name[ACCT_NAME_MAX + 1];
    uint64_t balance;
};

struct ledger {
    uint64_t n, cap;
    struct account *accts; /* sorted by name: binary search */
};

/* A global that survives migration through the persist section. */
static uint64_t transfers TALOS_PERSIST;

static struct ledger *L(void) { return talos_state_root(); }

static long find(const char *name, int *found)
{
    long lo = 0, hi = (long)L()->n;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        int c = strcmp(L()->accts[mid].name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int parse_amount(const struct talos_arg *a, uint64_t *v, struct talos_out *out)
{
    if (a->len == 0 || a->len > 16 || strspn(a->ptr, "0123456789") != a->len ||
        (*v = strtoull(a->ptr, NULL, 10)) > AMOUNT_MAX) {
        talos_out_reason(out, "amount must be a whole number from 0 to %llu",
                         (unsigned long long)AMOUNT_MAX);
        return TALOS_ERR_BAD_ARGS;
    }
    return TALOS_OK;
}

static struct account *lookup(const struct talos_arg *a, struct talos_out *out)
{
    int found = 0;
    long i = find(a->ptr, &found);
    if (!found) {
        talos_out_reason(out, "no account '%.32s'", a->ptr);
        return NULL;
    }
    return &L()->accts[i];
}

static int l_open(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint64_t amount = 0;
    int found = 0, rc = parse_amount(&argv[1], &amount, out);
    long at = 0;

    (void)argc;
    if (rc != TALOS_OK)
        return rc;
    if (argv[0].len == 0 || strlen(argv[0].ptr) != argv[0].len) {
        talos_out_reason(out, "account name must be 1 to %d bytes, no NUL", ACCT_NAME_MAX);
        return TALOS_ERR_BAD_ARGS;
    }
    at = find(argv[0].ptr, &found);
    if (found) {
        talos_out_reason(out, "account '%s' exists", argv[0].ptr);
        return TALOS_ERR_EXISTS;
    }
    if (L()->n == L()->cap) {
        uint64_t cap = L()->cap ? 2 * L()->cap : 16;
        struct account *a = talos_alloc(cap * sizeof(*a));
        if (!a)
            return TALOS_ERR_ARENA_FULL;
        if (L()->n)
            memcpy(a, L()->accts, L()->n * sizeof(*a));
        talos_free(L()->accts);
        L()->accts = a;
        L()->cap = cap;
    }
    memmove(&L()->accts[at + 1], &L()->accts[at], (L()->n - (uint64_t)at) * sizeof(struct account));
    memset(&L()->accts[at], 0, sizeof(struct account));
    memcpy(L()->accts[at].name, argv[0].ptr, argv[0].len);
    L()->accts[at].balance = amount;
    L()->n++;
    return TALOS_OK;
}

static int l_transfer(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint64_t amount = 0;
    struct account *from = NULL, *to = NULL;
    int rc = parse_amount(&argv[2], &amount, out);

    (void)argc;
    if (rc != TALOS_OK)
        return rc;
    if (!(from = lookup(&argv[0], out)) || !(to = lookup(&argv[1], out)))
        return TALOS_ERR_NOT_FOUND;
    if (from->balance < amount) {
        talos_out_reason(out, "insufficient funds in '%s'", from->name);
        return TALOS_ERR_TA_REFUSED;
    }
    /* Both sides change in one ecall: one transaction, never half of it. */
    from->balance -= amount;
    to->balance += amount;
    transfers++;
    return TALOS_OK;
}

static int l_balance(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    struct account *a = lookup(&argv[0], out);
    (void)argc;
    if (!a)
        return TALOS_ERR_NOT_FOUND;
    return talos_out_printf(out, "%llu", (unsigned long long)a->balance);
}

static int l_total(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint64_t sum = 0;
    (void)argc, (void)argv;
    for (uint64_t i = 0; i < L()->n; i++)
        sum += L()->accts[i].balance;
    return talos_out_printf(out, "%llu", (unsigned long long)sum);
}

static int l_stats(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    return talos_out_printf(out, "accounts %llu transfers %llu", (unsigned long long)L()->n,
                            (unsigned long long)transfers);
}

static int l_init(void)
{
    struct ledger *l = talos_alloc(sizeof(*l));
    if (!l)
        return TALOS_ERR_ARENA_FULL;
    talos_set_state_root(l);
    return TALOS_OK;
}

static const struct talos_ecall ledger_ecalls[] = {
    {"open", l_open, 2, 2, ACCT_NAME_MAX, "ACCT AMOUNT"},
    {"transfer", l_transfer, 3, 3, ACCT_NAME_MAX, "FROM TO AMOUNT"},
    {"balance", l_balance, 1, 1, ACCT_NAME_MAX, "ACCT"},
    {"total", l_total, 0, 0, 0, ""},
    {"stats", l_stats, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("ledger", ledger_ecalls, l_init);
