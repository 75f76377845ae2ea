/* talos call --secure: one ecall in a session with the TA itself
 * (docs/sessions.md), through the node's control socket or --connect
 * HOST:PORT. The node only relays: trust comes from the TA's evidence, verified by the client library against this machine's
 * anchors and the user's policy. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/call.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "core/crypto.h"
#include "talos/client.h"
#include "talos/ta.h"

/* The policy from --policy, or from --measurement [--cfg-digest]; then
 * --anchors and --allow-sim over it. CLI_PROCEED or the exit status. */
static int make_policy(struct cli_ctx *ctx, const struct call_secure_opts *o,
                       struct talos_policy **out)
{
    uint8_t m[TALOS_MEASUREMENT_BYTES], d[TALOS_CFG_DIGEST_BYTES], *pem = NULL;
    const char *env = getenv("TALOS_ALLOW_SIM");
    struct talos_policy *p = NULL;
    char why[320] = "";
    size_t pem_len = 0;
    int rc = CLI_FAIL, err = TALOS_OK;

    if (!o->policy == !o->measurement)
        return cli_usage(ctx->cmd->name, o->policy ? "--policy and --measurement exclude each other"
                                                   : "a secure call needs --policy FILE or "
                                                     "--measurement HEX");
    if (o->cfg_digest && !o->measurement)
        return cli_usage(ctx->cmd->name, "--cfg-digest goes with --measurement (a policy file "
                                         "names its own cfg_digests)");
    if (o->measurement && (strlen(o->measurement) != 64 || talos_unhex(o->measurement, m, sizeof(m))))
        return cli_usage(ctx->cmd->name, "--measurement must be 64 hex characters");
    if (o->cfg_digest && (strlen(o->cfg_digest) != 64 || talos_unhex(o->cfg_digest, d, sizeof(d))))
        return cli_usage(ctx->cmd->name, "--cfg-digest must be 64 hex characters");
    if (o->policy && (err = talos_policy_load(o->policy, &p, why, sizeof(why))) != TALOS_OK) {
        char shown[320];
        cli_sanitize(why, shown, sizeof(shown));
        cli_fail(ctx->label, err, "%s", shown);
        return CLI_FAIL;
    }
    if (!p && ((err = talos_policy_new(&p)) != TALOS_OK ||
               (err = talos_policy_allow_measurement(p, m)) != TALOS_OK ||
               (o->cfg_digest && (err = talos_policy_allow_cfg_digest(p, d)) != TALOS_OK))) {
        cli_fail(ctx->label, err, "cannot build the policy");
        goto out;
    }
    if (o->allow_sim || (env && strcmp(env, "1") == 0))
        talos_policy_set_flags(p, talos_policy_flags(p) | TALOS_VERIFY_ALLOW_SIM);
    /* --anchors, else the policy file's, else this machine's defaults
     * (read here, for the same hints as 'talos attest' gives). */
    if (o->anchors || !o->policy) {
        if (cli_read_anchors(ctx, o->anchors, &pem, &pem_len) != CLI_PROCEED)
            goto out;
        if ((err = talos_policy_set_anchors(p, pem, pem_len)) != TALOS_OK) {
            cli_fail(ctx->label, err, "cannot keep the trust anchors");
            goto out;
        }
    }
    *out = p;
    p = NULL;
    rc = CLI_PROCEED;
out:
    free(pem);
    talos_policy_free(p);
    return rc;
}

/* Where to connect: --connect, else the node's control socket, which
 * hands a client's connection to the same relay as its listening port
 * (docs/sessions.md §1): no TCP on this machine, and it works whatever
 * port the node listens on. Either way the address only carries bytes:
 * trust comes from the TA's evidence. */
static int node_address(struct cli_ctx *ctx, const struct call_secure_opts *o, char *addr,
                        size_t cap)
{
    int n = o->connect ? snprintf(addr, cap, "%s", o->connect)
                       : snprintf(addr, cap, "unix:%s/%s", ctx->node, CLI_SOCKET_NAME);
    if (n < 0 || (size_t)n >= cap)
        return cli_usage(ctx->cmd->name, o->connect ? "--connect: HOST:PORT too long"
                                                    : "the node's state dir path is too long");
    return CLI_PROCEED;
}

