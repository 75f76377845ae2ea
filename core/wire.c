#include "core/wire.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "talos/err.h"

#define WIRE_DEFAULT_MAX (64u << 20)

void talos_wr_init(struct talos_wr *w, size_t max)
{
    memset(w, 0, sizeof(*w));
    w->max = max ? max : WIRE_DEFAULT_MAX;
}

void talos_wr_free(struct talos_wr *w)
{
    if (w->p) {
        talos_wipe(w->p, w->cap);
        free(w->p);
    }
    memset(w, 0, sizeof(*w));
}

void talos_wr_reset(struct talos_wr *w)
{
    w->len = 0;
    w->err = 0;
}

/* A buffer of at least cap bytes (within max), the content kept. */
static int wr_grow(struct talos_wr *w, size_t cap)
{
    if (cap > w->max)
        cap = w->max;
    if (cap <= w->cap)
        return TALOS_OK;
    uint8_t *np = malloc(cap);
    if (!np)
        return TALOS_ERR_NOMEM;
    /* Copy-and-wipe rather than realloc: buffers may hold secrets. */
    if (w->p) {
        memcpy(np, w->p, w->len);
        talos_wipe(w->p, w->cap);
        free(w->p);
    }
    w->p = np;
    w->cap = cap;
    return TALOS_OK;
}

void talos_wr_reserve(struct talos_wr *w, size_t n)
{
    /* Only a hint: failing to grow now is no error (writing will say). */
    if (!w->err && n > w->cap)
        (void)wr_grow(w, n);
}

uint8_t *talos_wr_space(struct talos_wr *w, size_t n)
{
    if (w->err)
        return NULL;
    if (n > w->max || w->len > w->max - n) {
        w->err = TALOS_ERR_TOO_LARGE;
        return NULL;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        if ((w->err = wr_grow(w, cap)) != TALOS_OK)
            return NULL;
    }
    /* n == 0 before anything was written: there is no buffer, and NULL + 0
     * is undefined behaviour. Nothing to reserve, nothing went wrong. */
    if (!w->p)
        return NULL;
    uint8_t *at = w->p + w->len;
    w->len += n;
    return at;
}

void talos_wr_raw(struct talos_wr *w, const void *p, size_t n)
{
    uint8_t *at = talos_wr_space(w, n);
    if (at && n)
        memcpy(at, p, n);
}

void talos_wr_u8(struct talos_wr *w, uint8_t v) { talos_wr_raw(w, &v, 1); }

void talos_wr_u16(struct talos_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    talos_wr_raw(w, b, 2);
}

void talos_wr_u32(struct talos_wr *w, uint32_t v)
{
    uint8_t b[4];
    talos_be32_put(b, v);
    talos_wr_raw(w, b, 4);
}

void talos_wr_u64(struct talos_wr *w, uint64_t v)
{
    talos_wr_u32(w, (uint32_t)(v >> 32));
    talos_wr_u32(w, (uint32_t)v);
}

void talos_wr_bytes(struct talos_wr *w, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        if (!w->err)
            w->err = TALOS_ERR_TOO_LARGE;
        return;
    }
    talos_wr_u32(w, (uint32_t)n);
    talos_wr_raw(w, p, n);
}

void talos_wr_str(struct talos_wr *w, const char *s) { talos_wr_bytes(w, s, strlen(s)); }

void talos_rd_init(struct talos_rd *r, const void *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->off = 0;
    r->err = 0;
}

static const uint8_t *take(struct talos_rd *r, size_t n)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->off) {
        r->err = TALOS_ERR_MALFORMED;
        return NULL;
    }
    const uint8_t *at = r->p + r->off;
    r->off += n;
    return at;
}

uint8_t talos_rd_u8(struct talos_rd *r)
{
    const uint8_t *b = take(r, 1);
    return b ? b[0] : 0;
}

uint16_t talos_rd_u16(struct talos_rd *r)
{
    const uint8_t *b = take(r, 2);
    return b ? (uint16_t)(b[0] << 8 | b[1]) : 0;
}

uint32_t talos_rd_u32(struct talos_rd *r)
{
    const uint8_t *b = take(r, 4);
    return b ? talos_be32_get(b) : 0;
}

