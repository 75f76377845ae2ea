/* The migration record bodies as a target decodes them: pre-copy ROUNDs
 * and their CHUNKs, LINEAGE (core/cert.c's decoder, through a stand-in for
 * ta/mig_cert.c), BEGIN, the last CHUNKs and the MANIFEST (ta/mig_target.c
 * receive and what it calls), with the record headers checked by the real
 * mig_recv (ta/mig_common.c) and talos_mig_check. The file is included, not
 * linked, so that its static decoders run unchanged; the TLS channel below
 * them is replaced by the fuzz input (what a source could send inside an
 * authenticated channel: after the attestation the peer is a genuine TA,
 * but its records are still checked like any input).
 *
 * Input: a stream of records as the channel yields them (u32 length ‖ u8
 * type ‖ body). The target's arena is a fresh mapping of the whole arena
 * reservation (pre-copy rounds may write anywhere in it) followed by an
 * inaccessible guard page, so a CHUNK written past it faults; the persist
 * section is a 2-page heap buffer (ASan). Each input runs twice: as is,
 * and with the MANIFEST's root and chain head replaced by the right ones for
 * the pages received (computed over the target's memory), so that the
 * checks after the root are reached. Checked:
 *  - a decoded BEGIN is within the arena, names this image's persist size,
 *    and its chain head is not newer than its state;
 *  - a stream accepted in the second pass covered every page exactly: the
 *    root the target computed equals the Merkle root of its memory;
 *  - in the first pass (a MANIFEST as sent) nothing is accepted whose root
 *    differs from the target's memory;
 *  - a refusal is MALFORMED, PROTOCOL, TOO_LARGE, MAC or PEER_CLOSED (the
 *    input ended). */
#include <sys/mman.h>

#include "ta/mig_target.c"
#include "core/cert.h"
#include "tee/tee.h"
#include "tests/fuzz/fuzz.h"

#define PERSIST_LEN 5000 /* two pages, the second partly used */
#define STREAM_MAX (1u << 20)

/* --- what the harness stands in for ------------------------------------------- */
struct talos_rt talos_rt;
const struct talos_tee_ops talos_tee_enclave;
static uint8_t *arena;
static uint8_t persist[PERSIST_LEN];

static const uint8_t *in;
static size_t in_len, in_pos;
/* Second pass: the MANIFEST's root and head are made right for the pages
 * received (fix_begin says for which BEGIN, fix_ppad where the persist
 * pages went). */
static int fix_manifest;
static const struct begin *fix_begin;
static const uint8_t *fix_ppad;
static int reading_manifest;

uintptr_t talos_arena_base(void) { return (uintptr_t)arena; }
int talos_arena_adopt(void) { return TALOS_OK; }
/* The CFG check (ta/flow.c) is not what this harness decodes. */
void talos_flow_ready(void) {}
void talos_flow_fini(void) {}
uint8_t *talos_rt_persist(size_t *len)
{
    *len = sizeof(persist);
    return persist;
}
const char *talos_rt_state_name(enum talos_rt_state s) { return s == RT_ACTIVE ? "ACTIVE" : "?"; }
void talos_rt_wipe_state(void) {}
int talos_rt_introspect(uint8_t m[TALOS_MEASUREMENT_BYTES], char *why, size_t cap)
{
    (void)m, (void)why, (void)cap;
    return TALOS_ERR_NOT_IMPLEMENTED;
}
int talos_rt_code_unchanged(const uint8_t now[TALOS_MEASUREMENT_BYTES],
                            const uint8_t m[TALOS_MEASUREMENT_BYTES], char *why, size_t cap)
{
    (void)now, (void)m, (void)why, (void)cap;
    return TALOS_ERR_NOT_IMPLEMENTED;
}
/* The host request a target makes before it activates (mig_host_arrival):
 * no host here; activation is never reached with these bodies anyway. */
int talos_rt_host_roundtrip(uint16_t type, const struct talos_wr *req, uint16_t ret_type,
                            uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    (void)type, (void)req, (void)ret_type, (void)resp, (void)resp_cap;
    *resp_len = 0;
    return TALOS_ERR_NOT_IMPLEMENTED;
}
int talos_rt_reply(int status, const void *out, size_t out_len, const char *reason)
{
    (void)out, (void)out_len, (void)reason;
    return status;
}

int talos_chan_open(struct talos_chan *c, int fd, int is_client)
{
    (void)c, (void)fd, (void)is_client;
    return TALOS_ERR_NOT_IMPLEMENTED;
}
void talos_chan_close(struct talos_chan *c) { (void)c; }
void talos_chan_prepare(void) {}
int talos_chan_export(struct talos_chan *c, const char *label, const uint8_t *context,
                      size_t ctx_len, uint8_t *out, size_t n)
{
    (void)c, (void)label, (void)context, (void)ctx_len, (void)out, (void)n;
    return TALOS_ERR_NOT_IMPLEMENTED;
}
int talos_chan_send(struct talos_chan *c, uint8_t type, const void *body, size_t len,
                    const void *payload, size_t payload_len)
{
    (void)c, (void)type, (void)body, (void)len, (void)payload, (void)payload_len;
    return TALOS_OK;
}

