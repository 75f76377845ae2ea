/* The talosd control API (node/talosd/control.c): one request frame's JSON
 * through control_handle_json, the same dispatch control_serve runs, with
 * the real registry, image store and host library but no running host
 * (node.host is NULL) and no client connection.
 *
 * The registry holds one entry the harness keeps there: a lineage that moved
 * away (TA id MOVED_ID), so that requests naming it pass the id checks and
 * reach each op's field parsing (call args, attest nonce, resume token)
 * without any TA process. It carries no TA, so nothing can start, call or
 * reach a peer: every op that needs a host must fail cleanly.
 *
 * Input: the JSON bytes of one request. Checked: the answer is an object
 * with a boolean "ok"; a refusal names its error (talos_errname of a
 * negative code) and a message; the answer serializes as JSON; only node,
 * ps and stop may succeed here; the registry never grows. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "node/talosd/node.h"
#include "node/talosd/registry.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

#define MOVED_ID "0123456789abcdef0123456789abcdef"

/* talosd's main.c owns this; the harness stands in for it. */
struct node node;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[64];

    talos_log_init("fuzz_control", TALOS_LOG_ERROR);
    /* A state directory that does not exist (made unique, then removed):
     * a "run" of any file stops at the image store, writing nothing; with
     * no host (NULL) it could not start a TA anyway. */
    snprintf(dir, sizeof(dir), "/tmp/talos-fuzz-control.XXXXXX");
    FUZZ_CHECK(mkdtemp(dir) != NULL && rmdir(dir) == 0);
    snprintf(node.state_dir, sizeof(node.state_dir), "%s", dir);
    snprintf(node.listen, sizeof(node.listen), "127.0.0.1:7100");
    node.backend = talos_backend_default();
    node.host = NULL;
    return 0;
}

/* The moved-away entry (a "stop" may have removed it). */
static void ensure_moved_entry(void)
{
    struct ta_entry *e = registry_get(MOVED_ID);

    if (e) {
        registry_put(e);
        return;
    }
    if (registry_add_arriving(NULL, "/nonexistent/images/moved.ta", MOVED_ID, &e) != TALOS_OK)
        abort();
    snprintf(e->moved_to, sizeof(e->moved_to), "127.0.0.1:9");
    e->pending = 0; /* as its activation would: the lineage's own entry */
    pthread_mutex_unlock(&e->lock);
    registry_put(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *resp = NULL, *ok = NULL, *req = NULL, *back = NULL;
    const char *op = NULL;
    char *dump = NULL;

    if (size > CONTROL_FRAME_MAX)
        return 0;
    ensure_moved_entry();
    FUZZ_CHECK(registry_count() == 1);

    resp = control_handle_json(data, size);
    FUZZ_CHECK(resp && json_is_object(resp));
    ok = json_object_get(resp, "ok");
    FUZZ_CHECK(json_is_boolean(ok));
    if (json_is_false(ok)) {
        json_t *code = json_object_get(resp, "code");
        json_t *err = json_object_get(resp, "error");
        FUZZ_CHECK(json_is_integer(code) && json_integer_value(code) < 0 &&
                   json_integer_value(code) >= TALOS_ERR_MIN);
        FUZZ_CHECK(json_is_string(err) &&
                   strcmp(json_string_value(err), talos_errname((int)json_integer_value(code))) ==
                       0);
        FUZZ_CHECK(json_is_string(json_object_get(resp, "message")));
    }
    dump = json_dumps(resp, JSON_COMPACT);
    FUZZ_CHECK(dump != NULL);
    back = json_loads(dump, 0, NULL);
    FUZZ_CHECK(back && json_is_object(back));

    /* Which op was asked for, as the node read it. */
    req = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (req && json_is_object(req) && json_is_string(json_object_get(req, "op")))
        op = json_string_value(json_object_get(req, "op"));
    if (json_is_true(ok))
        FUZZ_CHECK(op &&
                   (strcmp(op, "node") == 0 || strcmp(op, "ps") == 0 || strcmp(op, "stop") == 0));
    else if (!req || !json_is_object(req))
        FUZZ_CHECK(json_integer_value(json_object_get(resp, "code")) == TALOS_ERR_MALFORMED);
    FUZZ_CHECK(registry_count() <= 1);

    json_decref(req);
    json_decref(back);
    free(dump);
    json_decref(resp);
    return 0;
}