uint64_t talos_rd_u64(struct talos_rd *r)
{
    uint64_t hi = talos_rd_u32(r);
    uint64_t lo = talos_rd_u32(r);
    return r->err ? 0 : hi << 32 | lo;
}

void talos_rd_raw(struct talos_rd *r, void *dst, size_t n)
{
    const uint8_t *b = take(r, n);
    if (b)
        memcpy(dst, b, n);
    else
        memset(dst, 0, n);
}

const uint8_t *talos_rd_bytes(struct talos_rd *r, size_t *n, size_t max)
{
    uint32_t l = talos_rd_u32(r);
    *n = 0;
    if (r->err)
        return NULL;
    if (l > max) {
        r->err = TALOS_ERR_MALFORMED;
        return NULL;
    }
    const uint8_t *b = take(r, l);
    if (b)
        *n = l;
    return b;
}

void talos_rd_str(struct talos_rd *r, char *dst, size_t cap)
{
    size_t n = 0;
    if (cap == 0) {
        r->err = TALOS_ERR_INVALID_ARG;
        return;
    }
    dst[0] = '\0';
    const uint8_t *b = talos_rd_bytes(r, &n, cap - 1);
    if (!b)
        return;
    if (memchr(b, '\0', n)) {
        r->err = TALOS_ERR_MALFORMED;
        return;
    }
    memcpy(dst, b, n);
    dst[n] = '\0';
}

size_t talos_rd_left(const struct talos_rd *r) { return r->err ? 0 : r->len - r->off; }

int talos_rd_finish(const struct talos_rd *r)
{
    if (r->err)
        return r->err;
    return r->off == r->len ? TALOS_OK : TALOS_ERR_MALFORMED;
}

size_t talos_fields_put(const struct talos_field *f, const void *in, uint8_t *out)
{
    const uint8_t *src = in;
    size_t n = 0;
    uint32_t v32 = 0;
    uint64_t v64 = 0;

    for (size_t i = 0; f[i].size != 0; i++) {
        switch (f[i].kind) {
        case TALOS_FIELD_U32:
            memcpy(&v32, src + f[i].off, sizeof(v32));
            talos_be32_put(out + n, v32);
            break;
        case TALOS_FIELD_U64:
            memcpy(&v64, src + f[i].off, sizeof(v64));
            talos_be64_put(out + n, v64);
            break;
        default: /* U8 and RAW: bytes as they are */
            memcpy(out + n, src + f[i].off, f[i].size);
            break;
        }
        n += f[i].size;
    }
    return n;
}

int talos_fields_get(const struct talos_field *f, const uint8_t *p, size_t n, void *out,
                     size_t out_size)
{
    uint8_t *dst = out;
    struct talos_rd r;
    uint32_t v32 = 0;
    uint64_t v64 = 0;

    memset(out, 0, out_size);
    talos_rd_init(&r, p, n);
    for (size_t i = 0; f[i].size != 0; i++) {
        switch (f[i].kind) {
        case TALOS_FIELD_U32:
            v32 = talos_rd_u32(&r);
            memcpy(dst + f[i].off, &v32, sizeof(v32));
            break;
        case TALOS_FIELD_U64:
            v64 = talos_rd_u64(&r);
            memcpy(dst + f[i].off, &v64, sizeof(v64));
            break;
        default:
            talos_rd_raw(&r, dst + f[i].off, f[i].size);
            break;
        }
    }
    if (talos_rd_finish(&r) == TALOS_OK)
        return TALOS_OK;
    memset(out, 0, out_size);
    return TALOS_ERR_MALFORMED;
}

int talos_len_check(uint32_t len, uint32_t min, uint32_t max)
{
    if (len > max)
        return TALOS_ERR_TOO_LARGE;
    return len < min ? TALOS_ERR_MALFORMED : TALOS_OK;
}

int talos_u32_body_decode(const uint8_t *p, size_t n, uint32_t *v)
{
    struct talos_rd r;

    talos_rd_init(&r, p, n);
    *v = talos_rd_u32(&r);
    if (talos_rd_finish(&r) == TALOS_OK)
        return TALOS_OK;
    *v = 0;
    return TALOS_ERR_MALFORMED;
}
