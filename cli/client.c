#include "cli/client.h"

#include <errno.h>
#include <limits.h>
#include <time.h>
#include <sys/file.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/output.h"
#include "core/log.h"
#include "core/wire.h"
#include "talos/err.h"

json_t *cli_request(const char *op)
{
    json_t *req = json_object();
    if (req && cli_set_str(req, "op", op) != TALOS_OK) {
        json_decref(req);
        req = NULL;
    }
    return req;
}

int cli_ta_request(const struct cli_ctx *ctx, int npos, char **argv, const char *op,
                   uint8_t lineage[TALOS_LINEAGE_BYTES], char id[33], json_t **req)
{
    int rc = CLI_PROCEED;

    *req = NULL;
    if (npos != 1)
        return cli_usage(ctx->cmd->name, npos == 0 ? "missing TA" : "expected exactly one TA");
    if ((rc = cli_ta_id(ctx, argv[1], lineage, id)) != CLI_PROCEED)
        return rc;
    if (!(*req = cli_request(op)) || cli_set_str(*req, "id", id) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        return CLI_FAIL;
    }
    return CLI_PROCEED;
}

int cli_ta_command(struct cli_ctx *ctx, int argc, char **argv, const struct cli_opt *opts, size_t n,
                   const char *op, uint8_t lineage[TALOS_LINEAGE_BYTES], char id[33], json_t **req)
{
    int npos = 0;
    int rc = cli_args(ctx, argc, argv, opts, n, 0, &npos);

    *req = NULL;
    return rc != CLI_PROCEED ? rc : cli_ta_request(ctx, npos, argv, op, lineage, id, req);
}

int cli_plain_request(struct cli_ctx *ctx, int argc, char **argv, const char *op, json_t **req)
{
    int npos = 0;
    int rc = cli_args(ctx, argc, argv, NULL, 0, 0, &npos);

    *req = NULL;
    if (rc != CLI_PROCEED)
        return rc;
    if (npos != 0)
        return cli_usage(ctx->cmd->name, "unexpected argument '%s'", argv[1]);
    if (!(*req = cli_request(op))) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot build the request");
        return CLI_FAIL;
    }
    return CLI_PROCEED;
}

int cli_exchange(const struct cli_ctx *ctx, const json_t *req, const struct cli_field *fields,
                 size_t n, json_t **resp)
{
    int rc = cli_rpc(ctx, req, resp);

    if (rc == CLI_PROCEED && n)
        rc = cli_check_fields(ctx->label, NULL, *resp, fields, n);
    if (rc != CLI_PROCEED) {
        json_decref(*resp);
        *resp = NULL;
    }
    return rc;
}

int cli_set_str(json_t *req, const char *key, const char *val)
{
    json_t *s = json_string(val); /* NULL for invalid UTF-8 as for no memory */
    if (!s)
        return TALOS_ERR_INVALID_ARG;
    return json_object_set_new(req, key, s) == 0 ? TALOS_OK : TALOS_ERR_NOMEM;
}

/* Connect to DIR/talosd.sock. sun_path holds 108 bytes; a longer state dir
 * is reached through /proc/self/fd of a descriptor on the directory.
 * Returns the socket, or -1 with errno set. */
static int connect_node_once(const char *dir);

/* Whether to wait for a node that may be starting (`talosd ... &` then
 * `talos ...` in a script): its pid file is locked by a live talosd before
 * it creates its socket. A node that is not running fails at once, after a
 * short grace for a state directory that does not exist yet. */
static int node_starting(const char *dir, int waited_ms)
{
    char path[PATH_MAX];
    int fd = -1, locked = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/talosd.pid", dir) >= sizeof(path))
        return 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT && waited_ms < 300;
    locked = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return locked && waited_ms < 5000;
}

