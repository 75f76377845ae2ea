/* talos cfg IMAGE: extract a TA image's control-flow graph (tools/cfg) and
 * print a summary, one function, or all of it as JSON. Needs no node. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/crypto.h"
#include "talos/err.h"
#include "tools/cfg/cfg.h"

const char cmd_cfg_usage[] =
    "usage: talos cfg [--json] [--function NAME] [--output FILE] IMAGE\n"
    "\n"
    "Disassemble the TA image IMAGE (an x86-64 ELF file with its symbol table)\n"
    "and build its control-flow graph: functions, basic blocks, direct jump\n"
    "edges, call sites (direct callee or indirect), and migration points (the\n"
    "return address of each call to talos_migration_point, and ecall handler\n"
    "entries). Prints a summary with the CFG's digest, the SHA-256 of its\n"
    "canonical serialization (docs/cfg.md), identical on every run.\n"
    "\n"
    "options:\n"
    "  --function NAME  show the blocks, edges and call sites of the function(s)\n"
    "                   named NAME\n"
    "  --output FILE    also write the canonical CFG file (what a target loads)\n"
    "  --json           print {\"digest\", \"code_digest\", \"machine\", \"counts\",\n"
    "                   \"ecall_entries\", \"functions\": [{\"name\", \"addr\", \"size\",\n"
    "                   \"blocks\", \"edges\", \"calls\", \"call_sites\",\n"
    "                   \"indirect_calls\", \"indirect_jumps\", \"migration_points\",\n"
    "                   \"undecoded_bytes\"}]}; addresses are integers\n"
    "  -h, --help       show this help\n";

static void hexdigest(const struct talos_cfg *cfg, int code,
                      char out[2 * TALOS_CFG_DIGEST_BYTES + 1])
{
    uint8_t d[TALOS_CFG_DIGEST_BYTES] = {0};

    if (code)
        talos_cfg_code_digest(cfg, d);
    else
        talos_cfg_digest(cfg, d);
    talos_hex(d, sizeof(d), out);
}

static void print_summary(const struct talos_cfg *cfg, const char *image, double ms)
{
    struct talos_cfg_stats st = {0};
    char hex[2 * TALOS_CFG_DIGEST_BYTES + 1] = "";
    char path[512] = "";

    talos_cfg_stats(cfg, &st);
    cli_sanitize(image, path, sizeof(path));
    printf("image             %s\n", path);
    printf("machine           %s\n", talos_cfg_machine_name(talos_cfg_machine(cfg)));
    printf("functions         %zu\n", st.functions);
    printf("blocks            %zu\n", st.blocks);
    printf("edges             %zu jump, %zu fall-through\n", st.jump_edges, st.fall_edges);
    printf("call sites        %zu direct, %zu indirect\n", st.direct_calls, st.indirect_calls);
    printf("indirect jumps    %zu\n", st.indirect_jumps);
    printf("migration points  %zu after calls to %s, %zu ecall entries\n", st.migration_points,
           TALOS_CFG_MP_CALLEE, st.ecall_entries);
    printf("undecoded bytes   %zu\n", st.undecoded_bytes);
    hexdigest(cfg, 1, hex);
    printf("code digest       %s\n", hex);
    hexdigest(cfg, 0, hex);
    printf("digest            %s\n", hex);
    printf("built in          %.0f ms\n", ms);
}

static void print_function(const struct talos_cfg *cfg, const struct talos_cfg_func *fn)
{
    char buf[TALOS_CFG_SYNTH_NAME_BYTES] = "";
    size_t e = 0;

    printf("function  %s\n", fn->name);
    printf("address   0x%" PRIx64 "\n", fn->addr);
    printf("size      %" PRIu64 " bytes\n", fn->size);
    printf("blocks    %zu\n", fn->n_blocks);
    for (size_t b = 0; b < fn->n_blocks; b++) {
        uint64_t end = b + 1 < fn->n_blocks ? fn->blocks[b + 1] : fn->addr + fn->size;
        const char *sep = " ->";
        printf("  0x%" PRIx64 "  %4" PRIu64 " bytes", fn->blocks[b], end - fn->blocks[b]);
        for (; e < fn->n_edges && fn->edges[e].from == fn->blocks[b]; e++, sep = ",")
            printf("%s 0x%" PRIx64 " (%s)", sep, fn->edges[e].to,
                   fn->edges[e].kind == TALOS_CFG_EDGE_JUMP ? "jump" : "fall");
        putchar('\n');
    }
    printf("calls     %zu (%zu indirect)\n", fn->n_calls, fn->n_indirect_calls);
    for (size_t i = 0; i < fn->n_calls; i++) {
        const struct talos_cfg_call *c = &fn->calls[i];
        printf("  0x%" PRIx64 "  %s, returns to 0x%" PRIx64 "%s\n", c->site,
               talos_cfg_callee_name(cfg, c, buf), c->ret,
               talos_cfg_migration_point(cfg, c->ret) ? "  [migration point]" : "");
    }
    printf("indirect jumps %zu\n", fn->n_ijumps);
    for (size_t i = 0; i < fn->n_ijumps; i++)
        printf("  0x%" PRIx64 "\n", fn->ijumps[i]);
    if (talos_cfg_migration_point(cfg, fn->addr) & TALOS_CFG_MP_ECALL)
        printf("ecall entry (a migration point)\n");
    if (fn->undecoded)
        printf("undecoded bytes %" PRIu32 "\n", fn->undecoded);
}

/* --function: every function of that name (local functions may share one). */
static int show_functions(struct cli_ctx *ctx, const struct talos_cfg *cfg, const char *name)
{
    char hex[2 * TALOS_CFG_DIGEST_BYTES + 1] = "";
    const struct talos_cfg_func *fn = NULL;
    size_t from = 0, n = 0;

    if (ctx->json) {
        hexdigest(cfg, 0, hex);
        printf("{\"digest\":\"%s\",\"functions\":[\n", hex);
    }
    while ((fn = talos_cfg_func_named(cfg, name, &from)) != NULL) {
        if (ctx->json) {
            if ((n > 0 && putchar(',') == EOF) ||
                talos_cfg_write_func_json(cfg, fn, stdout) != TALOS_OK) {
                cli_fail(ctx->label, TALOS_ERR_IO, "cannot write the JSON output");
                return CLI_FAIL;
            }
        } else {
            if (n > 0)
                putchar('\n');
            print_function(cfg, fn);
        }
        n++;
    }
    if (ctx->json)
        fputs("]}\n", stdout);
    if (n == 0) {
        cli_fail(ctx->label, TALOS_ERR_NOT_FOUND, "no function named '%s' in the image", name);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int write_cfg_file(struct cli_ctx *ctx, const struct talos_cfg *cfg, const char *path)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc = talos_cfg_serialize(cfg, &bytes, &len);

    if (rc != TALOS_OK) {
        cli_fail(ctx->label, rc, "cannot serialize the CFG");
        goto out;
    }
    rc = TALOS_ERR_IO;
    f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len) {
        cli_fail(ctx->label, rc, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    rc = fclose(f) == 0 ? TALOS_OK : TALOS_ERR_IO;
    f = NULL;
    if (rc != TALOS_OK)
        cli_fail(ctx->label, rc, "cannot write %s: %s", path, strerror(errno));
out:
    if (f)
        fclose(f);
    free(bytes);
    return rc == TALOS_OK ? CLI_OK : CLI_FAIL;
}

int cmd_cfg(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *function = NULL, *output = NULL;
    const struct cli_opt opts[] = {
        {"function", 0, &function, NULL},
        {"output", 'o', &output, NULL},
    };
    struct talos_cfg *cfg = NULL;
    struct timespec t0 = {0}, t1 = {0};
    char msg[512] = "";
    int npos = 0;
    int rc = cli_args(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), 0, &npos);

    if (rc != CLI_PROCEED)
        goto out;
    if (npos != 1) {
        rc = cli_usage(ctx->cmd->name, npos == 0 ? "missing IMAGE" : "expected exactly one IMAGE");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = talos_cfg_build(argv[1], &cfg, msg, sizeof(msg));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != TALOS_OK) {
        cli_fail(ctx->label, rc, "%s", msg);
        rc = CLI_FAIL;
        goto out;
    }
    if (output && (rc = write_cfg_file(ctx, cfg, output)) != CLI_OK)
        goto out;
    if (function) {
        rc = show_functions(ctx, cfg, function);
    } else if (ctx->json) {
        rc = CLI_OK;
        if (talos_cfg_write_json(cfg, stdout) != TALOS_OK) {
            cli_fail(ctx->label, TALOS_ERR_IO, "cannot write the JSON output");
            rc = CLI_FAIL;
        }
    } else {
        print_summary(cfg, argv[1],
                      (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                          (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        rc = CLI_OK;
    }
out:
    talos_cfg_free(cfg);
    return rc;
}
