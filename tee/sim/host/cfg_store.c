/* Kept CFG files (contract and format in cfg_store.h; D43). Every open
 * goes through os/sdir: the directory checked each time, the file opened
 * relative to its descriptor. */
#include "tee/sim/host/cfg_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg/cfg.h"
#include "core/log.h"
#include "core/reason.h"
#include "core/wire.h"
#include "os/sdir.h"
#include "tools/cfg/cfg.h"

#define MAGIC "TALOSCFC"
#define MAGIC_BYTES 8
#define VERSION 1
#define DIR_NAME "cfg"
/* Magic, version, tag length, tag, image hash, digest. */
#define HEADER_MAX (MAGIC_BYTES + 2 + 255 + TALOS_SHA256_BYTES + TALOS_CFG_DIGEST_BYTES)

struct sim_cfg_store {
    char *state_dir;
    char tag[TALOS_CFG_EXTRACTOR_TAG_BYTES];
};

/* state_dir/cfg, opened and checked (os/sdir) for one load or save: like
 * the platform's identity files (ca.c), no descriptor is held between
 * uses. The reason of a refusal goes to why (TALOS_SDIR_WHY_BYTES). */
static int open_dir(const struct sim_cfg_store *s, unsigned flags, struct talos_sdir **dir,
                    char *why)
{
    struct talos_sdir *sd = NULL;
    int rc = talos_sdir_open(s->state_dir, 0, &sd, why, TALOS_SDIR_WHY_BYTES);

    if (rc == TALOS_OK)
        rc = talos_sdir_sub(sd, DIR_NAME, flags, dir, why, TALOS_SDIR_WHY_BYTES);
    talos_sdir_close(sd);
    return rc;
}

int sim_cfg_store_open(const char *state_dir, struct sim_cfg_store **out)
{
    struct sim_cfg_store *s = NULL;
    struct talos_sdir *dir = NULL;
    char *why = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (out)
        *out = NULL;
    if (!state_dir || !out)
        return rc;
    rc = TALOS_ERR_NOMEM;
    if (!(why = malloc(TALOS_SDIR_WHY_BYTES)) || !(s = calloc(1, sizeof(*s))) ||
        !(s->state_dir = strdup(state_dir)))
        goto out;
    why[0] = '\0';
    if ((rc = open_dir(s, TALOS_SDIR_CREATE, &dir, why)) != TALOS_OK ||
        (rc = talos_sdir_check_entries(dir, why, TALOS_SDIR_WHY_BYTES)) != TALOS_OK) {
        TLOG_ERR("sim: %s", why);
        goto out;
    }
    talos_cfg_extractor_tag(s->tag, sizeof(s->tag));
    *out = s;
    s = NULL;
out:
    talos_sdir_close(dir);
    sim_cfg_store_close(s);
    free(why);
    return rc;
}

void sim_cfg_store_close(struct sim_cfg_store *s)
{
    if (!s)
        return;
    free(s->state_dir);
    free(s);
}

static void name_of(const uint8_t sha[TALOS_SHA256_BYTES], char name[2 * TALOS_SHA256_BYTES + 5])
{
    talos_hex(sha, TALOS_SHA256_BYTES, name);
    memcpy(name + 2 * TALOS_SHA256_BYTES, ".cfg", 5);
}

void sim_cfg_store_path(const struct sim_cfg_store *s, const uint8_t image_sha[TALOS_SHA256_BYTES],
                        char *out, size_t cap)
{
    char name[2 * TALOS_SHA256_BYTES + 5];

    name_of(image_sha, name);
    snprintf(out, cap, "%s/%s/%s", s ? s->state_dir : "?", DIR_NAME, name);
}

/* The header of a kept file, decoded from its first bytes; *body is where
 * the CFG file starts. */
static int header_check(const struct sim_cfg_store *s, const uint8_t *p, size_t len,
                        const uint8_t want_sha[TALOS_SHA256_BYTES],
                        uint8_t digest[TALOS_CFG_DIGEST_BYTES], size_t *body, char *why, size_t cap)
{
    struct talos_rd r;
    char magic[MAGIC_BYTES], tag[256] = "";
    uint8_t sha[TALOS_SHA256_BYTES], version = 0, n = 0;

    talos_rd_init(&r, p, len);
    talos_rd_raw(&r, magic, MAGIC_BYTES);
    version = talos_rd_u8(&r);
    n = talos_rd_u8(&r);
    talos_rd_raw(&r, tag, n);
    talos_rd_raw(&r, sha, sizeof(sha));
    talos_rd_raw(&r, digest, TALOS_CFG_DIGEST_BYTES);
    if (r.err || memcmp(magic, MAGIC, MAGIC_BYTES) != 0 || version != VERSION)
        return talos_reason(TALOS_ERR_MALFORMED, why, cap, "not a kept CFG file (%zu bytes)", len);
    if (strlen(s->tag) != n || memcmp(tag, s->tag, n) != 0)
        return talos_reason(TALOS_ERR_MALFORMED, why, cap,
                            "made by another extractor (\"%.*s\", this one is \"%s\")", (int)n, tag,
                            s->tag);
    if (!talos_ct_eq(sha, want_sha, sizeof(sha)))
        return talos_reason(TALOS_ERR_MALFORMED, why, cap, "kept for another image");
    *body = len - talos_rd_left(&r);
    return TALOS_OK;
}