static int connect_node(const char *dir)
{
    for (int waited = 0;; waited += 20) {
        int fd = connect_node_once(dir);
        if (fd >= 0 || (errno != ENOENT && errno != ECONNREFUSED) || !node_starting(dir, waited))
            return fd;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        errno = ENOENT;
    }
}

static int connect_node_once(const char *dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = -1, dfd = -1, saved = 0;
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, CLI_SOCKET_NAME);

    if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            goto out;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, CLI_SOCKET_NAME);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto out;
    while (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        /* A connect interrupted by a signal may have completed meanwhile. */
        if (errno == EINTR)
            continue;
        if (errno == EISCONN)
            break;
        saved = errno;
        close(fd);
        fd = -1;
        errno = saved;
        goto out;
    }
out:
    saved = errno;
    if (dfd >= 0)
        close(dfd);
    errno = saved;
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        /* MSG_NOSIGNAL: a node that hangs up is an error, not a SIGPIPE. */
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return TALOS_ERR_IO;
        b += w;
        n -= (size_t)w;
    }
    return TALOS_OK;
}

static int recv_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return TALOS_ERR_IO;
        if (r == 0)
            return TALOS_ERR_PEER_CLOSED;
        b += r;
        n -= (size_t)r;
    }
    return TALOS_OK;
}

/* An ok:false answer: print the node's reason under our label. The error
 * name comes from our own table when we know the code, so a hostile node
 * cannot pin an arbitrary name on a known code; the node's name is used
 * only for codes newer than this client, and only if it looks like one. */
static int print_refusal(const struct cli_ctx *ctx, const json_t *resp)
{
    static const struct cli_field err_fields[] = {
        {"error", CLI_J_STR, 0, 0},
        {"message", CLI_J_STR, 0, 0},
    };
    const json_t *code = json_object_get(resp, "code");
    const char *name = NULL, *node_name = NULL;
    json_int_t c = 0;

    if (!json_is_integer(code) || json_integer_value(code) >= 0 ||
        json_integer_value(code) < TALOS_ERR_MIN)
        return cli_malformed(ctx->label, "code");
    if (cli_check_fields(ctx->label, NULL, resp, err_fields, 2) != CLI_PROCEED)
        return CLI_FAIL;
    c = json_integer_value(code);
    name = talos_errname((int)c);
    node_name = json_string_value(json_object_get(resp, "error"));
    if (strcmp(name, "UNKNOWN") == 0 && node_name[0] != '\0' && strlen(node_name) <= 32 &&
        strspn(node_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(node_name))
        name = node_name;
    cli_fail_name(ctx->label, name, "%s", json_string_value(json_object_get(resp, "message")));
    return CLI_FAIL;
}

static int send_frame(const struct cli_ctx *ctx, int fd, const json_t *req)
{
    char *body = json_dumps(req, JSON_COMPACT);
    uint8_t hdr[4] = {0};
    size_t len = body ? strlen(body) : 0;
    int rc = CLI_FAIL, err = TALOS_OK;

    if (!body) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot encode the request");
        goto out;
    }
    if (len > CLI_FRAME_MAX) {
        cli_fail(ctx->label, TALOS_ERR_TOO_LARGE, "request of %zu bytes exceeds the 8 MiB frame limit", len);
        goto out;
    }
    talos_be32_put(hdr, (uint32_t)len);
    err = send_all(fd, hdr, sizeof(hdr));
    if (err == TALOS_OK)
        err = send_all(fd, body, len);
    if (err != TALOS_OK) {
        cli_fail(ctx->label, err, "cannot send to node at %s: %s", ctx->node, strerror(errno));
        goto out;
    }
    rc = CLI_PROCEED;
out:
    free(body);
    return rc;
}

/* One frame from the node, decoded. JSON_ALLOW_NUL: a TA's text output may
 * hold NUL characters; every user of a string either takes its length or
 * stops at the first NUL. */
