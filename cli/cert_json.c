#include "cli/cert_json.h"

#include <stdlib.h>

#include "core/crypto.h"

/* json_object_set_new: 0 on success; failures are OR-ed and checked once. */
static int hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    int bad = 0;
    if (!s)
        return -1;
    talos_hex(p, n, s);
    bad = json_object_set_new(o, key, json_string(s));
    free(s);
    return bad;
}

static int u64_field(json_t *o, const char *key, uint64_t v)
{
    /* JSON integers are signed 64-bit in jansson; a larger count is not ours. */
    return json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *point(uint64_t version, const uint8_t head[TALOS_HASH])
{
    json_t *o = json_object();
    if (!o || u64_field(o, "version", version) || hex(o, "head", head, TALOS_HASH)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *cli_cert_json(const struct talos_cert *c, const uint8_t *enc, size_t enc_len)
{
    json_t *j = json_object(), *id = json_object(), *links = json_array();
    int bad = !j || !id || !links;

    for (uint32_t i = 0; !bad && i < c->n_links; i++) {
        const struct talos_cert_link *l = &c->links[i];
        json_t *o = json_object();
        bad |= !o || u64_field(o, "epoch", l->epoch) || hex(o, "key", l->pub, 32) ||
               u64_field(o, "version", l->version) || hex(o, "chain_head", l->head, TALOS_HASH) ||
               hex(o, "signature", l->sig, sizeof(l->sig));
        bad |= json_array_append_new(links, o);
    }
    if (!bad) {
        bad |= json_object_set_new(id, "backend", json_string(c->backend));
        bad |= hex(id, "measurement", c->measurement, sizeof(c->measurement));
        bad |= hex(id, "config_id", c->config_id, sizeof(c->config_id));
        bad |= hex(id, "cfg_digest", c->cfg_digest, sizeof(c->cfg_digest));
        bad |= u64_field(j, "format", c->format);
        bad |= hex(j, "lineage", c->lineage, sizeof(c->lineage));
        bad |= u64_field(j, "epoch", c->epoch);
        bad |= hex(j, "key", c->pub, 32);
        bad |= u64_field(j, "version", c->version);
        bad |= hex(j, "state_root", c->root, TALOS_HASH);
        bad |= json_object_set_new(j, "chain_head", point(c->head_version, c->head));
        bad |= json_object_set_new(j, "prev_chain_head", point(c->prev_version, c->prev_head));
        bad |= hex(j, "exec_record", c->exec_head, TALOS_HASH);
        bad |= json_object_set(j, "identity", id);
        bad |= hex(j, "first_key", c->pub0, 32);
        bad |= json_object_set(j, "rotation", links);
        bad |= hex(j, "signature", c->sig, sizeof(c->sig));
        bad |= hex(j, "evidence", c->evidence, c->evidence_len);
        bad |= hex(j, "cert", enc, enc_len);
    }
    json_decref(id);
    json_decref(links);
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}
