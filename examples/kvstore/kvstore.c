/* kvstore: a key-value store TA. All of its data lives in the state arena,
 * so it migrates whole; the bucket array is re-allocated as it grows.
 *
 *   put K V     insert or replace
 *   get K       print the value (NOT_FOUND if absent)
 *   del K       remove (NOT_FOUND if absent)
 *   count       number of keys
 *   fill N SIZE [SEED]   add keys k0..k(N-1) with SIZE-byte pseudo-random values
 *   digest      order-independent hex digest over all pairs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talos/ta.h"

#define KV_MAX_KEY 4096
#define KV_MAX_VAL (1u << 20)

struct kv_node {
    struct kv_node *next;
    uint64_t hash;
    uint32_t klen, vlen;
    char data[]; /* key then value */
};

struct kv_root {
    uint64_t seed;     /* per-lineage hash seed: keys cannot be chosen to collide blindly */
    uint64_t count;
    uint64_t nbuckets; /* power of two */
    struct kv_node **buckets;
};

static struct kv_root *root(void) { return talos_state_root(); }

static uint64_t hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ root()->seed; /* FNV-1a, seeded */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)k[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static struct kv_node **slot(const char *k, size_t n, uint64_t h)
{
    struct kv_node **pp = &root()->buckets[h & (root()->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->klen == n && memcmp((*pp)->data, k, n) == 0)
            break;
    return pp;
}

static int grow(void)
{
    struct kv_root *r = root();
    uint64_t nb = r->nbuckets * 2;
    struct kv_node **b = talos_alloc(nb * sizeof(*b));

    if (!b)
        return TALOS_ERR_ARENA_FULL;
    for (uint64_t i = 0; i < r->nbuckets; i++)
        for (struct kv_node *n = r->buckets[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    talos_free(r->buckets);
    r->buckets = b;
    r->nbuckets = nb;
    return TALOS_OK;
}

static int put(const char *k, size_t kl, const char *v, size_t vl)
{
    uint64_t h = hash(k, kl);
    struct kv_node **pp = slot(k, kl, h);
    struct kv_node *n = talos_alloc(sizeof(*n) + kl + vl);

    if (!n)
        return TALOS_ERR_ARENA_FULL;
    n->hash = h;
    n->klen = (uint32_t)kl;
    n->vlen = (uint32_t)vl;
    memcpy(n->data, k, kl);
    memcpy(n->data + kl, v, vl);
    if (*pp) { /* replace in place in the chain */
        n->next = (*pp)->next;
        talos_free(*pp);
        *pp = n;
        return TALOS_OK;
    }
    n->next = NULL;
    *pp = n;
    root()->count++;
    return root()->count > 2 * root()->nbuckets ? grow() : TALOS_OK;
}

static int kv_put(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc;
    if (argv[0].len == 0 || argv[0].len > KV_MAX_KEY) {
        talos_out_reason(out, "key must be 1 to %d bytes", KV_MAX_KEY);
        return TALOS_ERR_BAD_ARGS;
    }
    int rc = put(argv[0].ptr, argv[0].len, argv[1].ptr, argv[1].len);
    if (rc != TALOS_OK)
        talos_out_reason(out, "state arena full");
    return rc;
}

static int kv_get(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc;
    struct kv_node *n = *slot(argv[0].ptr, argv[0].len, hash(argv[0].ptr, argv[0].len));
    if (!n) {
        talos_out_reason(out, "no key '%.64s'", argv[0].ptr);
        return TALOS_ERR_NOT_FOUND;
    }
    return talos_out_write(out, n->data + n->klen, n->vlen);
}

static int kv_del(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc;
    struct kv_node **pp = slot(argv[0].ptr, argv[0].len, hash(argv[0].ptr, argv[0].len));
    struct kv_node *n = *pp;
    if (!n) {
        talos_out_reason(out, "no key '%.64s'", argv[0].ptr);
        return TALOS_ERR_NOT_FOUND;
    }
    *pp = n->next;
    talos_free(n);
    root()->count--;
    return TALOS_OK;
}

static int kv_count(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    return talos_out_printf(out, "%llu", (unsigned long long)root()->count);
}

static int parse_u64(const struct talos_arg *a, uint64_t max, uint64_t *v)
{
    char *end = NULL;
    if (a->len == 0 || a->len > 20 || strspn(a->ptr, "0123456789") != a->len)
        return TALOS_ERR_BAD_ARGS;
    *v = strtoull(a->ptr, &end, 10);
    return *v > max ? TALOS_ERR_BAD_ARGS : TALOS_OK;
}

/* splitmix64: a deterministic generator, so fill+digest is reproducible. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int kv_fill(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t n = 0, size = 0, seed = 1;
    char key[32];
    char *val = NULL;
    int rc = TALOS_OK;

    if (parse_u64(&argv[0], 100000000, &n) || parse_u64(&argv[1], KV_MAX_VAL, &size) ||
        (argc > 2 && parse_u64(&argv[2], UINT64_MAX, &seed))) {
        talos_out_reason(out, "usage: fill N SIZE [SEED] (N <= 1e8, SIZE <= %u)", KV_MAX_VAL);
        return TALOS_ERR_BAD_ARGS;
    }
    if (!(val = malloc(size ? size : 1)))
        return TALOS_ERR_NOMEM;
    for (uint64_t i = 0; i < n && rc == TALOS_OK; i++) {
        uint64_t s = seed * 0x100000001b3ULL + i;
        for (uint64_t j = 0; j < size; j += 8) {
            uint64_t r = mix(&s);
            for (uint64_t b = 0; b < 8 && j + b < size; b++, r >>= 8)
                val[j + b] = alnum[(r & 0xff) % 62];
        }
        int kl = snprintf(key, sizeof(key), "k%llu", (unsigned long long)i);
        rc = put(key, (size_t)kl, val, size);
        if (i % 4096 == 4095)
            (void)talos_migration_point();
    }
    free(val);
    if (rc != TALOS_OK) {
        talos_out_reason(out, "state arena full after some keys; state is partially filled");
        return TALOS_OK; /* keys already added stay: commit what was done */
    }
    return talos_out_printf(out, "filled %llu", (unsigned long long)n);
}

static int kv_digest(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint64_t acc[4] = {0};
    uint8_t h[TALOS_SHA256_BYTES], final[TALOS_SHA256_BYTES];
    char hex[2 * TALOS_SHA256_BYTES + 1];

    (void)argc, (void)argv;
    for (uint64_t i = 0; i < root()->nbuckets; i++)
        for (struct kv_node *n = root()->buckets[i]; n; n = n->next) {
            /* Hash (klen, key, value) — then add lanes: addition commutes, so
             * the digest does not depend on bucket order or insertion order. */
            uint8_t buf[8];
            memcpy(buf, &n->klen, 4);
            memcpy(buf + 4, &n->vlen, 4);
            uint8_t *tmp = malloc(8 + n->klen + n->vlen);
            if (!tmp)
                return TALOS_ERR_NOMEM;
            memcpy(tmp, buf, 8);
            memcpy(tmp + 8, n->data, n->klen + n->vlen);
            talos_sha256(tmp, 8 + n->klen + n->vlen, h);
            free(tmp);
            for (int l = 0; l < 4; l++) {
                uint64_t v = 0;
                memcpy(&v, h + 8 * l, 8);
                acc[l] += v;
            }
        }
    uint64_t cnt = root()->count;
    uint8_t fin[40];
    memcpy(fin, acc, sizeof(acc));
    memcpy(fin + sizeof(acc), &cnt, 8);
    talos_sha256(fin, sizeof(fin), final);
    for (int i = 0; i < TALOS_SHA256_BYTES; i++) {
        static const char d[] = "0123456789abcdef";
        hex[2 * i] = d[final[i] >> 4];
        hex[2 * i + 1] = d[final[i] & 15];
    }
    hex[2 * TALOS_SHA256_BYTES] = '\0';
    return talos_out_write(out, hex, 2 * TALOS_SHA256_BYTES);
}

static int kv_init(void)
{
    struct kv_root *r = talos_alloc(sizeof(*r));
    if (!r)
        return TALOS_ERR_ARENA_FULL;
    if (talos_random(&r->seed, sizeof(r->seed)) != TALOS_OK)
        return TALOS_ERR_CRYPTO;
    r->nbuckets = 1024;
    if (!(r->buckets = talos_alloc(r->nbuckets * sizeof(*r->buckets))))
        return TALOS_ERR_ARENA_FULL;
    talos_set_state_root(r);
    return TALOS_OK;
}

static const struct talos_ecall kv_ecalls[] = {
    {"put", kv_put, 2, 2, KV_MAX_VAL, "KEY VALUE"},
    {"get", kv_get, 1, 1, KV_MAX_KEY, "KEY"},
    {"del", kv_del, 1, 1, KV_MAX_KEY, "KEY"},
    {"count", kv_count, 0, 0, 0, ""},
    {"fill", kv_fill, 2, 3, 20, "N SIZE [SEED]"},
    {"digest", kv_digest, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("kvstore", kv_ecalls, kv_init);
