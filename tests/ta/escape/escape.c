/* escape: a test TA that tries what a confined sim TA must not do
 * (docs/confinement.md, SECURITY.md T37/T38). Each attempt that the
 * confinement lets through answers normally, so that a test sees it:
 *   exec PATH    execve("/bin/sh", {"sh", "-c", "touch PATH"}): a new
 *                program (with the channel still open: PATH proves it ran)
 *   socket       socket(AF_INET, SOCK_STREAM, 0): a network endpoint of its own
 *   plant KEY    fill a 4 KiB arena block (the state root) and a
 *                TALOS_PERSIST buffer with KEY's letters in upper case,
 *                written in place: the canary exists nowhere else in the TA
 *                (not in the argument, the stack or the heap), so a core
 *                file holding it holds state
 *   abort        abort(): a crash whose default action writes a core
 *   ping         "pong": the TA serves
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "talos/ta.h"

#define BLOCK 4096
#define PERSIST_BYTES 256

static char persist_canary[PERSIST_BYTES] TALOS_PERSIST;

static int e_ping(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    return talos_out_printf(out, "pong");
}

static int e_exec(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    char cmd[512];
    char *const args[] = {"sh", "-c", cmd, NULL};
    char *const env[] = {NULL};

    (void)argc;
    if ((size_t)snprintf(cmd, sizeof(cmd), "touch %s", argv[0].ptr) >= sizeof(cmd))
        return TALOS_ERR_TOO_LARGE;
    execve("/bin/sh", args, env);
    talos_out_reason(out, "execve failed without killing the TA");
    return TALOS_ERR_TA_REFUSED;
}

static int e_socket(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)argc, (void)argv;
    if (fd >= 0)
        close(fd);
    return talos_out_printf(out, fd >= 0 ? "socket opened" : "socket refused");
}

/* The upper-case form is made in the destination bytes themselves. */
static void fill_upper(char *dst, size_t n, const struct talos_arg *key)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = key->ptr[i % key->len];
        dst[i] = (char)toupper((unsigned char)dst[i]);
    }
}

static int e_plant(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    char *block = NULL;

    (void)argc;
    if (argv[0].len == 0)
        return TALOS_ERR_BAD_ARGS;
    if (!(block = talos_alloc(BLOCK))) {
        talos_out_reason(out, "arena full");
        return TALOS_ERR_ARENA_FULL;
    }
    fill_upper(block, BLOCK, &argv[0]);
    fill_upper(persist_canary, PERSIST_BYTES, &argv[0]);
    talos_set_state_root(block);
    return TALOS_OK;
}

static int e_abort(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    abort();
}

static const struct talos_ecall escape_ecalls[] = {
    {"ping", e_ping, 0, 0, 0, ""},
    {"exec", e_exec, 1, 1, 256, "MARKER_PATH"},
    {"socket", e_socket, 0, 0, 0, ""},
    {"plant", e_plant, 1, 1, 64, "KEY"},
    {"abort", e_abort, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("escape", escape_ecalls, NULL);