/* The call's arguments as bytes: text, @FILE, @-, @@TEXT (as the plain path). */
static int read_args(struct cli_ctx *ctx, int n, char **args, struct talos_buf *argv, char **owned)
{
    int stdin_used = 0;

    if (n > TALOS_MAX_ARGS)
        return cli_usage(ctx->cmd->name, "at most %d arguments", TALOS_MAX_ARGS);
    for (int i = 0; i < n; i++) {
        if (args[i][0] == '@' && args[i][1] != '@') {
            size_t len = 0;
            if (!(owned[i] = cli_call_arg_from(ctx, args[i] + 1, &stdin_used, &len)))
                return CLI_FAIL;
            argv[i] = (struct talos_buf){owned[i], len};
        } else {
            const char *s = args[i] + (args[i][0] == '@');
            argv[i] = (struct talos_buf){s, strlen(s)};
        }
    }
    return CLI_PROCEED;
}

static void hex_line(const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1] = "";
    talos_hex(p, n, hex);
    fprintf(stderr, "%-12s %s\n", key, hex);
}

static void print_identity(const struct talos_session_info *i)
{
    const struct talos_claims *c = &i->claims;
    char node[sizeof(i->node)] = "";

    fprintf(stderr, "%-12s %s%s%s\n", "backend", c->backend,
            c->flags & TALOS_CLAIM_SIMULATED ? " — SIMULATED: no hardware isolation" : "",
            c->flags & TALOS_CLAIM_DEBUG ? " (DEBUG)" : "");
    hex_line("measurement", c->measurement, sizeof(c->measurement));
    if (c->flags & TALOS_CLAIM_NO_CFG)
        fprintf(stderr, "%-12s none (the platform computed no CFG)\n", "cfg_digest");
    else
        hex_line("cfg_digest", c->cfg_digest, sizeof(c->cfg_digest));
    hex_line("platform", c->platform_id, sizeof(c->platform_id));
    hex_line("lineage", i->lineage, sizeof(i->lineage));
    cli_sanitize(i->node, node, sizeof(node));
    fprintf(stderr, "%-12s %llu\n%-12s %s\n%-12s %.1f ms\n", "version",
            (unsigned long long)i->version, "node", node, "setup", i->setup_ms);
}

static int hex_field(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1] = "";
    talos_hex(p, n, hex);
    return json_object_set_new(o, key, json_string(hex));
}