int sim_cfg_store_load(struct sim_cfg_store *s, const uint8_t image_sha[TALOS_SHA256_BYTES],
                       uint8_t digest[TALOS_CFG_DIGEST_BYTES], uint8_t **file, size_t *file_len,
                       char *why, size_t cap)
{
    char name[2 * TALOS_SHA256_BYTES + 5];
    char *sdir_why = NULL;
    uint8_t *buf = NULL, kept[TALOS_CFG_DIGEST_BYTES], got[TALOS_CFG_DIGEST_BYTES];
    size_t len = 0, body = 0;
    struct talos_cfg *cfg = NULL;
    struct talos_sdir *dir = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!s || !image_sha || !digest || !file || !file_len)
        return rc;
    *file = NULL;
    *file_len = 0;
    name_of(image_sha, name);
    if (!(sdir_why = malloc(TALOS_SDIR_WHY_BYTES)))
        return TALOS_ERR_NOMEM;
    sdir_why[0] = '\0';
    if ((rc = open_dir(s, 0, &dir, sdir_why)) == TALOS_OK)
        rc = talos_sdir_read(dir, name, 0, HEADER_MAX + TALOS_CFG_FILE_MAX, &buf, &len, sdir_why,
                             TALOS_SDIR_WHY_BYTES);
    if (rc != TALOS_OK) {
        talos_reason(rc, why, cap, "%s", sdir_why);
        goto out;
    }
    if ((rc = header_check(s, buf, len, image_sha, kept, &body, why, cap)) != TALOS_OK)
        goto out;
    /* The CFG file as hostile as any: every rule, canonical, its trailer;
     * then the digest it yields must be the one kept with it. */
    if ((rc = talos_cfg_parse(buf + body, len - body, &cfg)) != TALOS_OK) {
        rc = talos_reason(TALOS_ERR_MALFORMED, why, cap, "the CFG file in it does not parse (%s)",
                          talos_strerror(rc));
        goto out;
    }
    talos_cfg_digest(cfg, got);
    if (!talos_ct_eq(got, kept, sizeof(got))) {
        rc = talos_reason(TALOS_ERR_MALFORMED, why, cap,
                          "the CFG file in it does not hash to the digest kept with it");
        goto out;
    }
    /* The body moves to the front of the buffer the caller then owns. */
    memmove(buf, buf + body, len - body);
    memcpy(digest, got, TALOS_CFG_DIGEST_BYTES);
    *file = buf;
    *file_len = len - body;
    buf = NULL;
    rc = TALOS_OK;
out:
    talos_sdir_close(dir);
    talos_cfg_free(cfg);
    free(buf); /* no secret in it: no wipe */
    free(sdir_why);
    return rc;
}

int sim_cfg_store_save(struct sim_cfg_store *s, const uint8_t image_sha[TALOS_SHA256_BYTES],
                       const uint8_t digest[TALOS_CFG_DIGEST_BYTES], const uint8_t *file,
                       size_t file_len, char *why, size_t cap)
{
    char name[2 * TALOS_SHA256_BYTES + 5];
    char *sdir_why = NULL;
    size_t n = 0, tag_len = 0;
    uint8_t *buf = NULL;
    struct talos_sdir *dir = NULL;
    int rc = TALOS_ERR_INVALID_ARG;

    if (!s || !image_sha || !digest || !file || file_len > TALOS_CFG_FILE_MAX)
        return rc;
    tag_len = strlen(s->tag);
    rc = TALOS_ERR_NOMEM;
    if (!(sdir_why = malloc(TALOS_SDIR_WHY_BYTES)) || !(buf = malloc(HEADER_MAX + file_len)))
        goto out;
    sdir_why[0] = '\0';
    memcpy(buf, MAGIC, MAGIC_BYTES);
    n = MAGIC_BYTES;
    buf[n++] = VERSION;
    buf[n++] = (uint8_t)tag_len;
    memcpy(buf + n, s->tag, tag_len);
    n += tag_len;
    memcpy(buf + n, image_sha, TALOS_SHA256_BYTES);
    n += TALOS_SHA256_BYTES;
    memcpy(buf + n, digest, TALOS_CFG_DIGEST_BYTES);
    n += TALOS_CFG_DIGEST_BYTES;
    memcpy(buf + n, file, file_len);
    n += file_len;
    name_of(image_sha, name);
    /* Read-only for everyone: nothing but a new extraction replaces it,
     * and by rename, never by writing into it. */
    if ((rc = open_dir(s, TALOS_SDIR_CREATE, &dir, sdir_why)) == TALOS_OK)
        rc = talos_sdir_write(dir, name, buf, n, 0444, sdir_why, TALOS_SDIR_WHY_BYTES);
    if (rc != TALOS_OK)
        talos_reason(rc, why, cap, "%s", sdir_why);
out:
    talos_sdir_close(dir);
    free(buf);
    free(sdir_why);
    return rc;
}

int sim_cfg_store_hash_fd(int fd, uint8_t sha[TALOS_SHA256_BYTES])
{
    struct talos_sha256_ctx *c = NULL;
    uint8_t *buf = malloc(1u << 16);
    off_t off = 0;
    ssize_t r = 0;
    int rc = buf ? talos_sha256_begin(&c) : TALOS_ERR_NOMEM;

    while (rc == TALOS_OK && (r = pread(fd, buf, 1u << 16, off)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = TALOS_ERR_IO;
            break;
        }
        talos_sha256_add(c, buf, (size_t)r);
        off += r;
    }
    if (c && rc == TALOS_OK)
        rc = talos_sha256_end(c, sha);
    else if (c)
        talos_sha256_free(c);
    free(buf);
    return rc;
}
