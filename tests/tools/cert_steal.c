/* cert_steal: what a sim host can do with a lineage key, because sim gives
 * no hardware isolation: the host can read a TA's memory (/proc/PID/mem),
 * so it can take the lineage key of the epoch the TA holds and sign
 * statements of its own with it; and it holds the platform key, so it can
 * vouch for keys of its own making (tests/tools/cert_forge.c). On a real
 * TEE neither is possible. Used by the attack tests on state certificates
 * (tests/attacks/t27_cert_rollback.sh, tests/attacks/t05_cert_fork.sh), which
 * show that `talos verify` refuses what such a key signs when it
 * contradicts the history it is shown. Test tool: never installed.
 *
 *   cert_steal key PID ADDR CERT.json
 *       read TA process PID's memory at ADDR (hex: the runtime's lineage
 *       key record, `lk` in ta/cert.c, from nm; images are not PIE) and
 *       print, in hex, the 32 bytes there whose Ed25519 public key is the
 *       key CERT.json names: the seed of that epoch's lineage key.
 *   cert_steal sign SEED IN.json OUT.json EDIT
 *       OUT = IN (same lineage, epoch, key, links, evidence) edited as EDIT
 *       says, signed with SEED (IN's key):
 *         root      another state at IN's version (root, hence head)
 *         next      the next version after IN, chained on IN's checkpoint
 *         unlinked  the next version after IN, chained on another
 *                   checkpoint at IN's version than IN's
 *         back      a version one below the one at which IN's epoch began
 *                   (its last rotation link), on a checkpoint of its own
 *   cert_steal rekey NODE_DIR SEED IN.json OUT.json
 *       a second successor of IN's key: a fresh key of epoch IN+1,
 *       certified by SEED (IN's key) at the checkpoint a migration from
 *       IN's state opens, its evidence quoted by the node's platform, and
 *       a certificate by it at IN's version (a lineage migrated twice from
 *       one state).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cert_json.h"
#include "core/cert.h"
#include "core/crypto.h"
#include "core/sign.h"
#include "core/wire.h"
#include "tee/tee.h"

/* The lineage key record is ~1.2 KiB; its seed lies in its first bytes. */
#define SCAN_BYTES 256

static int die(const char *what)
{
    fprintf(stderr, "cert_steal: %s\n", what);
    return 1;
}

static int load(const char *path, struct talos_cert *c)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    const char *hex = j ? json_string_value(json_object_get(j, "cert")) : NULL;
    size_t n = hex ? strlen(hex) / 2 : 0;
    uint8_t *enc = n ? malloc(n) : NULL;
    int rc = -1;

    if (enc && talos_unhex(hex, enc, n) == TALOS_OK && talos_cert_decode(enc, n, c) == TALOS_OK)
        rc = 0;
    free(enc);
    json_decref(j);
    return rc;
}

