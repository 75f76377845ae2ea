/* core/wire.c readers (talos_rd_*), the codec under every TALOS decoder.
 *
 * Input: u8 n ‖ n op bytes ‖ the buffer read. An op byte's low nibble picks
 * a reader (u8 u16 u32 u64 raw bytes str left finish), its high nibble a
 * size from a table (raw length, bytes max, str capacity). Checked after
 * every op: the offset never passes the end, an error is sticky and its
 * reads return zeros, every value is the big-endian bytes at the offset, a
 * byte string points inside the buffer within its bound, a string is
 * NUL-terminated without an inner NUL. When the whole script succeeds, the
 * writers (talos_wr_*) replaying it give back the bytes read, and a writer
 * limited to one byte less refuses them. */
#include <string.h>

#include "core/wire.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

enum { OP_U8, OP_U16, OP_U32, OP_U64, OP_RAW, OP_BYTES, OP_STR, OP_LEFT, OP_FINISH, N_OPS };

static const size_t raw_n[16] = {0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 64, 100, 255, 4096};
static const size_t bytes_max[16] = {0,  1,  2,  3,   4,   7,    8,        16,
                                     31, 32, 64, 255, 256, 4096, 1u << 20, SIZE_MAX};
static const size_t str_cap[16] = {0,  1,  2,  3,   4,   8,    16,   17,
                                   32, 64, 65, 128, 256, 1024, 4096, 65536};

/* What a successful op read, to replay into a writer. */
struct rec {
    uint8_t op;
    uint64_t v;
    const uint8_t *p;
    size_t n;
};

