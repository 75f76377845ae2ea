/* talos ps: the node's TAs, as a table or as the node's JSON array. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "talos/talos.h"

const char cmd_ps_usage[] =
    "usage: talos [--node DIR] ps [--json]\n"
    "\n"
    "List the TAs of the node: id, name, lifecycle state, version, bytes of\n"
    "state, call mode, process id and the first 16 hex characters of the\n"
    "measurement. With --json, print {\"tas\": [...]} with every field the node\n"
    "reports (id, name, image, measurement, state, version, lineage, pid,\n"
    "mode, state_bytes, and handoff while a handover after a lost migration\n"
    "channel is under way: a source in doubt resending its HANDOFF, or a\n"
    "PREPARED target waiting for it).\n"
    "\n"
    "options:\n" CLI_COMMON_HELP;

/* Every TA object is checked whole before anything is printed. */
static const struct cli_field ta_fields[] = {
    {"id", CLI_J_HEX, TALOS_LINEAGE_BYTES, 0},
    {"name", CLI_J_STR, 0, 0},
    {"image", CLI_J_STR, 0, 0},
    {"measurement", CLI_J_HEX, TALOS_MEASUREMENT_BYTES, 0},
    {"state", CLI_J_STR, 0, 0},
    {"version", CLI_J_UINT, 0, 0},
    {"lineage", CLI_J_HEX, 0, 0},
    {"pid", CLI_J_UINT, 0, 0},
    {"mode", CLI_J_STR, 0, 0},
    {"state_bytes", CLI_J_UINT, 0, 0},
    {"handoff", CLI_J_STR, 0, 1},
};

static const struct cli_field ps_fields[] = {
    {"tas", CLI_J_ARRAY, 0, 0},
};

/* Longest cell kept; a longer name is cut (the id is what commands take). */
#define CELL_MAX 64

struct ps_col {
    const char *header;
    const char *field;
    size_t max_chars; /* 0 = whole value */
};

static const struct ps_col cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 24},
    {"STATE", "state", 0},
    {"VERSION", "version", 0},
    {"STATE_BYTES", "state_bytes", 0},
    {"MODE", "mode", 0},
    {"PID", "pid", 0},
    {"MEASUREMENT", "measurement", 16},
};

#define N_COLS (sizeof(cols) / sizeof(cols[0]))

/* The cell of one column, sanitized; returns its width in characters. */
static size_t cell(const json_t *ta, const struct ps_col *c, char out[CELL_MAX])
{
    const json_t *v = json_object_get(ta, c->field);
    char num[24] = "";
    size_t cap = c->max_chars && c->max_chars < CELL_MAX ? c->max_chars + 1 : CELL_MAX;

    /* A handover after a lost channel shows beside the state. */
    const json_t *h = strcmp(c->field, "state") == 0 ? json_object_get(ta, "handoff") : NULL;
    if (json_is_string(h)) {
        char both[CELL_MAX];
        snprintf(both, sizeof(both), "%s (%s)", json_string_value(v), json_string_value(h));
        return cli_sanitize(both, out, cap);
    }
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)json_integer_value(v));
        return cli_sanitize(num, out, cap);
    }
    /* The cap counts bytes: wide characters only shorten what fits. */
    return cli_sanitize(json_string_value(v), out, cap);
}

static int print_table(const json_t *tas)
{
    size_t width[N_COLS] = {0};
    char buf[CELL_MAX] = "";
    size_t i = 0, k = 0;
    const json_t *ta = NULL;

    for (k = 0; k < N_COLS; k++)
        width[k] = strlen(cols[k].header);
    json_array_foreach(tas, i, ta)
        for (k = 0; k < N_COLS; k++) {
            size_t w = cell(ta, &cols[k], buf);
            width[k] = w > width[k] ? w : width[k];
        }
    for (k = 0; k < N_COLS; k++)
        printf("%-*s%s", (int)(k + 1 < N_COLS ? width[k] : 0), cols[k].header, k + 1 < N_COLS ? "  " : "\n");
    json_array_foreach(tas, i, ta)
        for (k = 0; k < N_COLS; k++) {
            size_t w = cell(ta, &cols[k], buf);
            /* Pad by characters, not bytes: names may be UTF-8. */
            if (k + 1 < N_COLS)
                printf("%s%*s", buf, (int)(width[k] - w + 2), "");
            else
                printf("%s\n", buf);
        }
    return ferror(stdout) ? CLI_FAIL : CLI_OK;
}

int cmd_ps(struct cli_ctx *ctx, int argc, char **argv)
{
    json_t *req = NULL, *resp = NULL, *tas = NULL, *ta = NULL, *j = NULL;
    char where[32] = "";
    size_t i = 0;
    int rc = cli_plain_request(ctx, argc, argv, "ps", &req);

    if (rc != CLI_PROCEED || (rc = cli_exchange(ctx, req, ps_fields, 1, &resp)) != CLI_PROCEED)
        goto out;
    tas = json_object_get(resp, "tas");
    json_array_foreach(tas, i, ta) {
        snprintf(where, sizeof(where), "tas[%zu]", i);
        rc = cli_check_fields(ctx->label, where, ta, ta_fields, sizeof(ta_fields) / sizeof(ta_fields[0]));
        if (rc != CLI_PROCEED)
            goto out;
    }
    if (!ctx->json) {
        rc = print_table(tas);
        goto out;
    }
    j = json_object();
    rc = cli_print_built(ctx->label, j, j && json_object_set(j, "tas", tas) == 0);
out:
    json_decref(j);
    json_decref(resp);
    json_decref(req);
    return rc;
}
