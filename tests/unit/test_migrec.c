/* The migration records' codecs (core/migrec.c): for every record a round
 * trip, the byte layout the protocol had when ta/ packed it by hand (the
 * wire must not change), every truncation and one byte too many, the
 * record table's bounds (core/mig.c), and each field's own bound.
 *
 * One file over 400 lines: one short case per record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/mig.h"
#include "core/migrec.h"
#include "core/msg.h"
#include "core/wire.h"
#include "talos/abi.h"
#include "talos/err.h"
#include "talos/talos.h" /* its copies of the shared sizes must equal abi.h's */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 13 * i);
}

/* One fixed-size record, through wrappers of one type. */
struct codec {
    const char *name;
    uint8_t type, from;
    size_t size, struct_size;
    void (*sample)(void *in);
    void (*encode)(const void *in, uint8_t *out);
    int (*decode)(const uint8_t *p, size_t n, void *out);
    /* The layout as ta/ packed it before the codecs: out[size]. */
    void (*legacy)(const void *in, uint8_t *out);
};

static void hello_sample(void *v)
{
    struct talos_mig_hello *h = v;
    h->version = TALOS_MIG_VERSION;
    fill(h->session, sizeof(h->session), 1);
    fill(h->nonce, sizeof(h->nonce), 2);
    fill(h->lineage, sizeof(h->lineage), 3);
    h->arena_hint = 0x0102030405060708ull;
}
static void hello_enc(const void *in, uint8_t *out) { talos_mig_hello_encode(in, out); }
static int hello_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_hello_decode(p, n, out); }
static void hello_legacy(const void *v, uint8_t *body)
{
    const struct talos_mig_hello *h = v;
    body[0] = h->version;
    memcpy(body + 1, h->session, 16);
    memcpy(body + 17, h->nonce, 32);
    memcpy(body + 49, h->lineage, 16);
    talos_be32_put(body + 65, (uint32_t)(h->arena_hint >> 32));
    talos_be32_put(body + 69, (uint32_t)h->arena_hint);
}

static void ack_sample(void *v)
{
    struct talos_mig_hello_ack *a = v;
    a->version = TALOS_MIG_VERSION;
    fill(a->nonce, sizeof(a->nonce), 4);
}
static void ack_enc(const void *in, uint8_t *out) { talos_mig_hello_ack_encode(in, out); }
static int ack_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_hello_ack_decode(p, n, out); }
static void ack_legacy(const void *v, uint8_t *ack)
{
    const struct talos_mig_hello_ack *a = v;
    ack[0] = a->version;
    memcpy(ack + 1, a->nonce, 32);
}

static void begin_sample(void *v)
{
    struct talos_mig_begin *b = v;
    b->version = 0x1112131415161718ull;
    b->arena_bytes = 64 * 4096;
    b->persist_bytes = 5000;
    b->head_version = 0x0a0b0c0d0e0f1011ull;
    fill(b->head, sizeof(b->head), 5);
}
static void begin_enc(const void *in, uint8_t *out) { talos_mig_begin_encode(in, out); }
static int begin_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_begin_decode(p, n, out); }
static void begin_legacy(const void *v, uint8_t *out)
{
    const struct talos_mig_begin *b = v;
    struct talos_wr w;
    talos_wr_init(&w, 64);
    talos_wr_u64(&w, b->version);
    talos_wr_u64(&w, b->arena_bytes);
    talos_wr_u64(&w, b->persist_bytes);
    talos_wr_u64(&w, b->head_version);
    talos_wr_raw(&w, b->head, 32);
    assert_int_equal(w.len, 64);
    memcpy(out, w.p, 64);
    talos_wr_free(&w);
}

static void chunk_sample(void *v)
{
    struct talos_mig_chunk *c = v;
    c->seq = 0xa1a2a3a4;
    c->first = 0x0000000500000006ull;
    c->n_pages = TALOS_MIG_CHUNK_PAGES;
}
static void chunk_enc(const void *in, uint8_t *out)
{
    assert_int_equal(talos_mig_chunk_encode(in, out), TALOS_OK);
}
static int chunk_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_chunk_decode(p, n, out); }
static void chunk_legacy(const void *v, uint8_t *hdr)
{
    const struct talos_mig_chunk *c = v;
    talos_be32_put(hdr, c->seq);
    talos_be32_put(hdr + 4, (uint32_t)(c->first >> 32));
    talos_be32_put(hdr + 8, (uint32_t)c->first);
    talos_be32_put(hdr + 12, c->n_pages);
}

