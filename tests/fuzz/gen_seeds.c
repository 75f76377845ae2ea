/* Seed inputs for the fuzz harnesses, made with the project's own encoders
 * so that each seed is a valid encoding: `make fuzz-seeds` runs it into
 * tests/fuzz/corpus/<harness>/ (committed). Deterministic: the same tree
 * gives the same files (Ed25519 signatures are deterministic too). The
 * seeds of a backend's own formats are made by its tee/<name>/tests/
 * gen_seeds.c, which make fuzz-seeds runs too.
 *
 * One file over 400 lines: one short generator per harness, sharing the encoders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cert.h"
#include "core/cfg/internal.h"
#include "core/crypto.h"
#include "core/merkle.h"
#include "core/mig.h"
#include "core/migctx.h"
#include "core/migrec.h"
#include "core/msg.h"
#include "core/sess.h"
#include "core/wire.h"
#include "node/talosd/peerproto.h"
#include "talos/err.h"
#include "talos/ta.h"
#include "talos/talos.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/seeds.h"

static const char *root;
static int failed;

static void put(const char *harness, const char *name, const void *p, size_t n)
{
    if (seed_write(root, harness, name, p, n) != 0)
        failed = 1;
}

static void put_wr(const char *harness, const char *name, struct talos_wr *w)
{
    if (w->err) {
        fprintf(stderr, "gen_seeds: %s/%s: %s\n", harness, name, talos_strerror(w->err));
        failed = 1;
    } else {
        put(harness, name, w->p, w->len);
    }
    talos_wr_reset(w);
}

/* --- wire_reader: u8 n ‖ n ops ‖ buffer (see fuzz_wire_reader.c) --------------- */
static void gen_wire(struct talos_wr *w)
{
    /* u8 u16 u32 u64 raw[16] bytes(max 64) str(cap 32) left finish */
    static const uint8_t ops[] = {0x00, 0x01, 0x02, 0x03, 0x94, 0xa5, 0x86, 0x07, 0x08};
    talos_wr_u8(w, sizeof(ops));
    talos_wr_raw(w, ops, sizeof(ops));
    talos_wr_u8(w, 0x7f);
    talos_wr_u16(w, 0xbeef);
    talos_wr_u32(w, 0x01020304);
    talos_wr_u64(w, 0x1122334455667788ull);
    talos_wr_raw(w, "sixteen raw byte", 16);
    talos_wr_bytes(w, "length-prefixed", 15);
    talos_wr_str(w, "a string");
    put_wr("wire_reader", "all-ops", w);

    static const uint8_t ops2[] = {0x56, 0x56, 0x56, 0x08};
    talos_wr_u8(w, sizeof(ops2));
    talos_wr_raw(w, ops2, sizeof(ops2));
    talos_wr_str(w, "");
    talos_wr_str(w, "x");
    talos_wr_str(w, "sixteen chars!!!");
    put_wr("wire_reader", "strings", w);
}

/* --- msg_header: u8 receiver ‖ frames --------------------------------------------- */
static void frame(struct talos_wr *w, uint16_t type, const struct talos_wr *body)
{
    talos_wr_u32(w, (uint32_t)body->len);
    talos_wr_u16(w, type);
    talos_wr_u16(w, 0);
    talos_wr_raw(w, body->p, body->len);
}

static void gen_msg(struct talos_wr *w)
{
    struct talos_wr b;
    uint8_t nonce[TALOS_NONCE_BYTES], lineage[TALOS_LINEAGE_BYTES];

    seed_fill(nonce, sizeof(nonce), 1);
    seed_fill(lineage, sizeof(lineage), 2);
    talos_wr_init(&b, 0);
    /* Host -> TA: CALL, ATTEST, INFO, STOP. */
    talos_wr_u8(w, 0);
    talos_wr_str(&b, "put");
    talos_wr_u32(&b, 2);
    talos_wr_str(&b, "apple");
    talos_wr_str(&b, "red");
    frame(w, TALOS_MSG_CALL, &b);
    talos_wr_reset(&b);
    talos_wr_raw(&b, nonce, sizeof(nonce));
    frame(w, TALOS_MSG_ATTEST, &b);
    talos_wr_reset(&b);
    frame(w, TALOS_MSG_INFO, &b);
    frame(w, TALOS_MSG_STOP, &b);
    put_wr("msg_header", "host-to-ta", w);
    /* TA -> host: READY, REPLY, OCALL. */
    talos_wr_u8(w, 1);
    talos_wr_raw(&b, lineage, sizeof(lineage));
    talos_wr_u64(&b, 0);
    talos_wr_str(&b, "kvstore");
    frame(w, TALOS_MSG_READY, &b);
    talos_wr_reset(&b);
    talos_wr_u32(&b, 0);
    talos_wr_u64(&b, 1);
    talos_wr_str(&b, "red");
    talos_wr_str(&b, "");
    frame(w, TALOS_MSG_REPLY, &b);
    talos_wr_reset(&b);
    talos_wr_str(&b, "time");
    talos_wr_bytes(&b, NULL, 0);
    frame(w, TALOS_MSG_OCALL, &b);
    put_wr("msg_header", "ta-to-host", w);
    talos_wr_free(&b);
}

