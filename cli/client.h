/* The client side of the talosd control socket (docs/control-api.md):
 * DIR/talosd.sock, frames of a 4-byte big-endian length and a JSON object,
 * at most CLI_FRAME_MAX bytes each way. */
#ifndef TALOS_CLI_CLIENT_H
#define TALOS_CLI_CLIENT_H

#include <jansson.h>

#include "cli/cli.h"

#define CLI_FRAME_MAX (8u << 20)
#define CLI_SOCKET_NAME "talosd.sock"

/* A request object {"op": op}; NULL when out of memory. */
json_t *cli_request(const char *op);

/* The request op about the one TA a command names (argv[1], npos
 * positional arguments in all): a usage error unless there is exactly one
 * ("missing TA", "expected exactly one TA"), or it is not an id
 * (cli_ta_id); then *req = {"op": op, "id": id}, lineage and id filled.
 * CLI_PROCEED, or the exit code (the failure printed); the caller decrefs
 * *req either way. */
int cli_ta_request(const struct cli_ctx *ctx, int npos, char **argv, const char *op,
                   uint8_t lineage[TALOS_LINEAGE_BYTES], char id[33], json_t **req);

/* Set req[key] to the string val. TALOS_OK, or TALOS_ERR_INVALID_ARG when
 * val is not UTF-8 (JSON carries only text), TALOS_ERR_NOMEM. */
int cli_set_str(json_t *req, const char *key, const char *val);

struct cli_opt;
/* A command about one TA: its command line parsed (its own options
 * opts[0..n), then the common ones), then cli_ta_request. */
int cli_ta_command(struct cli_ctx *ctx, int argc, char **argv, const struct cli_opt *opts, size_t n,
                   const char *op, uint8_t lineage[TALOS_LINEAGE_BYTES], char id[33], json_t **req);

/* Send req to the node ctx->node and read its answer.
 * Progress frames ({"progress": STEP, "detail": TEXT}, no "ok") that a long
 * operation sends before its answer go to ctx->progress (skipped when NULL),
 * sanitized.
 * - ok:true: returns CLI_PROCEED, *resp is the answer (caller decrefs).
 * - ok:false, or the node unreachable, or the answer malformed: prints the
 *   one failure line, labelled ctx->label, and returns CLI_FAIL; *resp is
 *   NULL. */
int cli_rpc(const struct cli_ctx *ctx, const json_t *req, json_t **resp);

struct cli_field;
/* cli_rpc, then the answer's fields checked (n 0: none). CLI_PROCEED with
 * *resp, or the exit code (the failure printed; *resp NULL). */
int cli_exchange(const struct cli_ctx *ctx, const json_t *req, const struct cli_field *fields,
                 size_t n, json_t **resp);

/* The request op of a command that takes no argument but the common
 * options: parse the command line (a usage error for any positional one),
 * then *req = {"op": op}. CLI_PROCEED, or the exit code (printed; --help
 * is CLI_OK); the caller decrefs *req either way. */
int cli_plain_request(struct cli_ctx *ctx, int argc, char **argv, const char *op, json_t **req);

#endif
