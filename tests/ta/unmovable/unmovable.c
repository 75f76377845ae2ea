/* unmovable: a test TA that takes hold of what a migration cannot move
 * (D46): a descriptor (a dup of stderr: a confined TA may open no file,
 * docs/confinement.md), memory it maps itself, a thread it starts; and,
 * allowed, a large malloc block (glibc maps it by itself). Each has its
 * undo, so one TA shows every refusal and then migrates. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "talos/ta.h"
#include "tests/ta/hexout.h"

#define MAP_BYTES (64u << 10)
#define BIG_BYTES (1u << 20)

static uint64_t value TALOS_PERSIST;

static int held_fd = -1;
static void *mapped;
static void *big;
static pthread_t worker;
static int worker_on;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stop;

static int u_fd(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    if (held_fd >= 0)
        return TALOS_ERR_EXISTS;
    if ((held_fd = dup(2)) < 0) {
        talos_out_reason(out, "dup refused");
        return TALOS_ERR_IO;
    }
    return talos_out_printf(out, "%d", held_fd);
}

static int u_unfd(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    if (held_fd >= 0)
        close(held_fd);
    held_fd = -1;
    return TALOS_OK;
}

static int u_map(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    if (mapped)
        return TALOS_ERR_EXISTS;
    mapped = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) {
        mapped = NULL;
        talos_out_reason(out, "mmap refused");
        return TALOS_ERR_NOMEM;
    }
    memset(mapped, 0x5a, MAP_BYTES);
    return talos_out_printf(out, "%p", mapped);
}

static int u_unmap(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    if (mapped)
        munmap(mapped, MAP_BYTES);
    mapped = NULL;
    return TALOS_OK;
}

static int u_big(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    if (!big && !(big = malloc(BIG_BYTES)))
        return TALOS_ERR_NOMEM;
    memset(big, 0x33, BIG_BYTES);
    return TALOS_OK;
}

static int u_unbig(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    free(big);
    big = NULL;
    return TALOS_OK;
}

static void *work(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stop)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int u_thread(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv;
    if (worker_on)
        return TALOS_ERR_EXISTS;
    stop = 0;
    if (pthread_create(&worker, NULL, work, NULL) != 0) {
        talos_out_reason(out, "pthread_create refused");
        return TALOS_ERR_NOMEM;
    }
    worker_on = 1;
    return TALOS_OK;
}

static int u_unthread(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)argv, (void)out;
    if (!worker_on)
        return TALOS_OK;
    pthread_mutex_lock(&lock);
    stop = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(worker, NULL);
    worker_on = 0;
    return TALOS_OK;
}

static int u_put(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    (void)argc, (void)out;
    value = strtoull(argv[0].ptr, NULL, 10);
    return TALOS_OK;
}

static int u_digest(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    uint8_t h[TALOS_SHA256_BYTES];
    (void)argc, (void)argv;
    talos_sha256(&value, sizeof(value), h);
    return out_hex(out, h, sizeof(h));
}

static const struct talos_ecall unmovable_ecalls[] = {
    {"fd", u_fd, 0, 0, 0, ""},          {"unfd", u_unfd, 0, 0, 0, ""},
    {"map", u_map, 0, 0, 0, ""},        {"unmap", u_unmap, 0, 0, 0, ""},
    {"big", u_big, 0, 0, 0, ""},        {"unbig", u_unbig, 0, 0, 0, ""},
    {"thread", u_thread, 0, 0, 0, ""},  {"unthread", u_unthread, 0, 0, 0, ""},
    {"put", u_put, 1, 1, 20, "NUMBER"}, {"digest", u_digest, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("unmovable", unmovable_ecalls, NULL);