/* --- mig_records: a record header, tokens, a report ------------------------------ */
static void gen_mig(struct talos_wr *w)
{
    static const uint8_t kinds[] = {TALOS_MIG_PREPARED, TALOS_MIG_HANDOFF, TALOS_MIG_RECEIPT,
                                    TALOS_MIG_ABORT};
    uint8_t tok[TALOS_TOKEN_BYTES];
    struct talos_mig_report rep;
    char name[32];

    for (size_t i = 0; i < sizeof(kinds); i++) {
        struct talos_token t = {.kind = kinds[i], .version = 41 + i};
        seed_fill(t.session, sizeof(t.session), 3);
        seed_fill(t.lineage, sizeof(t.lineage), 4);
        seed_fill(t.head, sizeof(t.head), 5);
        t.code = kinds[i] == TALOS_MIG_ABORT ? TALOS_ERR_MAC : 0;
        if (talos_token_seal(&t, fuzz_token_key, tok) != TALOS_OK)
            failed = 1;
        snprintf(name, sizeof(name), "token-%u", kinds[i]);
        put("mig_records", name, tok, sizeof(tok));
    }
    memset(&rep, 0, sizeof(rep));
    seed_fill(rep.lineage, sizeof(rep.lineage), 4);
    rep.version = 42;
    seed_fill(rep.head, sizeof(rep.head), 6);
    rep.prepare_ns = 1000000, rep.checkpoint_ns = 200000, rep.transfer_ns = 3000000;
    rep.restore_ns = 400000, rep.activate_ns = 50000, rep.downtime_ns = 4000000;
    rep.total_ns = 9000000, rep.state_bytes = 65536;
    rep.token_kind = TALOS_MIG_HANDOFF;
    memcpy(rep.token, tok, sizeof(tok));
    talos_mig_report_encode(&rep, w);
    put_wr("mig_records", "report", w);
    /* A record header: HELLO from the source, 73 bytes. */
    talos_wr_u8(w, TALOS_MIG_HELLO);
    talos_wr_u8(w, TALOS_MIG_FROM_S);
    talos_wr_u32(w, 73);
    put_wr("mig_records", "hello-header", w);
    /* A THREADS record: the serve loop's context, one frame. */
    struct talos_mig_threads th = {.n = 1};
    th.t[0].resume = 0x402f0b;
    th.t[0].n_ret = 1;
    th.t[0].ret[0] = 0x401234;
    if (talos_mig_threads_encode(&th, w) != TALOS_OK)
        failed = 1;
    put_wr("mig_records", "threads", w);
}