static json_t *identity_json(const struct talos_session_info *i)
{
    const struct talos_claims *c = &i->claims;
    json_t *o = json_object();
    int bad = !o;

    if (bad)
        return NULL;
    bad |= json_object_set_new(o, "backend", json_string(c->backend));
    bad |= json_object_set_new(o, "simulated", json_boolean(c->flags & TALOS_CLAIM_SIMULATED));
    bad |= json_object_set_new(o, "debug", json_boolean(c->flags & TALOS_CLAIM_DEBUG));
    bad |= hex_field(o, "measurement", c->measurement, sizeof(c->measurement));
    bad |= (c->flags & TALOS_CLAIM_NO_CFG)
               ? json_object_set_new(o, "cfg_digest", json_null())
               : hex_field(o, "cfg_digest", c->cfg_digest, sizeof(c->cfg_digest));
    bad |= hex_field(o, "platform_id", c->platform_id, sizeof(c->platform_id));
    bad |= hex_field(o, "lineage", i->lineage, sizeof(i->lineage));
    bad |= json_object_set_new(o, "version", json_integer((json_int_t)i->version));
    bad |= json_object_set_new(o, "node", json_string(i->node));
    bad |= json_object_set_new(o, "setup_ms", json_real(i->setup_ms));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The output: text (valid UTF-8 without NUL) as is, with a final newline
 * when it lacks one; other bytes exactly. JSON: "out" or "out_hex". */
static int print_result(struct cli_ctx *ctx, const struct talos_session_result *r,
                        const struct talos_session_info *info)
{
    json_t *text = memchr(r->out, 0, r->out_len) ? NULL : json_stringn((const char *)r->out, r->out_len);
    int rc = CLI_FAIL;

    if (!ctx->json) {
        size_t n = r->out_len;
        int ok = fwrite(r->out, 1, n, stdout) == n &&
                 (!text || n == 0 || r->out[n - 1] == '\n' || putchar('\n') != EOF);
        if (!ok)
            cli_fail(ctx->label, TALOS_ERR_IO, "cannot write the output");
        rc = ok ? CLI_OK : CLI_FAIL;
        goto out;
    }
    json_t *j = json_object(), *id = identity_json(info);
    char *hex = text ? NULL : malloc(2 * r->out_len + 1);
    int built = j && id && (text || hex);
    if (built && !text)
        talos_hex(r->out, r->out_len, hex);
    built = built &&
            json_object_set_new(j, text ? "out" : "out_hex", text ? json_incref(text) : json_string(hex)) == 0 &&
            json_object_set_new(j, "version", json_integer((json_int_t)r->version)) == 0 &&
            json_object_set_new(j, "status", json_string("OK")) == 0 &&
            json_object_set_new(j, "replayed", json_boolean(r->replayed)) == 0 &&
            json_object_set(j, "identity", id) == 0;
    rc = cli_print_built(ctx->label, j, built);
    free(hex);
    json_decref(id);
    json_decref(j);
out:
    json_decref(text);
    return rc;
}

int cmd_call_secure(struct cli_ctx *ctx, int npos, char **argv, const struct call_secure_opts *o)
{
    uint8_t lineage[TALOS_LINEAGE_BYTES];
    char id[2 * TALOS_LINEAGE_BYTES + 1], addr[128] = "", why[256] = "", shown[256];
    struct talos_buf args[TALOS_MAX_ARGS];
    char *owned[TALOS_MAX_ARGS] = {0};
    struct talos_policy *p = NULL;
    struct talos_session *s = NULL;
    struct talos_session_result res = {0};
    struct talos_session_info info;
    int nargs = npos - 2, rc = cli_ta_id(ctx, argv[1], lineage, id), err = TALOS_OK;

    if (rc != CLI_PROCEED || (rc = make_policy(ctx, o, &p)) != CLI_PROCEED ||
        (rc = read_args(ctx, nargs, argv + 3, args, owned)) != CLI_PROCEED ||
        (rc = node_address(ctx, o, addr, sizeof(addr))) != CLI_PROCEED)
        goto out;
    rc = CLI_FAIL;
    if ((err = talos_session_open(addr, lineage, p, NULL, &s, why, sizeof(why))) != TALOS_OK) {
        cli_sanitize(why, shown, sizeof(shown));
        cli_fail(ctx->label, err, "%s", shown);
        goto out;
    }
    talos_session_info(s, &info);
    if (o->verbose)
        print_identity(&info);
    if ((err = talos_session_call(s, argv[2], nargs, args, &res)) != TALOS_OK) {
        cli_sanitize(talos_session_error(s), shown, sizeof(shown));
        cli_fail(ctx->label, err, "%s", shown);
        goto out;
    }
    if (res.status != TALOS_OK) {
        cli_sanitize(res.reason, shown, sizeof(shown));
        cli_fail(ctx->label, res.status, "%s", shown);
        goto out;
    }
    talos_session_info(s, &info); /* the instance that answered */
    rc = print_result(ctx, &res, &info);
out:
    for (int i = 0; i < nargs && i < TALOS_MAX_ARGS; i++)
        if (owned[i]) {
            talos_wipe(owned[i], args[i].len);
            free(owned[i]);
        }
    talos_session_result_clear(&res);
    talos_session_close(s);
    talos_policy_free(p);
    return rc;
}