/* The Merkle root of the target's memory as receive() lays it out. */
static void memory_root(const struct begin *b, const uint8_t *ppad, uint8_t root[32])
{
    uint64_t a_pages = b->arena_bytes / TALOS_PAGE;
    uint64_t total = a_pages + (b->persist_bytes + TALOS_PAGE - 1) / TALOS_PAGE;
    uint8_t *leaves = malloc(total * TALOS_HASH);
    struct talos_sha256_ctx *c = NULL;

    FUZZ_CHECK(leaves && talos_sha256_begin(&c) == TALOS_OK);
    for (uint64_t i = 0; i < total; i++)
        talos_merkle_leaf(c, i, i < a_pages ? arena + i * TALOS_PAGE : ppad + (i - a_pages) * TALOS_PAGE,
                          leaves + i * TALOS_HASH);
    talos_merkle_root(c, leaves, total, root);
    talos_sha256_free(c);
    free(leaves);
}

int talos_chan_read(struct talos_chan *c, void *dst, size_t n)
{
    (void)c;
    if (n > in_len - in_pos)
        return TALOS_ERR_PEER_CLOSED;
    memcpy(dst, in + in_pos, n);
    in_pos += n;
    /* Only a state the input can cover entirely can be accepted; hashing a
     * larger announced arena here would only make the harness slow. */
    if (reading_manifest && fix_manifest && n == 68 &&
        fix_begin->arena_bytes + fix_begin->persist_bytes <= STREAM_MAX) {
        uint8_t *man = dst;
        memory_root(fix_begin, fix_ppad, man + 4);
        talos_chain_next(fix_begin->head, fix_begin->version, man + 4, man + 36);
    }
    reading_manifest = 0;
    return TALOS_OK;
}

/* As ta/chan.c frames records inside TLS: u32 length ‖ u8 type, checked. */
int talos_chan_recv_hdr(struct talos_chan *c, uint8_t from, uint8_t *type, uint32_t *len)
{
    uint8_t hdr[TALOS_MIG_HDR];
    int rc = talos_chan_read(c, hdr, sizeof(hdr));
    if (rc != TALOS_OK)
        return rc;
    *len = talos_be32_get(hdr);
    *type = hdr[4];
    reading_manifest = *type == TALOS_MIG_MANIFEST;
    return talos_mig_check(*type, from, *len);
}

/* ta/mig_cert.c: read the LINEAGE body and decode it as the target does;
 * the key is not kept (ta/cert.c is not part of this harness). */
int talos_rt_cert_recv(struct mig *m, uint32_t len)
{
    struct talos_lineage_rec rec;
    uint8_t *buf = malloc(len ? len : 1);
    int rc = buf ? talos_chan_read(&m->ch, buf, len) : TALOS_ERR_NOMEM;

    if (rc == TALOS_OK && (rc = talos_lineage_rec_decode(buf, len, &rec)) == TALOS_OK) {
        FUZZ_CHECK(rec.n_links == rec.epoch && rec.n_links <= TALOS_CERT_MAX_LINKS);
        talos_lineage_rec_clear(&rec);
    }
    free(buf);
    return rc;
}

/* --- the harness ---------------------------------------------------------------- */
static void run(const uint8_t *data, size_t size, int fix)
{
    struct mig m;
    struct begin b;
    /* Nothing pre-faulted, and nothing to fault at BEGIN either: the
     * harness's arena is sparse. */
    struct prefault pf = {.bytes = TALOS_ARENA_MAX};
    uint8_t ppad[2 * TALOS_PAGE], root[32], head[32], want[32];
    size_t map_len = TALOS_ARENA_MAX + TALOS_PAGE;
    uint64_t t_begin = 0;
    int rc = TALOS_OK;

    memset(&m, 0, sizeof(m));
    memset(&b, 0, sizeof(b));
    memset(ppad, 0, sizeof(ppad));
    m.role = MIG_ROLE_T;
    in = data;
    in_len = size;
    in_pos = 0;
    reading_manifest = 0;
    fix_manifest = fix;
    /* The arena reservation, then a guard page. */
    arena = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    FUZZ_CHECK(arena != MAP_FAILED);
    FUZZ_CHECK(mprotect(arena + TALOS_ARENA_MAX, TALOS_PAGE, PROT_NONE) == 0);
    fix_begin = &b;
    fix_ppad = ppad;
    rc = receive(&m, &b, sizeof(persist), &pf, ppad, &t_begin, root, head);
    if (rc == TALOS_OK) {
        /* A decoded BEGIN: within the arena, this image's persist size, a
         * chain head not newer than the state. */
        FUZZ_CHECK(b.arena_bytes % TALOS_PAGE == 0 && b.arena_bytes > 0 &&
                   b.arena_bytes <= TALOS_ARENA_MAX);
        FUZZ_CHECK(b.persist_bytes == sizeof(persist) && b.head_version <= b.version);
        memory_root(&b, ppad, want);
        FUZZ_CHECK(memcmp(root, want, 32) == 0);
        talos_chain_next(b.head, b.version, want, want);
        FUZZ_CHECK(memcmp(head, want, 32) == 0);
    } else {
        FUZZ_CHECK(rc == TALOS_ERR_MALFORMED || rc == TALOS_ERR_PROTOCOL ||
                   rc == TALOS_ERR_TOO_LARGE || rc == TALOS_ERR_MAC ||
                   rc == TALOS_ERR_PEER_CLOSED || rc == TALOS_ERR_NOMEM);
        FUZZ_CHECK(rc != TALOS_ERR_MAC || m.reason[0]);
    }
    munmap(arena, map_len);
    arena = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > STREAM_MAX)
        return 0;
    run(data, size, 0);
    run(data, size, 1);
    return 0;
}