/* --- mig_records: each record body of core/migrec.h, the host bodies of core/msg.h --- */
static void gen_bodies(struct talos_wr *w)
{
    struct talos_mig_hello h = {.version = TALOS_MIG_VERSION, .arena_hint = 1u << 20};
    struct talos_mig_hello_ack a = {.version = TALOS_MIG_VERSION};
    struct talos_mig_begin b = {.version = 9, .arena_bytes = 3 * TALOS_PAGE, .persist_bytes = 5000,
                                .head_version = 8};
    struct talos_mig_chunk c = {.seq = 1, .first = 64, .n_pages = 3};
    struct talos_mig_manifest m = {.n_chunks = 2};
    struct talos_mig_round r = {.round = 1, .arena_pages = 3};
    struct talos_mig_receipt rc = {.restore_ns = 400000, .activate_ns = 50000};
    struct talos_msg_migrate_in mi = {.prefault_grant = 64u << 20};
    struct talos_host_activate act = {.version = 42};
    uint8_t buf[TALOS_MIG_RECEIPT_BYTES], ev[300];

    seed_fill(h.session, sizeof(h.session), 3), seed_fill(h.nonce, sizeof(h.nonce), 4);
    seed_fill(h.lineage, sizeof(h.lineage), 5), seed_fill(a.nonce, sizeof(a.nonce), 6);
    seed_fill(b.head, sizeof(b.head), 7), seed_fill(m.root, sizeof(m.root), 8),
        seed_fill(m.head, sizeof(m.head), 9);
    seed_fill(rc.token, sizeof(rc.token), 10), seed_fill(mi.lineage, sizeof(mi.lineage), 11);
    seed_fill(act.lineage, sizeof(act.lineage), 12), seed_fill(ev, sizeof(ev), 13);
    rc.token[0] = TALOS_MIG_RECEIPT;
    talos_mig_hello_encode(&h, buf), put("mig_records", "hello", buf, TALOS_MIG_HELLO_BYTES);
    talos_mig_hello_ack_encode(&a, buf), put("mig_records", "hello-ack", buf, TALOS_MIG_HELLO_ACK_BYTES);
    talos_mig_begin_encode(&b, buf), put("mig_records", "begin", buf, TALOS_MIG_BEGIN_BYTES);
    if (talos_mig_chunk_encode(&c, buf) != TALOS_OK)
        failed = 1;
    put("mig_records", "chunk-header", buf, TALOS_MIG_CHUNK_HDR_BYTES);
    talos_mig_manifest_encode(&m, buf), put("mig_records", "manifest", buf, TALOS_MIG_MANIFEST_BYTES);
    talos_mig_round_encode(&r, buf), put("mig_records", "round", buf, TALOS_MIG_ROUND_BYTES);
    talos_mig_round_ack_encode(1, buf), put("mig_records", "round-ack", buf, TALOS_MIG_ROUND_ACK_BYTES);
    talos_mig_receipt_encode(&rc, buf), put("mig_records", "receipt", buf, TALOS_MIG_RECEIPT_BYTES);
    talos_msg_migrate_in_encode(&mi, buf);
    put("mig_records", "migrate-in", buf, TALOS_MSG_MIGRATE_IN_BYTES);
    talos_msg_give_up_encode(TALOS_ERR_TIMEOUT, buf);
    put("mig_records", "give-up", buf, TALOS_MSG_GIVE_UP_BYTES);
    talos_host_activate_encode(&act, buf);
    put("mig_records", "activate", buf, TALOS_HOST_ACTIVATE_BYTES);
    static const uint8_t bind_mac[TALOS_MIG_BIND_MAC_BYTES] = {0x5a};
    if (talos_mig_evidence_encode(ev, sizeof(ev), bind_mac, w) != TALOS_OK)
        failed = 1;
    put_wr("mig_records", "evidence", w);
}