static void man_sample(void *v)
{
    struct talos_mig_manifest *m = v;
    m->n_chunks = 0x01020304;
    fill(m->root, sizeof(m->root), 6);
    fill(m->head, sizeof(m->head), 7);
}
static void man_enc(const void *in, uint8_t *out) { talos_mig_manifest_encode(in, out); }
static int man_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_manifest_decode(p, n, out); }
static void man_legacy(const void *v, uint8_t *manifest)
{
    const struct talos_mig_manifest *m = v;
    talos_be32_put(manifest, m->n_chunks);
    memcpy(manifest + 4, m->root, 32);
    memcpy(manifest + 36, m->head, 32);
}

static void round_sample(void *v)
{
    struct talos_mig_round *r = v;
    r->round = 7;
    r->arena_pages = 0x0000000100000002ull;
}
static void round_enc(const void *in, uint8_t *out) { talos_mig_round_encode(in, out); }
static int round_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_round_decode(p, n, out); }
static void round_legacy(const void *v, uint8_t *body)
{
    const struct talos_mig_round *r = v;
    talos_be32_put(body, r->round);
    talos_be32_put(body + 4, (uint32_t)(r->arena_pages >> 32));
    talos_be32_put(body + 8, (uint32_t)r->arena_pages);
}

static void rack_sample(void *v) { *(uint32_t *)v = 0xdeadbeef; }
static void rack_enc(const void *in, uint8_t *out) { talos_mig_round_ack_encode(*(const uint32_t *)in, out); }
static int rack_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_round_ack_decode(p, n, out); }
static void rack_legacy(const void *v, uint8_t *ack) { talos_be32_put(ack, *(const uint32_t *)v); }

static void rcpt_sample(void *v)
{
    struct talos_mig_receipt *r = v;
    fill(r->token, sizeof(r->token), 8);
    r->token[0] = TALOS_MIG_RECEIPT;
    r->restore_ns = 123456789;
    r->activate_ns = 0x0102030405060708ull;
}
static void rcpt_enc(const void *in, uint8_t *out) { talos_mig_receipt_encode(in, out); }
static int rcpt_dec(const uint8_t *p, size_t n, void *out) { return talos_mig_receipt_decode(p, n, out); }
static void rcpt_legacy(const void *v, uint8_t *rec)
{
    const struct talos_mig_receipt *r = v;
    memcpy(rec, r->token, TALOS_TOKEN_BYTES);
    talos_be32_put(rec + TALOS_TOKEN_BYTES, (uint32_t)(r->restore_ns >> 32));
    talos_be32_put(rec + TALOS_TOKEN_BYTES + 4, (uint32_t)r->restore_ns);
    talos_be32_put(rec + TALOS_TOKEN_BYTES + 8, (uint32_t)(r->activate_ns >> 32));
    talos_be32_put(rec + TALOS_TOKEN_BYTES + 12, (uint32_t)r->activate_ns);
}

