/* The physical limit of moving state between two nodes on this machine:
 * what a migration of N bytes cannot beat. One thread encrypts N bytes with
 * AES-256-GCM (OpenSSL EVP, 256 KiB chunks, a fresh IV per chunk) and sends
 * them over a TCP loopback connection; the other receives each chunk,
 * decrypts it in place (checking the tag) and copies it into destination
 * memory, as a TLS reader does (record buffer -> caller's buffer). Two
 * destinations: memory touched beforehand, and fresh memory (mmap'ed, never
 * touched, so every page faults during the copy).
 *
 * A third transfer, into fresh memory, also computes the state root a
 * migration needs on both sides: the sender hashes each 4 KiB page
 * right before it encrypts it, the receiver each page it copied in, with
 * TALOS's own leaves and tree (core/merkle.c: BLAKE3, the pages of a chunk
 * in one SIMD batch since D42), and each side then folds its leaves into a
 * Merkle root, which must agree. One thread a side, as above: the floor of a transfer that checks
 * a state root, not of TALOS's scheduling of it.
 *
 *   limit [--runs N] [--tsv] [SIZE...]     SIZE: bytes, or with K/M/G suffix
 *
 * Default sizes: 64K 1M 16M 64M 256M; 5 runs each; prints the median in ms
 * from the first byte encrypted to the last byte copied (and, with the
 * root, hashed and folded), and the CPU time the two threads used. The
 * connection is set up before the clock starts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/lib/stats.h"
#include "core/merkle.h"
#include "core/wire.h"
#include "os/xport.h"
#include "talos/common.h"
#include "talos/err.h"

#define CHUNK (256u * 1024u)
#define HDR (4 + 12 + 16) /* length ‖ IV ‖ tag */
#define MAX_SIZES 16
#define PAGE 4096u