/* --- cfg_file: a small model through the builder ------------------------------------ */
static void gen_cfg(void)
{
    struct talos_cfg *cfg = NULL;
    uint8_t *file = NULL;
    size_t len = 0;
    int rc = TALOS_OK;

    /* The empty CFG. */
    if ((rc = cfg_new(62, &cfg)) == TALOS_OK && (rc = cfg_finalize(cfg)) == TALOS_OK &&
        (rc = talos_cfg_serialize(cfg, &file, &len)) == TALOS_OK) {
        put("cfg_file", "empty-file", file, len);
        put("cfg_file", "empty-body", file, len - TALOS_CFG_DIGEST_BYTES);
    }
    free(file);
    file = NULL;
    talos_cfg_free(cfg);
    cfg = NULL;
    if (rc != TALOS_OK)
        goto out;

    /* main: 3 blocks, a call to the migration point, an indirect call, an
     * indirect jump; the migration point; an ecall handler with a tail call. */
    const uint64_t f0 = 0x401000, f1 = 0x401100, f2 = 0x401200;
    if ((rc = cfg_new(62, &cfg)) != TALOS_OK)
        goto out;
    memset(cfg->code_digest, 0xc0, sizeof(cfg->code_digest));
    if ((rc = cfg_func_begin(cfg, "main", 4, f0, 0x40)) != TALOS_OK ||
        (rc = cfg_add_block(cfg, f0)) != TALOS_OK ||
        (rc = cfg_add_block(cfg, f0 + 0x10)) != TALOS_OK ||
        (rc = cfg_add_block(cfg, f0 + 0x20)) != TALOS_OK ||
        (rc = cfg_add_edge(cfg, f0, f0 + 0x10, TALOS_CFG_EDGE_FALL)) != TALOS_OK ||
        (rc = cfg_add_edge(cfg, f0 + 0x10, f0, TALOS_CFG_EDGE_JUMP)) != TALOS_OK ||
        (rc = cfg_add_edge(cfg, f0 + 0x10, f0 + 0x20, TALOS_CFG_EDGE_FALL)) != TALOS_OK ||
        (rc = cfg_add_call(cfg, f0 + 0x0b, f0 + 0x10, f1, 0)) != TALOS_OK ||
        (rc = cfg_add_call(cfg, f0 + 0x1b, f0 + 0x20, 0, 1)) != TALOS_OK ||
        (rc = cfg_add_ijump(cfg, f0 + 0x30)) != TALOS_OK)
        goto out;
    if ((rc = cfg_func_begin(cfg, TALOS_CFG_MP_CALLEE, strlen(TALOS_CFG_MP_CALLEE), f1, 0x10)) !=
            TALOS_OK ||
        (rc = cfg_add_block(cfg, f1)) != TALOS_OK)
        goto out;
    if ((rc = cfg_func_begin(cfg, "handle_put", 10, f2, 0x20)) != TALOS_OK ||
        (rc = cfg_add_block(cfg, f2)) != TALOS_OK ||
        (rc = cfg_add_block(cfg, f2 + 0x10)) != TALOS_OK ||
        (rc = cfg_add_edge(cfg, f2, f2 + 0x10, TALOS_CFG_EDGE_FALL)) != TALOS_OK ||
        (rc = cfg_add_edge(cfg, f2 + 0x10, 0x402000, TALOS_CFG_EDGE_JUMP)) != TALOS_OK ||
        (rc = cfg_add_call(cfg, f2 + 0x08, f2 + 0x10, 0x400500, 0)) != TALOS_OK)
        goto out;
    if ((rc = cfg_add_ecall(cfg, f2)) != TALOS_OK || (rc = cfg_finalize(cfg)) != TALOS_OK ||
        (rc = talos_cfg_serialize(cfg, &file, &len)) != TALOS_OK)
        goto out;
    put("cfg_file", "small-file", file, len);
    put("cfg_file", "small-body", file, len - TALOS_CFG_DIGEST_BYTES);
    /* Make sure the parser takes what the writer wrote. */
    struct talos_cfg *back = NULL;
    if ((rc = talos_cfg_parse(file, len, &back)) != TALOS_OK)
        fprintf(stderr, "gen_seeds: the parser refuses the small CFG\n");
    talos_cfg_free(back);
out:
    if (rc != TALOS_OK) {
        fprintf(stderr, "gen_seeds: cfg: %s\n", talos_strerror(rc));
        failed = 1;
    }
    free(file);
    talos_cfg_free(cfg);
}