static const struct codec codecs[] = {
    {"HELLO", TALOS_MIG_HELLO, TALOS_MIG_FROM_S, TALOS_MIG_HELLO_BYTES,
     sizeof(struct talos_mig_hello), hello_sample, hello_enc, hello_dec, hello_legacy},
    {"HELLO_ACK", TALOS_MIG_HELLO_ACK, TALOS_MIG_FROM_T, TALOS_MIG_HELLO_ACK_BYTES,
     sizeof(struct talos_mig_hello_ack), ack_sample, ack_enc, ack_dec, ack_legacy},
    {"BEGIN", TALOS_MIG_BEGIN, TALOS_MIG_FROM_S, TALOS_MIG_BEGIN_BYTES,
     sizeof(struct talos_mig_begin), begin_sample, begin_enc, begin_dec, begin_legacy},
    {"CHUNK", TALOS_MIG_CHUNK, TALOS_MIG_FROM_S, TALOS_MIG_CHUNK_HDR_BYTES,
     sizeof(struct talos_mig_chunk), chunk_sample, chunk_enc, chunk_dec, chunk_legacy},
    {"MANIFEST", TALOS_MIG_MANIFEST, TALOS_MIG_FROM_S, TALOS_MIG_MANIFEST_BYTES,
     sizeof(struct talos_mig_manifest), man_sample, man_enc, man_dec, man_legacy},
    {"ROUND", TALOS_MIG_ROUND, TALOS_MIG_FROM_S, TALOS_MIG_ROUND_BYTES,
     sizeof(struct talos_mig_round), round_sample, round_enc, round_dec, round_legacy},
    {"ROUND_ACK", TALOS_MIG_ROUND_ACK, TALOS_MIG_FROM_T, TALOS_MIG_ROUND_ACK_BYTES, sizeof(uint32_t),
     rack_sample, rack_enc, rack_dec, rack_legacy},
    {"RECEIPT", TALOS_MIG_RECEIPT, TALOS_MIG_FROM_T, TALOS_MIG_RECEIPT_BYTES,
     sizeof(struct talos_mig_receipt), rcpt_sample, rcpt_enc, rcpt_dec, rcpt_legacy},
};

#define BIG 256

static void one(const struct codec *c)
{
    uint8_t in[BIG], out[BIG], zeros[BIG], a[BIG + 8], b[BIG + 8], legacy[BIG];

    assert_true(c->size + 1 <= BIG && c->struct_size <= BIG);
    memset(in, 0, sizeof(in));
    memset(zeros, 0, sizeof(zeros));
    c->sample(in);
    /* Every byte of the body written, none after it. */
    memset(a, 0x00, sizeof(a));
    memset(b, 0xff, sizeof(b));
    c->encode(in, a);
    c->encode(in, b);
    assert_memory_equal(a, b, c->size);
    for (size_t i = c->size; i < sizeof(a); i++)
        assert_true(a[i] == 0x00 && b[i] == 0xff);
    /* The bytes ta/ sent before there were codecs. */
    c->legacy(in, legacy);
    assert_memory_equal(a, legacy, c->size);
    /* Round trip: decode(encode(x)) == x, encode(decode(y)) == y. */
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(c->decode(a, c->size, out), TALOS_OK);
    assert_memory_equal(out, in, c->struct_size);
    c->encode(out, b);
    assert_memory_equal(a, b, c->size);
    /* Every truncation and one byte more: MALFORMED, nothing left decoded. */
    for (size_t n = 0; n <= c->size + 1; n++) {
        if (n == c->size)
            continue;
        memset(out, 0xa5, sizeof(out));
        assert_int_equal(c->decode(a, n, out), TALOS_ERR_MALFORMED);
        assert_memory_equal(out, zeros, c->struct_size);
    }
    /* The record table bounds the body to exactly this size, this sender
     * (a CHUNK's pages follow its header: sizes() checks its bounds). */
    assert_string_equal(talos_mig_find(c->type)->name, c->name);
    if (c->type == TALOS_MIG_CHUNK)
        return;
    assert_int_equal(talos_mig_check(c->type, c->from, (uint32_t)c->size), TALOS_OK);
    assert_int_equal(talos_mig_check(c->type, c->from, (uint32_t)c->size - 1), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_mig_check(c->type, c->from, (uint32_t)c->size + 1), TALOS_ERR_TOO_LARGE);
    assert_int_equal(talos_mig_check(c->type, TALOS_MIG_FROM_S + TALOS_MIG_FROM_T - c->from,
                                     (uint32_t)c->size),
                     TALOS_ERR_PROTOCOL);
}

static void fixed_records(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
        one(&codecs[i]);
}

/* The sizes the attack tests count on the wire (tests/attacks/
 * attack_lib.sh: a BEGIN record is 91 bytes of TLS, a MANIFEST 95, a CHUNK
 * header 43, a HANDOFF 136: body + 5 + 22). */