static void die(const char *what)
{
    fprintf(stderr, "limit: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

struct job {
    const uint8_t *src;
    uint8_t *dst;
    size_t size;
    int fd;
    uint8_t key[32];
    uint8_t salt[4];
    pthread_barrier_t *start;
    uint64_t t_start, t_end;
    uint64_t cpu_ns; /* this thread's CPU time for its part of the transfer */
    int hash;        /* also compute the state root (leaves, then the tree) */
    uint8_t root[TALOS_SHA256_BYTES];
    int ok;
};

/* What a side needs to compute the root, when it does: one leaf per page. */
struct rooter {
    uint8_t *leaves;
    size_t n; /* leaves */
};

static int rooter_init(struct rooter *r, const struct job *j)
{
    memset(r, 0, sizeof(*r));
    if (!j->hash)
        return 1;
    r->n = (j->size + PAGE - 1) / PAGE;
    r->leaves = malloc(r->n * TALOS_SHA256_BYTES);
    return r->leaves != NULL;
}

static void rooter_free(struct rooter *r)
{
    free(r->leaves);
}

/* The leaves of the state's bytes [off, off + n), which are at p (off a
 * multiple of PAGE): whole pages in one batch, as a TA hashes a chunk; the
 * state's last page may be short, and is hashed zero-padded, as a TA's
 * persist section. */
static int rooter_pages(struct rooter *r, size_t off, const uint8_t *p, size_t n)
{
    size_t whole = n / PAGE;

    talos_merkle_leaves(off / PAGE, p, whole, r->leaves + off / PAGE * TALOS_HASH);
    if (whole * PAGE < n) {
        uint8_t last[PAGE] = {0};
        memcpy(last, p + whole * PAGE, n - whole * PAGE);
        talos_merkle_leaf(off / PAGE + whole, last, r->leaves + (off / PAGE + whole) * TALOS_HASH);
    }
    return 1;
}

/* Fold the leaves into the root, in place: TALOS's own tree. */
static int rooter_fold(struct rooter *r, uint8_t root[TALOS_SHA256_BYTES])
{
    talos_merkle_root(r->leaves, r->n, root);
    return 1;
}

/* IV = salt ‖ 64-bit chunk counter: never repeats under one key. */
static void make_iv(const uint8_t salt[4], uint64_t ctr, uint8_t iv[12])
{
    memcpy(iv, salt, 4);
    for (int i = 0; i < 8; i++)
        iv[4 + i] = (uint8_t)(ctr >> (56 - 8 * i));
}

/* What each side of a transfer holds: its cipher, its record buffer and,
 * when it hashes, its leaves. */
struct side {
    EVP_CIPHER_CTX *ctx;
    uint8_t *buf;
    struct rooter rt;
};

/* Ready the side to encrypt (enc) or decrypt under j->key, wait for the
 * other side, then start the clocks: the wall clock into *t_start (if not
 * NULL) and the thread's CPU clock. 1 when the side is ready. */
static int side_open(struct side *sd, struct job *j, int enc, uint64_t *t_start)
{
    int ok = 0;

    sd->ctx = EVP_CIPHER_CTX_new();
    sd->buf = malloc(HDR + CHUNK);
    ok = rooter_init(&sd->rt, j) && sd->ctx && sd->buf;
    if (ok)
        ok = EVP_CipherInit_ex(sd->ctx, EVP_aes_256_gcm(), NULL, j->key, NULL, enc) == 1;
    if (sd->buf)
        memset(sd->buf, 0, HDR + CHUNK); /* the buffer is warm, like a TLS record buffer */
    pthread_barrier_wait(j->start);
    if (t_start)
        *t_start = bench_now_ns();
    j->cpu_ns = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    return ok;
}

/* The root if the transfer went well and the side hashes, then the end
 * time into *t_end (if not NULL), the thread's CPU time and the verdict into
 * j; frees the side. */
static void side_close(struct side *sd, struct job *j, int ok, uint64_t *t_end)
{
    if (ok && j->hash)
        ok = rooter_fold(&sd->rt, j->root);
    if (t_end)
        *t_end = bench_now_ns();
    j->cpu_ns = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID) - j->cpu_ns;
    rooter_free(&sd->rt);
    EVP_CIPHER_CTX_free(sd->ctx);
    free(sd->buf);
    j->ok = ok;
}

static void *sender(void *arg)
{
    struct job *j = arg;
    struct side sd;
    /* The clock starts here, in the thread that does the first work: on two
     * vCPUs a third (timing) thread may not run until the transfer is over. */
    int outl = 0, ok = side_open(&sd, j, 1, &j->t_start);
    uint8_t *buf = sd.buf;

    for (size_t off = 0, ctr = 0; ok && off < j->size; off += CHUNK, ctr++) {
        size_t n = j->size - off < CHUNK ? j->size - off : CHUNK;
        uint8_t iv[12];
        make_iv(j->salt, ctr, iv);
        talos_be32_put(buf, (uint32_t)n);
        memcpy(buf + 4, iv, 12);
        ok = (!j->hash || rooter_pages(&sd.rt, off, j->src + off, n)) &&
             EVP_EncryptInit_ex(sd.ctx, NULL, NULL, NULL, iv) == 1 &&
             EVP_EncryptUpdate(sd.ctx, buf + HDR, &outl, j->src + off, (int)n) == 1 &&
             (size_t)outl == n && EVP_EncryptFinal_ex(sd.ctx, buf + HDR + n, &outl) == 1 &&
             EVP_CIPHER_CTX_ctrl(sd.ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + 16) == 1 &&
             talos_fd_write_full(j->fd, buf, HDR + n) == TALOS_OK;
    }
    side_close(&sd, j, ok, NULL);
    return NULL;
}

static void *receiver(void *arg)
{
    struct job *j = arg;
    struct side sd;
    int outl = 0, ok = side_open(&sd, j, 0, NULL);
    uint8_t *buf = sd.buf;

    for (size_t off = 0, ctr = 0; ok && off < j->size; off += CHUNK, ctr++) {
        size_t n = j->size - off < CHUNK ? j->size - off : CHUNK;
        uint8_t iv[12];
        make_iv(j->salt, ctr, iv);
        /* The IV must be the one expected next: a replayed or reordered
         * chunk fails here, as it would in TLS. */
        ok = talos_fd_read_full(j->fd, buf, HDR) == TALOS_OK && talos_be32_get(buf) == n &&
             memcmp(buf + 4, iv, 12) == 0 && talos_fd_read_full(j->fd, buf + HDR, n) == TALOS_OK &&
             EVP_DecryptInit_ex(sd.ctx, NULL, NULL, NULL, iv) == 1 &&
             EVP_DecryptUpdate(sd.ctx, buf + HDR, &outl, buf + HDR, (int)n) == 1 &&
             (size_t)outl == n &&
             EVP_CIPHER_CTX_ctrl(sd.ctx, EVP_CTRL_GCM_SET_TAG, 16, buf + 16) == 1 &&
             EVP_DecryptFinal_ex(sd.ctx, buf + HDR + n, &outl) == 1;
        if (ok)
            memcpy(j->dst + off, buf + HDR, n);
        if (ok && j->hash)
            ok = rooter_pages(&sd.rt, off, j->dst + off, n);
    }
    side_close(&sd, j, ok, &j->t_end);
    return NULL;
}

/* One transfer of `size` bytes into dst, with the state root on both sides
 * if hash; returns ns, and the two threads' CPU time in *cpu if not NULL. */
static uint64_t one_run(const uint8_t *src, uint8_t *dst, size_t size, int hash, uint64_t *cpu)
{
    pthread_barrier_t start;
    struct job s = {.src = src, .size = size, .hash = hash}, r;
    pthread_t ts, tr;
    int fa = -1, fb = -1;

    if (bench_loopback_pair(&fa, &fb) != 0)
        die("loopback connection");
    if (RAND_bytes(s.key, sizeof(s.key)) != 1 || RAND_bytes(s.salt, sizeof(s.salt)) != 1)
        die("RAND_bytes");
    r = s;
    s.fd = fa;
    r.fd = fb;
    r.dst = dst;
    pthread_barrier_init(&start, NULL, 2);
    s.start = r.start = &start;
    if (pthread_create(&ts, NULL, sender, &s) || pthread_create(&tr, NULL, receiver, &r))
        die("pthread_create");
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);
    pthread_barrier_destroy(&start);
    close(fa);
    close(fb);
    if (!s.ok || !r.ok) {
        errno = 0;
        die("transfer (encrypt/send/receive/decrypt)");
    }
    if (hash && memcmp(s.root, r.root, TALOS_SHA256_BYTES) != 0) {
        errno = 0;
        die("the two state roots differ");
    }
    if (cpu)
        *cpu = s.cpu_ns + r.cpu_ns;
    return r.t_end - s.t_start;
}