/* --- control_json ------------------------------------------------------------------- */
static void gen_control(void)
{
    static const struct {
        const char *name, *json;
    } reqs[] = {
        {"node", "{\"op\":\"node\"}"},
        {"ps", "{\"op\":\"ps\"}"},
        {"run", "{\"op\":\"run\",\"image\":\"/nonexistent/kvstore.ta\",\"mode\":\"switchless\"}"},
        {"call", "{\"op\":\"call\",\"id\":\"0123456789abcdef0123456789abcdef\",\"ecall\":\"put\","
                 "\"args\":[\"apple\",\"red\"]}"},
        {"attest", "{\"op\":\"attest\",\"id\":\"0123456789abcdef0123456789abcdef\",\"nonce\":"
                   "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}"},
        {"stop", "{\"op\":\"stop\",\"id\":\"0123456789abcdef0123456789abcdef\"}"},
        {"migrate", "{\"op\":\"migrate\",\"id\":\"0123456789abcdef0123456789abcdef\","
                    "\"to\":\"127.0.0.1:7102\"}"},
        {"resume", "{\"op\":\"resume\",\"id\":\"0123456789abcdef0123456789abcdef\",\"token\":"
                   "\"08000102030405060708090a0b0c0d0e0f\"}"},
        {"unknown-id", "{\"op\":\"call\",\"id\":\"ffffffffffffffffffffffffffffffff\","
                       "\"ecall\":\"get\",\"args\":[]}"},
        {"call-args-object", "{\"op\":\"call\",\"id\":\"0123456789abcdef0123456789abcdef\","
                             "\"ecall\":\"get\",\"args\":{\"a\":1}}"},
        {"call-17-args", "{\"op\":\"call\",\"id\":\"0123456789abcdef0123456789abcdef\","
                         "\"ecall\":\"e\",\"args\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
                         "\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\","
                         "\"16\",\"17\"]}"},
        {"call-arg-number", "{\"op\":\"call\",\"id\":\"0123456789abcdef0123456789abcdef\","
                            "\"ecall\":\"get\",\"args\":[\"k\",2]}"},
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
        put("control_json", reqs[i].name, reqs[i].json, strlen(reqs[i].json));
}

/* --- call_decode: CALL bodies -------------------------------------------------------- */
static void gen_call(struct talos_wr *w)
{
    talos_wr_str(w, "put");
    talos_wr_u32(w, 2);
    talos_wr_str(w, "apple");
    talos_wr_str(w, "red");
    put_wr("call_decode", "put", w);
    talos_wr_str(w, "echo");
    talos_wr_u32(w, 3);
    talos_wr_str(w, "one");
    talos_wr_bytes(w, "t\0o", 3);
    talos_wr_str(w, "");
    put_wr("call_decode", "echo", w);
    talos_wr_str(w, "get");
    talos_wr_u32(w, 1);
    talos_wr_str(w, "pear");
    put_wr("call_decode", "get", w);
    talos_wr_str(w, "bad");
    talos_wr_u32(w, 0);
    put_wr("call_decode", "bad", w);
}

/* --- mig_bodies: BEGIN, CHUNKs, MANIFEST as a target receives them ---------------- */
static void record(struct talos_wr *w, uint8_t type, const void *p, size_t n)
{
    talos_wr_u32(w, (uint32_t)n);
    talos_wr_u8(w, type);
    talos_wr_raw(w, p, n);
}

/* A stream for an arena of a_pages pages and the harness's 5000-byte
 * persist section (tests/fuzz/fuzz_mig_bodies.c PERSIST_LEN), the arena
 * sent in chunks of `per` pages, with the right root and chain head. */
static void chunk_rec(struct talos_wr *w, uint32_t seq, uint64_t first, uint32_t n,
                      const uint8_t *p)
{
    const struct talos_mig_chunk c = {.seq = seq, .first = first, .n_pages = n};
    uint8_t hdr[TALOS_MIG_CHUNK_HDR_BYTES];
    if (talos_mig_chunk_encode(&c, hdr) != TALOS_OK)
        failed = 1;
    talos_wr_u32(w, (uint32_t)(sizeof(hdr) + (size_t)n * TALOS_PAGE));
    talos_wr_u8(w, TALOS_MIG_CHUNK);
    talos_wr_raw(w, hdr, sizeof(hdr));
    talos_wr_raw(w, p, (size_t)n * TALOS_PAGE);
}

static void round_rec(struct talos_wr *w, uint32_t round, uint64_t pages)
{
    const struct talos_mig_round r = {.round = round, .arena_pages = pages};
    uint8_t body[TALOS_MIG_ROUND_BYTES];
    talos_mig_round_encode(&r, body);
    record(w, TALOS_MIG_ROUND, body, sizeof(body));
}

/* `rounds`: a pre-copy before the frozen part (docs/precopy.md): round 0
 * sends every arena page, page 0 with contents it had then; round 1 is the
 * mark the source sends right after; the frozen part sends page 0 again,
 * with its final contents, before the persist pages. */
static void gen_stream(struct talos_wr *w, const char *name, uint64_t a_pages, uint32_t per,
                       int rounds)
{
    enum { PERSIST = 5000 };
    uint64_t total = a_pages + (PERSIST + TALOS_PAGE - 1) / TALOS_PAGE;
    uint8_t *pages = calloc(total, TALOS_PAGE), *leaves = calloc(total, TALOS_HASH);
    uint8_t prev[TALOS_MIG_HASH_BYTES], body[TALOS_MIG_MANIFEST_BYTES];
    struct talos_mig_manifest man;
    struct talos_mig_begin begin = {.version = 9, .persist_bytes = PERSIST, .head_version = 8};
    struct talos_wr b;
    uint32_t seq = 0;

    if (!pages || !leaves) {
        failed = 1;
        free(pages);
        free(leaves);
        return;
    }
    for (uint64_t i = 0; i < a_pages; i++)
        seed_fill(pages + i * TALOS_PAGE, 64, (uint8_t)(20 + i)); /* the rest of each page 0 */
    seed_fill(pages + a_pages * TALOS_PAGE, PERSIST, 30);
    seed_fill(prev, sizeof(prev), 31);
    if (rounds) {
        uint8_t *stale = calloc(1, TALOS_PAGE);
        if (!stale) {
            failed = 1;
            goto out;
        }
        seed_fill(stale, 64, 99);
        round_rec(w, 0, a_pages);
        chunk_rec(w, seq++, 0, 1, stale);
        if (a_pages > 1)
            chunk_rec(w, seq++, 1, (uint32_t)(a_pages - 1), pages + TALOS_PAGE);
        round_rec(w, 1, a_pages);
        free(stale);
    }
    /* LINEAGE first: a target refuses a BEGIN before the lineage key. */
    struct talos_lineage_rec lin;
    memset(&lin, 0, sizeof(lin));
    seed_fill(lin.seed, sizeof(lin.seed), 32);
    seed_fill(lin.pub0, sizeof(lin.pub0), 33);
    lin.head_version = 8;
    memcpy(lin.head, prev, sizeof(prev));
    talos_wr_init(&b, 0);
    talos_lineage_rec_encode(&lin, &b);
    record(w, TALOS_MIG_LINEAGE, b.p, b.len);
    talos_wr_free(&b);
    begin.arena_bytes = a_pages * TALOS_PAGE;
    memcpy(begin.head, prev, sizeof(prev));
    uint8_t bbody[TALOS_MIG_BEGIN_BYTES];
    talos_mig_begin_encode(&begin, bbody);
    record(w, TALOS_MIG_BEGIN, bbody, sizeof(bbody));
    if (rounds)
        chunk_rec(w, seq++, 0, 1, pages); /* the page written during round 1 */
    for (uint64_t first = rounds ? a_pages : 0; first < total; seq++) {
        uint64_t end = first < a_pages ? a_pages : total;
        uint32_t n = (uint32_t)(end - first < per ? end - first : per);
        chunk_rec(w, seq, first, n, pages + first * TALOS_PAGE);
        first += n;
    }
    for (uint64_t i = 0; i < total; i++)
        talos_merkle_leaf(i, pages + i * TALOS_PAGE, leaves + i * TALOS_HASH);
    man.n_chunks = seq;
    talos_merkle_root(leaves, total, man.root);
    talos_chain_next(prev, 9, man.root, man.head);
    talos_mig_manifest_encode(&man, body);
    record(w, TALOS_MIG_MANIFEST, body, sizeof(body));
    put_wr("mig_bodies", name, w);
out:
    free(pages);
    free(leaves);
}

/* --- host_frames: u8 what ‖ what a TA sends; host_ret: u16 cap ‖ an answer ---------- */
static void gen_host(struct talos_wr *w)
{
    struct talos_wr b;
    uint8_t rd[TALOS_REPORT_DATA_BYTES], lineage[TALOS_LINEAGE_BYTES];

    seed_fill(rd, sizeof(rd), 3);
    seed_fill(lineage, sizeof(lineage), 4);
    talos_wr_init(&b, 0);
    /* REPLY after every kind of request the host serves meanwhile. */
    talos_wr_u8(w, 0);
    talos_wr_str(&b, "time");
    talos_wr_bytes(&b, NULL, 0);
    frame(w, TALOS_MSG_OCALL, &b);
    talos_wr_reset(&b);
    talos_wr_str(&b, "echo");
    talos_wr_bytes(&b, "hello", 5);
    frame(w, TALOS_MSG_OCALL, &b);
    talos_wr_reset(&b);
    talos_wr_str(&b, "nosuchocall");
    talos_wr_bytes(&b, NULL, 0);
    frame(w, TALOS_MSG_OCALL, &b);
    talos_wr_reset(&b);
    talos_wr_u16(&b, TALOS_HOST_REQ_QUOTE);
    talos_wr_bytes(&b, rd, sizeof(rd));
    frame(w, TALOS_MSG_HOST_REQ, &b);
    talos_wr_reset(&b);
    talos_wr_u16(&b, TALOS_HOST_REQ_SEAL_KEY);
    talos_wr_bytes(&b, "\0\0\0\1", 4);
    frame(w, TALOS_MSG_HOST_REQ, &b);
    talos_wr_reset(&b);
    talos_wr_u32(&b, (uint32_t)TALOS_ERR_NOT_FOUND);
    talos_wr_u64(&b, 7);
    talos_wr_bytes(&b, "out", 3);
    talos_wr_str(&b, "no such key");
    frame(w, TALOS_MSG_REPLY, &b);
    put_wr("host_frames", "reply-after-requests", w);
    talos_wr_reset(&b);
    talos_wr_u8(w, 1);
    talos_wr_raw(&b, lineage, sizeof(lineage));
    talos_wr_u64(&b, 0);
    talos_wr_str(&b, "kvstore");
    frame(w, TALOS_MSG_READY, &b);
    put_wr("host_frames", "ready", w);
    talos_wr_reset(&b);
    talos_wr_u8(w, 2);
    talos_wr_u64(&b, 42);
    talos_wr_u64(&b, 8192);
    talos_wr_str(&b, "ACTIVE");
    frame(w, TALOS_MSG_INFO_RET, &b);
    put_wr("host_frames", "info", w);
    talos_wr_free(&b);

    talos_wr_u16(w, 64);
    talos_wr_u32(w, 0);
    talos_wr_bytes(w, "hello", 5);
    put_wr("host_ret", "ok", w);
    talos_wr_u16(w, 4);
    talos_wr_u32(w, 0);
    talos_wr_bytes(w, "hello", 5);
    put_wr("host_ret", "too-large", w);
    talos_wr_u16(w, 64);
    talos_wr_u32(w, (uint32_t)TALOS_ERR_NOT_IMPLEMENTED);
    talos_wr_bytes(w, NULL, 0);
    put_wr("host_ret", "refused", w);
}

/* --- peer_offer: what peer_send_* writes -------------------------------------------- */
static void capture(const char *name, int which)
{
    static uint8_t buf[PEER_MSG_MAX + 8];
    struct peer_offer o = {.image_size = 1234567, .mode = 1};
    int sv[2] = {-1, -1}, rc = TALOS_OK;
    size_t n = 0;
    ssize_t k;

    seed_fill(o.lineage, sizeof(o.lineage), 12);
    seed_fill(o.image_sha, sizeof(o.image_sha), 13);
    struct peer_link l;
    uint8_t ticket[PEER_TICKET_BYTES];

    seed_fill(ticket, sizeof(ticket), 14);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        failed = 1;
        return;
    }
    peer_link_plain(&l, sv[1]);
    rc = which == 0   ? peer_send_offer(&l, &o)
         : which == 1 ? peer_send_answer(&l, TALOS_OK, 1, "send the image", NULL)
         : which == 2 ? peer_send_answer(&l, TALOS_ERR_EXISTS, 0, "this node already runs that lineage", NULL)
                      : peer_send_answer(&l, TALOS_OK, 0, "target ready", ticket);
    close(sv[1]);
    while (n < sizeof(buf) && (k = read(sv[0], buf + n, sizeof(buf) - n)) > 0)
        n += (size_t)k;
    close(sv[0]);
    if (rc != TALOS_OK)
        failed = 1;
    else
        put("peer_offer", name, buf, n);
}