static void sizes(void **state)
{
    (void)state;
    assert_int_equal(TALOS_MIG_HELLO_BYTES, 73);
    assert_int_equal(TALOS_MIG_HELLO_ACK_BYTES, 33);
    assert_int_equal(TALOS_MIG_BEGIN_BYTES, 64);
    assert_int_equal(TALOS_MIG_CHUNK_HDR_BYTES, 16);
    assert_int_equal(TALOS_MIG_MANIFEST_BYTES, 68);
    assert_int_equal(TALOS_TOKEN_BYTES, 109);
    assert_int_equal(TALOS_MIG_RECEIPT_BYTES, 125);
    assert_int_equal(TALOS_MIG_ROUND_BYTES, 12);
    assert_int_equal(TALOS_MIG_ROUND_ACK_BYTES, 4);
    assert_int_equal(TALOS_MIG_CHUNK_MAX, 16 + 64 * 4096);
    /* The chunk's record bounds: one page at least, 64 at most. */
    assert_int_equal(talos_mig_check(TALOS_MIG_CHUNK, TALOS_MIG_FROM_S, TALOS_MIG_CHUNK_MIN - 1),
                     TALOS_ERR_MALFORMED);
    assert_int_equal(talos_mig_check(TALOS_MIG_CHUNK, TALOS_MIG_FROM_S, TALOS_MIG_CHUNK_MAX + 1),
                     TALOS_ERR_TOO_LARGE);
}

static void chunk_bounds(void **state)
{
    struct talos_mig_chunk c = {.seq = 1, .first = 2, .n_pages = 0}, d;
    uint8_t hdr[TALOS_MIG_CHUNK_HDR_BYTES];
    (void)state;
    /* A sender never frames zero pages or more than a record holds... */
    assert_int_equal(talos_mig_chunk_encode(&c, hdr), TALOS_ERR_INVALID_ARG);
    c.n_pages = TALOS_MIG_CHUNK_PAGES + 1;
    assert_int_equal(talos_mig_chunk_encode(&c, hdr), TALOS_ERR_INVALID_ARG);
    c.n_pages = 1;
    assert_int_equal(talos_mig_chunk_encode(&c, hdr), TALOS_OK);
    /* ...but a receiver decodes any count: refusing it is the stream's job
     * (core/migrx.c), with the stream's error. */
    talos_be32_put(hdr + 12, 0xffffffffu);
    assert_int_equal(talos_mig_chunk_decode(hdr, sizeof(hdr), &d), TALOS_OK);
    assert_true(d.n_pages == 0xffffffffu && d.seq == 1 && d.first == 2);
}