int main(int argc, char **argv)
{
    size_t sizes[MAX_SIZES], n_sizes = 0;
    int runs = 5, tsv = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tsv") == 0)
            tsv = 1;
        else if (n_sizes < MAX_SIZES)
            sizes[n_sizes++] = bench_parse_size("limit", argv[i]);
    }
    if (runs < 1 || runs > 100) {
        fprintf(stderr, "usage: limit [--runs N] [--tsv] [SIZE...]\n");
        return 2;
    }
    if (!n_sizes)
        n_sizes = bench_default_sizes(sizes, MAX_SIZES);
    if (tsv)
        printf("# size_bytes\ttouched_ms\tfresh_ms\truns\tfresh_cpu_ms\troot_ms\troot_cpu_ms\n");
    else
        printf("| size | into touched memory | into fresh memory | its CPU | fresh, with the state "
               "root | its CPU |\n|---:|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < n_sizes; k++) {
        size_t size = sizes[k];
        uint64_t touched[100], fresh[100], fcpu[100], root[100], rcpu[100];
        uint8_t *src = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint8_t *dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (src == MAP_FAILED || dst == MAP_FAILED)
            die("mmap");
        /* Source: resident, not compressible. Destination: touched. */
        for (size_t off = 0; off < size; off += 1u << 20)
            if (RAND_bytes(src + off, (int)(size - off < (1u << 20) ? size - off : 1u << 20)) != 1)
                die("RAND_bytes");
        memset(dst, 0, size);
        /* warm up: code, OpenSSL's tables, socket buffers */
        (void)one_run(src, dst, size, 1, NULL);
        for (int r = 0; r < runs; r++) {
            memset(dst, 0, size); /* keep it touched (and dirty), not equal to src */
            touched[r] = one_run(src, dst, size, 0, NULL);
            for (int hash = 0; hash <= 1; hash++) {
                uint8_t *f =
                    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (f == MAP_FAILED)
                    die("mmap");
                if (hash)
                    root[r] = one_run(src, f, size, 1, &rcpu[r]);
                else
                    fresh[r] = one_run(src, f, size, 0, &fcpu[r]);
                if (r == 0 && (memcmp(f, src, size) != 0 || memcmp(dst, src, size) != 0)) {
                    errno = 0;
                    die("destination differs from source");
                }
                munmap(f, size);
            }
        }
        double mt = (double)bench_median_u64(touched, (size_t)runs) / 1e6;
        double mf = (double)bench_median_u64(fresh, (size_t)runs) / 1e6;
        double mfc = (double)bench_median_u64(fcpu, (size_t)runs) / 1e6;
        double mr = (double)bench_median_u64(root, (size_t)runs) / 1e6;
        double mrc = (double)bench_median_u64(rcpu, (size_t)runs) / 1e6;
        if (tsv)
            printf("%zu\t%.3f\t%.3f\t%d\t%.3f\t%.3f\t%.3f\n", size, mt, mf, runs, mfc, mr, mrc);
        else
            printf("| %zu KiB | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %.3f ms |\n", size >> 10,
                   mt, mf, mfc, mr, mrc);
        fflush(stdout);
        munmap(src, size);
        munmap(dst, size);
    }
    return 0;
}
