/* cert_forge NODE_DIR IN.json OUT.json: what a sim host can do, because sim
 * gives no hardware isolation: the node holds the platform key that signs
 * evidence, so it can vouch for a key of its own making. From a genuine
 * certificate it makes a rival one for the same lineage and version, with
 * another state, signed by a fresh "epoch 0" key whose evidence the node's
 * platform signs. Alone it verifies (with --allow-sim); shown next to the
 * genuine chain it is a fork, and talos verify must say so
 * (tests/integration/test_state_certs.sh). Test tool: never installed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cert_json.h"
#include "core/cert.h"
#include "core/crypto.h"
#include "core/sign.h"
#include "core/wire.h"
#include "tee/tee.h"

static int die(const char *what)
{
    fprintf(stderr, "cert_forge: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    struct talos_platform_config cfg = {0};
    /* The platform of a node started without --backend. */
    const struct talos_tee_host_ops *ops = talos_tee_host_find(talos_backend_default());
    struct talos_platform *p = NULL;
    struct talos_cert c;
    uint8_t seed[TALOS_ED25519_SEED_BYTES], rd[TALOS_REPORT_DATA_BYTES], ev[TALOS_EVIDENCE_MAX],
        *enc = NULL;
    size_t ev_len = sizeof(ev), n = 0;
    json_error_t jerr;
    json_t *in = NULL, *out = NULL;
    struct talos_wr w;

    if (argc != 4)
        return die("usage: cert_forge NODE_DIR IN.json OUT.json");
    cfg.state_dir = argv[1];
    if (!ops || ops->open(&cfg, &p) != TALOS_OK)
        return die("cannot open the node's platform");
    if (!(in = json_load_file(argv[2], 0, &jerr)) || !json_string_value(json_object_get(in, "cert")))
        return die("cannot read the certificate");
    const char *hex = json_string_value(json_object_get(in, "cert"));
    n = strlen(hex) / 2;
    if (!(enc = malloc(n)) || talos_unhex(hex, enc, n) != TALOS_OK || talos_cert_decode(enc, n, &c) != TALOS_OK)
        return die("cannot decode the certificate");
    /* A rival history: a fresh first key, another state at this version. */
    if (talos_ed25519_keygen(seed, c.pub) != TALOS_OK)
        return die("keygen");
    memcpy(c.pub0, c.pub, TALOS_ED25519_PUB_BYTES);
    c.epoch = 0;
    c.n_links = 0;
    c.root[0] ^= 0xff;
    talos_chain_next(c.prev_head, c.version, c.root, c.head);
    talos_cert_key_report_data(c.lineage, 0, c.pub, rd);
    if (ops->quote(p, c.measurement, c.config_id, c.cfg_digest, rd, ev, &ev_len) != TALOS_OK)
        return die("the platform would not quote");
    free(c.evidence);
    c.evidence = ev;
    c.evidence_len = ev_len;
    if (talos_cert_sign(&c, seed) != TALOS_OK)
        return die("sign");
    talos_wr_init(&w, 0);
    talos_cert_encode(&c, &w);
    if (w.err || !(out = cli_cert_json(&c, w.p, w.len)) ||
        json_dump_file(out, argv[3], JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return die("cannot write the forged certificate");
    c.evidence = NULL;
    talos_cert_clear(&c);
    talos_wr_free(&w);
    json_decref(in);
    json_decref(out);
    free(enc);
    ops->close(p);
    return 0;
}