static void evidence(void **state)
{
    static uint8_t ev[TALOS_EVIDENCE_MAX + 1];
    uint8_t mac[TALOS_MIG_BIND_MAC_BYTES];
    struct talos_wr w;
    const uint8_t *p = NULL, *m = NULL;
    size_t n = 0;
    (void)state;
    fill(ev, sizeof(ev), 9);
    fill(mac, sizeof(mac), 77);
    talos_wr_init(&w, 0);
    /* The largest evidence round-trips, pointing into the body. */
    assert_int_equal(talos_mig_evidence_encode(ev, TALOS_EVIDENCE_MAX, mac, &w), TALOS_OK);
    assert_int_equal(w.len, TALOS_MIG_EVIDENCE_MAX_BYTES);
    assert_int_equal(talos_mig_check(TALOS_MIG_EVIDENCE, TALOS_MIG_FROM_T, (uint32_t)w.len), TALOS_OK);
    assert_int_equal(talos_mig_evidence_decode(w.p, w.len, &p, &n, &m), TALOS_OK);
    assert_true(p == w.p + 4 && n == TALOS_EVIDENCE_MAX && m == w.p + 4 + n);
    assert_memory_equal(p, ev, n);
    assert_memory_equal(m, mac, sizeof(mac));
    /* Its layout: u32 length ‖ bytes (the wire writer's bytes) ‖ MAC. */
    assert_int_equal(talos_be32_get(w.p), TALOS_EVIDENCE_MAX);
    /* Every truncation. */
    for (size_t k = 0; k < w.len; k += (k < 8 || k > w.len - 40 ? 1 : 509)) {
        assert_int_equal(talos_mig_evidence_decode(w.p, k, &p, &n, &m), TALOS_ERR_MALFORMED);
        assert_true(p == NULL && n == 0 && m == NULL);
    }
    /* A byte after the MAC. */
    talos_wr_u8(&w, 0);
    assert_int_equal(talos_mig_evidence_decode(w.p, w.len, &p, &n, &m), TALOS_ERR_MALFORMED);
    /* One byte over the bound: refused both ways. */
    talos_wr_reset(&w);
    assert_int_equal(talos_mig_evidence_encode(ev, sizeof(ev), mac, &w), TALOS_ERR_TOO_LARGE);
    assert_int_equal(w.len, 0);
    talos_wr_bytes(&w, ev, sizeof(ev));
    talos_wr_raw(&w, mac, sizeof(mac));
    assert_int_equal(talos_mig_evidence_decode(w.p, w.len, &p, &n, &m), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_mig_check(TALOS_MIG_EVIDENCE, TALOS_MIG_FROM_T, (uint32_t)w.len),
                     TALOS_ERR_TOO_LARGE);
    /* Empty evidence is a valid encoding (the verifier refuses it); a
     * record without its MAC is not. */
    talos_wr_reset(&w);
    assert_int_equal(talos_mig_evidence_encode(NULL, 0, mac, &w), TALOS_OK);
    assert_int_equal(talos_mig_evidence_decode(w.p, w.len, &p, &n, &m), TALOS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(talos_mig_evidence_decode(w.p, w.len - 1, &p, &n, &m), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_mig_check(TALOS_MIG_EVIDENCE, TALOS_MIG_FROM_T, 4), TALOS_ERR_MALFORMED);
    talos_wr_free(&w);
}

/* A token is the whole body of PREPARED, HANDOFF and ABORT: the record
 * table bounds them to a token, and the token's layout is fixed. */
static void tokens(void **state)
{
    static const uint8_t kinds[] = {TALOS_MIG_PREPARED, TALOS_MIG_HANDOFF, TALOS_MIG_ABORT};
    uint8_t key[TALOS_MIG_KEY_BYTES], enc[TALOS_TOKEN_BYTES];
    struct talos_token t = {.version = 0x0102030405060708ull, .code = TALOS_ERR_MAC}, got;
    (void)state;
    fill(key, sizeof(key), 10);
    fill(t.session, sizeof(t.session), 11);
    fill(t.lineage, sizeof(t.lineage), 12);
    fill(t.head, sizeof(t.head), 13);
    for (size_t i = 0; i < sizeof(kinds); i++) {
        t.kind = kinds[i];
        assert_int_equal(talos_token_seal(&t, key, enc), TALOS_OK);
        assert_int_equal(enc[0], kinds[i]);
        assert_memory_equal(enc + 1, t.session, TALOS_SESSION_BYTES);
        assert_memory_equal(enc + 17, t.lineage, TALOS_LINEAGE_BYTES);
        assert_int_equal(talos_be64_get(enc + 33), t.version);
        assert_memory_equal(enc + 41, t.head, TALOS_MIG_HASH_BYTES);
        assert_int_equal((int32_t)talos_be32_get(enc + 73), TALOS_ERR_MAC);
        assert_memory_equal(enc + 77, t.mac, TALOS_TOKEN_MAC_BYTES);
        assert_int_equal(talos_token_open(enc, sizeof(enc), key, kinds[i], t.session, t.lineage,
                                          &got), TALOS_OK);
        assert_true(got.version == t.version && got.code == t.code);
        uint8_t from = kinds[i] == TALOS_MIG_HANDOFF ? TALOS_MIG_FROM_S : TALOS_MIG_FROM_T;
        assert_int_equal(talos_mig_check(kinds[i], from, TALOS_TOKEN_BYTES), TALOS_OK);
        assert_int_equal(talos_mig_check(kinds[i], from, TALOS_TOKEN_BYTES - 1), TALOS_ERR_MALFORMED);
        assert_int_equal(talos_mig_check(kinds[i], from, TALOS_TOKEN_BYTES + 1), TALOS_ERR_TOO_LARGE);
        /* What a node reads (no key): the same fields, checked by no one. */
        assert_int_equal(talos_token_decode(enc, sizeof(enc), &got), TALOS_OK);
        assert_true(got.kind == kinds[i] && got.version == t.version && got.code == t.code);
        assert_memory_equal(got.session, t.session, TALOS_SESSION_BYTES);
        assert_int_equal(talos_token_decode(enc, sizeof(enc) - 1, &got), TALOS_ERR_MALFORMED);
        assert_int_equal(got.kind, 0);
    }
}

/* The record header: u32 length ‖ u8 type, its decoder refusing what
 * talos_mig_check refuses. */
static void header(void **state)
{
    uint8_t h[TALOS_MIG_HDR], type = 0;
    uint32_t len = 0;
    (void)state;
    talos_mig_hdr_encode(TALOS_MIG_HANDOFF, TALOS_TOKEN_BYTES, h);
    assert_int_equal(talos_be32_get(h), TALOS_TOKEN_BYTES);
    assert_int_equal(h[4], TALOS_MIG_HANDOFF);
    assert_int_equal(talos_mig_hdr_decode(h, TALOS_MIG_FROM_S, &type, &len), TALOS_OK);
    assert_true(type == TALOS_MIG_HANDOFF && len == TALOS_TOKEN_BYTES);
    assert_int_equal(talos_mig_hdr_decode(h, TALOS_MIG_FROM_T, &type, &len), TALOS_ERR_PROTOCOL);
    talos_mig_hdr_encode(TALOS_MIG_HANDOFF, TALOS_TOKEN_BYTES + 1, h);
    assert_int_equal(talos_mig_hdr_decode(h, TALOS_MIG_FROM_S, &type, &len), TALOS_ERR_TOO_LARGE);
    talos_mig_hdr_encode(0xff, 0, h);
    assert_int_equal(talos_mig_hdr_decode(h, TALOS_MIG_FROM_S, &type, &len), TALOS_ERR_PROTOCOL);
}

static void be64(void **state)
{
    uint8_t b[8];
    (void)state;
    talos_be64_put(b, 0x0102030405060708ull);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[7], 8);
    assert_true(talos_be64_get(b) == 0x0102030405060708ull);
}