static int save(const char *path, const struct talos_cert *c)
{
    struct talos_wr w;
    json_t *out = NULL;
    int rc = -1;

    talos_wr_init(&w, 0);
    talos_cert_encode(c, &w);
    if (!w.err && (out = cli_cert_json(c, w.p, w.len)) &&
        json_dump_file(out, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
        rc = 0;
    json_decref(out);
    talos_wr_free(&w);
    return rc;
}

static int steal_key(const char *pid, const char *addr_hex, const char *cert)
{
    struct talos_cert c;
    uint8_t mem[SCAN_BYTES], pub[TALOS_ED25519_PUB_BYTES];
    char path[64], hex[2 * TALOS_ED25519_SEED_BYTES + 1];
    unsigned long long addr = strtoull(addr_hex, NULL, 16);
    ssize_t got = -1;
    int fd = -1;

    if (load(cert, &c) != 0)
        return die("cannot read the certificate");
    snprintf(path, sizeof(path), "/proc/%s/mem", pid);
    if ((fd = open(path, O_RDONLY)) < 0)
        return die(strerror(errno));
    got = pread(fd, mem, sizeof(mem), (off_t)addr);
    close(fd);
    if (got != (ssize_t)sizeof(mem))
        return die("cannot read the TA's memory");
    for (size_t i = 0; i + TALOS_ED25519_SEED_BYTES <= sizeof(mem); i++)
        if (talos_ed25519_public(mem + i, pub) == TALOS_OK && memcmp(pub, c.pub, sizeof(pub)) == 0) {
            talos_hex(mem + i, TALOS_ED25519_SEED_BYTES, hex);
            printf("%s\n", hex);
            talos_cert_clear(&c);
            return 0;
        }
    talos_cert_clear(&c);
    return die("no seed of the certificate's key in that memory");
}

/* Another root, derived from the one given (any other 32 bytes would do). */
static void other_root(uint8_t root[TALOS_HASH], uint8_t salt)
{
    for (size_t i = 0; i < TALOS_HASH; i++)
        root[i] ^= salt;
}

static int sign_edited(const char *seed_hex, const char *in, const char *outp, const char *edit)
{
    struct talos_cert c;
    uint8_t seed[TALOS_ED25519_SEED_BYTES];

    if (talos_unhex(seed_hex, seed, sizeof(seed)) != TALOS_OK || load(in, &c) != 0)
        return die("cannot read the seed or the certificate");
    if (strcmp(edit, "root") == 0) {
        other_root(c.root, 0xff);
    } else if (strcmp(edit, "next") == 0 || strcmp(edit, "unlinked") == 0) {
        c.prev_version = c.version;
        memcpy(c.prev_head, c.head, TALOS_HASH);
        if (strcmp(edit, "unlinked") == 0)
            c.prev_head[0] ^= 1;
        c.version = c.head_version = c.version + 1;
        other_root(c.root, 0x5a);
    } else if (strcmp(edit, "back") == 0) {
        if (c.epoch == 0 || c.links[c.epoch - 1].version == 0)
            return die("back: the certificate's epoch began at no version to go below");
        c.version = c.head_version = c.prev_version = c.links[c.epoch - 1].version - 1;
        other_root(c.prev_head, 0x33);
        other_root(c.root, 0x33);
    } else {
        return die("EDIT is one of root, next, unlinked, back");
    }
    talos_chain_next(c.prev_head, c.version, c.root, c.head);
    if (talos_cert_sign(&c, seed) != TALOS_OK || save(outp, &c) != 0)
        return die("cannot sign or write the certificate");
    talos_wipe(seed, sizeof(seed));
    talos_cert_clear(&c);
    return 0;
}

static int rekey(const char *node_dir, const char *seed_hex, const char *in, const char *outp)
{
    struct talos_platform_config cfg = {0};
    const struct talos_tee_host_ops *ops = talos_tee_host_find(talos_backend_default());
    struct talos_platform *p = NULL;
    struct talos_cert c;
    struct talos_cert_link *links = NULL, *l = NULL;
    uint8_t seed[TALOS_ED25519_SEED_BYTES], seed1[TALOS_ED25519_SEED_BYTES], rd[TALOS_REPORT_DATA_BYTES], ev[TALOS_EVIDENCE_MAX];
    size_t ev_len = sizeof(ev);

    cfg.state_dir = node_dir;
    if (!ops || ops->open(&cfg, &p) != TALOS_OK)
        return die("cannot open the node's platform");
    if (talos_unhex(seed_hex, seed, sizeof(seed)) != TALOS_OK || load(in, &c) != 0)
        return die("cannot read the seed or the certificate");
    if (!(links = calloc((size_t)c.n_links + 1, sizeof(*links))))
        return die("out of memory");
    if (c.n_links)
        memcpy(links, c.links, c.n_links * sizeof(*links));
    free(c.links);
    c.links = links;
    /* The checkpoint a migration of IN's state opens (ta/cert.c: the new
     * epoch's first head chains on IN's head at IN's version and root). */
    c.prev_version = c.version;
    memcpy(c.prev_head, c.head, TALOS_HASH);
    talos_chain_next(c.prev_head, c.version, c.root, c.head);
    l = &links[c.n_links];
    l->epoch = c.epoch + 1;
    l->version = c.version;
    memcpy(l->head, c.head, TALOS_HASH);
    if (talos_ed25519_keygen(seed1, l->pub) != TALOS_OK ||
        talos_cert_link_sign(c.lineage, l, seed) != TALOS_OK)
        return die("cannot make or certify the new key");
    c.n_links++;
    c.epoch++;
    memcpy(c.pub, l->pub, 32);
    talos_cert_key_report_data(c.lineage, c.epoch, c.pub, rd);
    if (ops->quote(p, c.measurement, c.config_id, c.cfg_digest, rd, ev, &ev_len) != TALOS_OK)
        return die("the platform would not quote");
    free(c.evidence);
    c.evidence = ev;
    c.evidence_len = ev_len;
    if (talos_cert_sign(&c, seed1) != TALOS_OK || save(outp, &c) != 0)
        return die("cannot sign or write the certificate");
    c.evidence = NULL;
    talos_wipe(seed, sizeof(seed));
    talos_wipe(seed1, sizeof(seed1));
    talos_cert_clear(&c);
    ops->close(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "key") == 0)
        return steal_key(argv[2], argv[3], argv[4]);
    if (argc == 6 && strcmp(argv[1], "sign") == 0)
        return sign_edited(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 6 && strcmp(argv[1], "rekey") == 0)
        return rekey(argv[2], argv[3], argv[4], argv[5]);
    return die("usage: cert_steal key PID ADDR CERT.json | sign SEED IN.json OUT.json EDIT |"
               " rekey NODE_DIR SEED IN.json OUT.json");
}