static int recv_frame(const struct cli_ctx *ctx, int fd, json_t **msg)
{
    uint8_t hdr[4] = {0};
    uint8_t *in = NULL;
    uint32_t len = 0;
    json_error_t jerr = {0};
    int rc = CLI_FAIL, err = recv_all(fd, hdr, sizeof(hdr));

    if (err != TALOS_OK)
        goto recv_failed;
    len = talos_be32_get(hdr);
    TLOG_DEBUG("%s: frame of %u bytes from the node", ctx->label, (unsigned)len);
    if (len > CLI_FRAME_MAX) {
        cli_fail(ctx->label, TALOS_ERR_TOO_LARGE, "node sent a frame of %u bytes (limit 8 MiB)", (unsigned)len);
        goto out;
    }
    in = malloc(len ? len : 1);
    if (!in) {
        cli_fail(ctx->label, TALOS_ERR_NOMEM, "cannot hold the node's answer");
        goto out;
    }
    err = recv_all(fd, in, len);
    if (err != TALOS_OK)
        goto recv_failed;
    *msg = json_loadb((const char *)in, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!*msg) {
        rc = cli_malformed(ctx->label, "not JSON: %s", jerr.text);
        goto out;
    }
    if (!json_is_object(*msg)) {
        json_decref(*msg);
        *msg = NULL;
        rc = cli_malformed(ctx->label, "not an object");
        goto out;
    }
    rc = CLI_PROCEED;
    goto out;
recv_failed:
    if (err == TALOS_ERR_PEER_CLOSED)
        cli_fail(ctx->label, err, "node at %s closed the connection without answering", ctx->node);
    else
        cli_fail(ctx->label, err, "cannot read from node at %s: %s", ctx->node, strerror(errno));
out:
    free(in);
    return rc;
}

/* A progress frame ({"progress": STEP, "detail": TEXT}, no "ok") goes to
 * ctx->progress, sanitized (it is node text bound for a terminal); it is
 * not an answer. Returns 1 when msg was one. */
static int progress_frame(const struct cli_ctx *ctx, const json_t *msg)
{
    const json_t *step = json_object_get(msg, "progress");
    const json_t *detail = json_object_get(msg, "detail");
    char s[128] = "", d[512] = "";

    if (json_object_get(msg, "ok") || !json_is_string(step) || (detail && !json_is_string(detail)))
        return 0;
    if (ctx->progress) {
        cli_sanitize(json_string_value(step), s, sizeof(s));
        if (detail)
            cli_sanitize(json_string_value(detail), d, sizeof(d));
        ctx->progress(s, detail ? d : NULL);
    }
    return 1;
}

int cli_rpc(const struct cli_ctx *ctx, const json_t *req, json_t **resp)
{
    const json_t *ok = NULL;
    int fd = -1, rc = CLI_FAIL;

    *resp = NULL;
    TLOG_DEBUG("%s: connecting to %s/%s", ctx->label, ctx->node, CLI_SOCKET_NAME);
    fd = connect_node(ctx->node);
    if (fd < 0) {
        cli_fail(ctx->label, TALOS_ERR_IO, "cannot reach node at %s: %s (is talosd running?)",
                 ctx->node, strerror(errno));
        goto out;
    }
    if (send_frame(ctx, fd, req) != CLI_PROCEED)
        goto out;
    for (;;) {
        if (recv_frame(ctx, fd, resp) != CLI_PROCEED)
            goto out;
        if (!progress_frame(ctx, *resp))
            break;
        json_decref(*resp);
        *resp = NULL;
    }
    ok = json_object_get(*resp, "ok");
    if (!json_is_boolean(ok)) {
        cli_malformed(ctx->label, "ok");
        goto out;
    }
    if (!json_is_true(ok)) {
        print_refusal(ctx, *resp);
        goto out;
    }
    rc = CLI_PROCEED;
out:
    if (rc != CLI_PROCEED) {
        json_decref(*resp);
        *resp = NULL;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}