/* The migration's fixed host bodies (core/msg.c): MIGRATE_IN, GIVE_UP and
 * the ACTIVATE request, in the layout talosd packs and reads by hand. */
static void host_bodies(void **state)
{
    struct talos_msg_migrate_in mi = {.prefault_grant = 0x0102030405060708ull}, mo;
    struct talos_host_activate act = {.version = 0x1112131415161718ull}, back;
    uint8_t b[TALOS_MSG_MIGRATE_IN_BYTES + 1], g[TALOS_MSG_GIVE_UP_BYTES + 1];
    int32_t code = 0;
    (void)state;
    fill(mi.lineage, sizeof(mi.lineage), 14);
    talos_msg_migrate_in_encode(&mi, b);
    assert_memory_equal(b, mi.lineage, 16);
    assert_true(talos_be32_get(b + 16) == 0x01020304u && talos_be32_get(b + 20) == 0x05060708u);
    assert_int_equal(talos_msg_migrate_in_decode(b, TALOS_MSG_MIGRATE_IN_BYTES, &mo), TALOS_OK);
    assert_memory_equal(&mo, &mi, sizeof(mi));
    for (size_t n = 0; n <= sizeof(b); n++)
        if (n != TALOS_MSG_MIGRATE_IN_BYTES)
            assert_int_equal(talos_msg_migrate_in_decode(b, n, &mo), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_msg_check(TALOS_MSG_MIGRATE_IN, TALOS_MSG_FROM_HOST, 24), TALOS_OK);

    talos_msg_give_up_encode(TALOS_ERR_TIMEOUT, g);
    assert_int_equal((int32_t)talos_be32_get(g), TALOS_ERR_TIMEOUT);
    assert_int_equal(talos_msg_give_up_decode(g, TALOS_MSG_GIVE_UP_BYTES, &code), TALOS_OK);
    assert_int_equal(code, TALOS_ERR_TIMEOUT);
    for (size_t n = 0; n <= sizeof(g); n++)
        if (n != TALOS_MSG_GIVE_UP_BYTES)
            assert_int_equal(talos_msg_give_up_decode(g, n, &code), TALOS_ERR_MALFORMED);

    fill(act.lineage, sizeof(act.lineage), 15);
    talos_host_activate_encode(&act, b);
    assert_memory_equal(b, act.lineage, 16);
    assert_true(talos_be32_get(b + 16) == 0x11121314u && talos_be32_get(b + 20) == 0x15161718u);
    assert_int_equal(talos_host_activate_decode(b, TALOS_HOST_ACTIVATE_BYTES, &back), TALOS_OK);
    assert_memory_equal(&back, &act, sizeof(act));
    for (size_t n = 0; n <= sizeof(b); n++)
        if (n != TALOS_HOST_ACTIVATE_BYTES)
            assert_int_equal(talos_host_activate_decode(b, n, &back), TALOS_ERR_MALFORMED);
}

