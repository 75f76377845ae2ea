/* The one binary codec of TALOS: big-endian integers and length-prefixed
 * byte strings, written into a growable buffer and read back with bounds
 * checks.
 *
 * Errors are sticky: after the first failure every further call is a no-op
 * and returns zero/NULL, so a decoder reads all fields and checks once with
 * talos_rd_finish(). Readers never read past `len`.
 */
#ifndef TALOS_CORE_WIRE_H
#define TALOS_CORE_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct talos_wr {
    uint8_t *p;
    size_t len, cap;
    size_t max; /* hard limit; exceeding it sets err = TALOS_ERR_TOO_LARGE */
    int err;
};

/* max 0 means 64 MiB. */
void talos_wr_init(struct talos_wr *w, size_t max);
void talos_wr_free(struct talos_wr *w); /* wipes before freeing */
void talos_wr_reset(struct talos_wr *w);
void talos_wr_u8(struct talos_wr *w, uint8_t v);
void talos_wr_u16(struct talos_wr *w, uint16_t v);
void talos_wr_u32(struct talos_wr *w, uint32_t v);
void talos_wr_u64(struct talos_wr *w, uint64_t v);
void talos_wr_raw(struct talos_wr *w, const void *p, size_t n);   /* no length prefix */
void talos_wr_bytes(struct talos_wr *w, const void *p, size_t n); /* u32 length + bytes */
void talos_wr_str(struct talos_wr *w, const char *s);             /* as bytes, no NUL */
/* Reserve n bytes and return a pointer to them (NULL on error, and for
 * n == 0 while the writer holds no buffer yet: w->err tells them apart). */
uint8_t *talos_wr_space(struct talos_wr *w, size_t n);
/* Make room for n bytes in total now (a size known in advance), so that
 * writing them does not copy the buffer as it grows. Only a hint. */
void talos_wr_reserve(struct talos_wr *w, size_t n);

struct talos_rd {
    const uint8_t *p;
    size_t len, off;
    int err;
};

void talos_rd_init(struct talos_rd *r, const void *p, size_t len);
uint8_t talos_rd_u8(struct talos_rd *r);
uint16_t talos_rd_u16(struct talos_rd *r);
uint32_t talos_rd_u32(struct talos_rd *r);
uint64_t talos_rd_u64(struct talos_rd *r);
/* Copy exactly n bytes into dst. */
void talos_rd_raw(struct talos_rd *r, void *dst, size_t n);
/* A length-prefixed string of at most max bytes; returns a pointer into the
 * input (not NUL-terminated) and its length in *n. */
const uint8_t *talos_rd_bytes(struct talos_rd *r, size_t *n, size_t max);
/* A length-prefixed string copied into dst (cap bytes incl. NUL) and
 * NUL-terminated; refuses embedded NULs and strings that do not fit. */
void talos_rd_str(struct talos_rd *r, char *dst, size_t cap);
size_t talos_rd_left(const struct talos_rd *r);
/* TALOS_OK when no error occurred and all input was consumed, else
 * TALOS_ERR_MALFORMED (or the sticky error). */
int talos_rd_finish(const struct talos_rd *r);

/* Raw big-endian helpers for fixed headers. */
static inline void talos_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint32_t talos_be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void talos_be64_put(uint8_t *p, uint64_t v)
{
    talos_be32_put(p, (uint32_t)(v >> 32));
    talos_be32_put(p + 4, (uint32_t)v);
}
static inline uint64_t talos_be64_get(const uint8_t *p)
{
    return (uint64_t)talos_be32_get(p) << 32 | talos_be32_get(p + 4);
}

/* A received body's length against its record's bounds: TALOS_OK,
 * TALOS_ERR_TOO_LARGE above max, TALOS_ERR_MALFORMED below min. */
int talos_len_check(uint32_t len, uint32_t min, uint32_t max);

/* A body that is one big-endian u32 and nothing more: *v, or 0 and
 * TALOS_ERR_MALFORMED. */
int talos_u32_body_decode(const uint8_t *p, size_t n, uint32_t *v);

/* A fixed-size body as a list of fields, written and read in list order:
 * one encoder and one decoder serve every fixed-size record (core/migrec.c,
 * core/msg.c), so a layout is stated once and its two directions cannot
 * drift apart. Integers are big-endian; RAW is `size` bytes as they are. A
 * list ends at the first field of size 0. */
enum talos_field_kind { TALOS_FIELD_U8 = 1, TALOS_FIELD_U32, TALOS_FIELD_U64, TALOS_FIELD_RAW };
struct talos_field {
    uint8_t kind;  /* enum talos_field_kind */
    uint16_t off;  /* offsetof the member in the decoded struct */
    uint16_t size; /* bytes of the member (its wire size too); 0 ends the list */
};
#define TALOS_FIELD(kind, type, member)                                                    \
    { TALOS_FIELD_##kind, offsetof(type, member), sizeof(((type *)0)->member) }

/* Writes every field of `in` to out, which holds their total size; returns
 * the bytes written. */
size_t talos_fields_put(const struct talos_field *f, const void *in, uint8_t *out);
/* Reads exactly n bytes into `out` (an object of out_size bytes, zeroed
 * first). TALOS_ERR_MALFORMED, `out` zeroed again, when n is not the sum of
 * the field sizes. */
int talos_fields_get(const struct talos_field *f, const uint8_t *p, size_t n, void *out,
                     size_t out_size);

#endif