/* --- sess_records: u8 which decoder ‖ bytes (see fuzz_sess_records.c) --------- */

/* One seed: the decoder's number, then what its encoder wrote from `skip` on
 * (a record's body after its header, an answer after its length). */
static void sess_seed(struct talos_wr *w, const char *name, uint8_t which, size_t skip)
{
    struct talos_wr s;
    talos_wr_init(&s, 0);
    talos_wr_u8(&s, which);
    if (!w->err && w->len >= skip)
        talos_wr_raw(&s, w->p + skip, w->len - skip);
    s.err = s.err ? s.err : w->err;
    put_wr("sess_records", name, &s);
    talos_wr_free(&s);
    talos_wr_reset(w);
}

static void gen_sess(struct talos_wr *w)
{
    static const uint8_t lin[TALOS_LINEAGE_BYTES] = {0x11, 0x22};
    uint8_t pre[TALOS_SESS_PREAMBLE_BYTES];
    const uint8_t *argv[2] = {(const uint8_t *)"apple", (const uint8_t *)"red"};
    const size_t lens[2] = {5, 3};

    talos_sess_preamble_encode(lin, pre);
    talos_wr_raw(w, pre, sizeof(pre));
    sess_seed(w, "preamble", 0, 0);
    talos_sess_answer_encode(TALOS_ERR_MOVED, "127.0.0.1:7102", w);
    sess_seed(w, "answer-moved", 1, 4);
    {
        uint8_t hdr[TALOS_SESS_HDR]; /* a header alone, for the header decoder */
        talos_sess_hdr_encode(TALOS_SESS_HELLO, 1 + TALOS_SESS_CLIENT_ID_BYTES, hdr);
        talos_wr_raw(w, hdr, sizeof(hdr));
        sess_seed(w, "header-hello", 2, 0);
    }
    talos_sess_hello_encode(&(struct talos_sess_hello){.proto = TALOS_SESS_PROTO}, w);
    sess_seed(w, "hello", 3, TALOS_SESS_HDR);
    struct talos_sess_welcome wel = {.proto = TALOS_SESS_PROTO, .version = 7, .last_seq = 3};
    memcpy(wel.lineage, lin, sizeof(lin));
    talos_sess_welcome_encode(&wel, w);
    sess_seed(w, "welcome", 4, TALOS_SESS_HDR);
    talos_sess_call_encode(4, TALOS_SESS_CALL_RETRY, "put", 2, argv, lens, w);
    sess_seed(w, "call-retry", 5, TALOS_SESS_HDR);
    talos_sess_result_encode(&(struct talos_sess_result){.seq = 4, .version = 8, .out = (const uint8_t *)"ok",
                                                         .out_len = 2, .flags = TALOS_SESS_RESULT_REPLAYED},
                             w);
    sess_seed(w, "result-replayed", 6, TALOS_SESS_HDR);
    talos_sess_end_encode(&(struct talos_sess_end){.code = TALOS_ERR_MOVED, .reason = "127.0.0.1:7102"}, w);
    sess_seed(w, "end-moved", 7, TALOS_SESS_HDR);
    talos_msg_session_encode(&(struct talos_msg_session){.sid = 9, .op = TALOS_SESS_OP_DATA,
                                                         .data = pre, .len = sizeof(pre)},
                             w);
    sess_seed(w, "frame-data", 8, 0);
    talos_msg_session_ret_encode(&(struct talos_msg_session_ret){.status = TALOS_OK, .version = 8,
                                                                 .flags = TALOS_SESS_RET_MORE,
                                                                 .data = pre, .len = sizeof(pre)},
                                 w);
    sess_seed(w, "frame-ret-more", 9, 0);
}

int main(int argc, char **argv)
{
    struct talos_wr w;
    int rc = seed_root(argc, argv, "gen_seeds", &root);

    if (rc != 0)
        return rc;
    talos_wr_init(&w, 0);
    gen_wire(&w);
    gen_msg(&w);
    gen_mig(&w);
    gen_bodies(&w);
    gen_cfg();
    gen_control();
    gen_call(&w);
    gen_host(&w);
    gen_sess(&w);
    gen_stream(&w, "one-page", 1, 64, 0);
    gen_stream(&w, "three-pages-by-two", 3, 2, 0);
    gen_stream(&w, "precopy-three-pages", 3, 64, 1);
    capture("offer", 0);
    capture("answer-need-image", 1);
    capture("answer-refused", 2);
    capture("answer-ready-ticket", 3);
    talos_wr_free(&w);
    return failed;
}