/* PREFAULT (host -> TA): u64 bytes. */
static void prefault_body(void **state)
{
    uint8_t b[TALOS_MSG_PREFAULT_BYTES + 1];
    uint64_t bytes = 0;
    (void)state;
    talos_msg_prefault_encode(0x0102030405060708ull, b);
    assert_true(talos_be32_get(b) == 0x01020304u && talos_be32_get(b + 4) == 0x05060708u);
    assert_int_equal(talos_msg_prefault_decode(b, TALOS_MSG_PREFAULT_BYTES, &bytes), TALOS_OK);
    assert_true(bytes == 0x0102030405060708ull);
    for (size_t n = 0; n <= sizeof(b); n++)
        if (n != TALOS_MSG_PREFAULT_BYTES)
            assert_int_equal(talos_msg_prefault_decode(b, n, &bytes), TALOS_ERR_MALFORMED);
    assert_int_equal(talos_msg_check(TALOS_MSG_PREFAULT, TALOS_MSG_FROM_HOST, 8), TALOS_OK);
    assert_int_equal(talos_msg_check(TALOS_MSG_PREFAULT, TALOS_MSG_FROM_TA, 8), TALOS_ERR_PROTOCOL);
}

/* START_FAILED (TA -> host): i32 status ‖ str reason, within the table's
 * bounds; a reason that does not fit is refused, not cut. */
static void start_failed(void **state)
{
    struct talos_msg_start_failed f = {.status = TALOS_ERR_NOT_IMPLEMENTED}, back;
    struct talos_wr w;
    (void)state;
    snprintf(f.reason, sizeof(f.reason), "%s", "the skeleton backend's init: not implemented");
    talos_wr_init(&w, 0);
    talos_msg_start_failed_encode(&f, &w);
    assert_int_equal(w.err, TALOS_OK);
    assert_int_equal((int32_t)talos_be32_get(w.p), TALOS_ERR_NOT_IMPLEMENTED);
    assert_int_equal(talos_msg_check(TALOS_MSG_START_FAILED, TALOS_MSG_FROM_TA, (uint32_t)w.len),
                     TALOS_OK);
    assert_int_equal(talos_msg_check(TALOS_MSG_START_FAILED, TALOS_MSG_FROM_HOST, (uint32_t)w.len),
                     TALOS_ERR_PROTOCOL);
    assert_int_equal(talos_msg_start_failed_decode(w.p, w.len, &back), TALOS_OK);
    assert_int_equal(back.status, f.status);
    assert_string_equal(back.reason, f.reason);
    for (size_t n = 0; n < w.len; n++)
        assert_int_equal(talos_msg_start_failed_decode(w.p, n, &back), TALOS_ERR_MALFORMED);
    talos_wr_reset(&w);
    talos_wr_u32(&w, (uint32_t)TALOS_ERR_IO);
    char longer[TALOS_MSG_START_REASON_MAX + 1];
    memset(longer, 'x', sizeof(longer) - 1), longer[sizeof(longer) - 1] = 0;
    talos_wr_str(&w, longer);
    assert_int_equal(talos_msg_start_failed_decode(w.p, w.len, &back), TALOS_ERR_MALFORMED);
    assert_int_equal(back.status, 0);
    talos_wr_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_records), cmocka_unit_test(sizes),  cmocka_unit_test(chunk_bounds),
        cmocka_unit_test(evidence),      cmocka_unit_test(tokens), cmocka_unit_test(be64),
        cmocka_unit_test(host_bodies),   cmocka_unit_test(header),  cmocka_unit_test(start_failed),
        cmocka_unit_test(prefault_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