static uint8_t strbuf[65536];
static uint8_t rawbuf[4096];

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void replay(const struct rec *recs, size_t n, struct talos_wr *w)
{
    for (size_t i = 0; i < n; i++) {
        const struct rec *c = &recs[i];
        switch (c->op) {
        case OP_U8:
            talos_wr_u8(w, (uint8_t)c->v);
            break;
        case OP_U16:
            talos_wr_u16(w, (uint16_t)c->v);
            break;
        case OP_U32:
            talos_wr_u32(w, (uint32_t)c->v);
            break;
        case OP_U64:
            talos_wr_u64(w, c->v);
            break;
        case OP_RAW:
            talos_wr_raw(w, c->p, c->n);
            break;
        case OP_BYTES:
            talos_wr_bytes(w, c->p, c->n);
            break;
        case OP_STR:
            talos_wr_str(w, (const char *)c->p);
            break;
        default:
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rec recs[256];
    struct talos_rd r;
    size_t n_ops = 0, n_recs = 0;
    const uint8_t *ops = NULL, *buf = NULL;
    size_t len = 0;
    /* Copies of the strings read (str ops), freed at the end. */
    char *strs[256] = {0};
    size_t n_strs = 0;

    if (size < 1)
        return 0;
    n_ops = data[0];
    if (n_ops > size - 1)
        n_ops = size - 1;
    ops = data + 1;
    buf = data + 1 + n_ops;
    len = size - 1 - n_ops;
    talos_rd_init(&r, buf, len);

    for (size_t i = 0; i < n_ops; i++) {
        uint8_t op = (uint8_t)(ops[i] & 15) % N_OPS, k = ops[i] >> 4;
        size_t off = r.off;
        int err = r.err;
        struct rec c = {.op = op};

        switch (op) {
        case OP_U8:
        case OP_U16:
        case OP_U32:
        case OP_U64: {
            static const size_t width[] = {1, 2, 4, 8};
            size_t wd = width[op];
            uint64_t v = op == OP_U8    ? talos_rd_u8(&r)
                         : op == OP_U16 ? talos_rd_u16(&r)
                         : op == OP_U32 ? talos_rd_u32(&r)
                                        : talos_rd_u64(&r);
            if (r.err) {
                FUZZ_CHECK(v == 0);
                FUZZ_CHECK(err || len - off < wd);
            } else {
                FUZZ_CHECK(r.off == off + wd);
                FUZZ_CHECK(v == be(buf + off, wd));
            }
            c.v = v;
            break;
        }
        case OP_RAW: {
            size_t n = raw_n[k];
            memset(rawbuf, 0xa5, sizeof(rawbuf));
            talos_rd_raw(&r, rawbuf, n);
            if (r.err) {
                FUZZ_CHECK(err || len - off < n);
                for (size_t j = 0; j < n; j++)
                    FUZZ_CHECK(rawbuf[j] == 0);
            } else {
                FUZZ_CHECK(r.off == off + n);
                FUZZ_CHECK(n == 0 || memcmp(rawbuf, buf + off, n) == 0);
            }
            c.p = buf + off, c.n = n;
            break;
        }
        case OP_BYTES: {
            size_t n = 12345;
            const uint8_t *p = talos_rd_bytes(&r, &n, bytes_max[k]);
            if (r.err) {
                FUZZ_CHECK(p == NULL && n == 0);
            } else {
                FUZZ_CHECK(p == buf + off + 4);
                FUZZ_CHECK(n <= bytes_max[k] && n == be(buf + off, 4));
                FUZZ_CHECK(r.off == off + 4 + n && r.off <= len);
            }
            c.p = p, c.n = n;
            break;
        }
        case OP_STR: {
            size_t cap = str_cap[k];
            memset(strbuf, 0xa5, sizeof(strbuf));
            talos_rd_str(&r, (char *)strbuf, cap);
            if (cap == 0) {
                FUZZ_CHECK(r.err && strbuf[0] == 0xa5);
            } else if (r.err) {
                FUZZ_CHECK(strbuf[0] == 0);
            } else {
                size_t n = (size_t)be(buf + off, 4);
                FUZZ_CHECK(n < cap && r.off == off + 4 + n);
                FUZZ_CHECK(strbuf[n] == 0 && strlen((char *)strbuf) == n);
                FUZZ_CHECK(memcmp(strbuf, buf + off + 4, n) == 0);
                if (n_strs < 256 && (strs[n_strs] = strdup((char *)strbuf)))
                    c.p = (const uint8_t *)strs[n_strs++];
                else
                    r.err = TALOS_ERR_NOMEM; /* cannot replay it: stop checking */
            }
            break;
        }
        case OP_LEFT:
            FUZZ_CHECK(talos_rd_left(&r) == (r.err ? 0 : len - r.off));
            break;
        case OP_FINISH: {
            int rc = talos_rd_finish(&r);
            FUZZ_CHECK((rc == TALOS_OK) == (!r.err && r.off == len));
            FUZZ_CHECK(rc == TALOS_OK || rc < 0);
            break;
        }
        }
        /* Bounds and stickiness, whatever the op. */
        FUZZ_CHECK(r.off <= r.len && r.len == len);
        if (err) {
            FUZZ_CHECK(r.err && r.off == off);
        }
        if (!r.err && op != OP_LEFT && op != OP_FINISH)
            recs[n_recs++] = c;
    }

    if (!r.err && n_recs > 0) {
        struct talos_wr w;
        talos_wr_init(&w, 0);
        replay(recs, n_recs, &w);
        FUZZ_CHECK(!w.err && w.len == r.off);
        FUZZ_CHECK(r.off == 0 || memcmp(w.p, buf, r.off) == 0);
        talos_wr_free(&w);
        if (r.off >= 2) { /* max 0 means the default limit */
            talos_wr_init(&w, r.off);
            replay(recs, n_recs, &w);
            FUZZ_CHECK(!w.err && w.len == r.off);
            talos_wr_free(&w);
            talos_wr_init(&w, r.off - 1);
            replay(recs, n_recs, &w);
            FUZZ_CHECK(w.err == TALOS_ERR_TOO_LARGE && w.len <= r.off - 1);
            talos_wr_free(&w);
        }
    }
    for (size_t i = 0; i < n_strs; i++)
        free(strs[i]);
    return 0;
}
