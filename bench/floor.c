/* The fixed floor of a migration's prepare phase on this machine, measured
 * without TALOS: a TLS 1.3 mutual handshake as two TAs make it (OpenSSL,
 * fresh Ed25519 keys and self-signed certificates on both sides, TLS 1.3
 * only, the peer's certificate required), between two threads of this
 * process over a TCP loopback connection; the rate of the state root's leaf
 * hash (BLAKE3 over 4 KiB pages, in runs, D42) on one core; and AES-256-GCM's.
 *
 *   floor [--runs N] [--tsv]
 *
 * Prints the median handshake time in ms (keys, certificates and contexts
 * made before the clock starts, as TALOS makes them ahead of time), the
 * hash rate and, for comparison, AES-256-GCM's rate over TLS-record-sized
 * pieces, in MB/s (median of 5). bench/run.sh puts both next to the 1 MiB migration. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/lib/stats.h"
#include "core/merkle.h"
#include "talos/common.h"

#define MAX_RUNS 1000

static void die(const char *what)
{
    fprintf(stderr, "floor: %s failed\n", what);
    exit(1);
}

static int accept_any(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1;
}

/* A side's context with a fresh key and its self-signed certificate. */
static SSL_CTX *side(int is_client)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *x = X509_new();
    SSL_CTX *c = SSL_CTX_new(is_client ? TLS_client_method() : TLS_server_method());
    X509_NAME *n = NULL;

    if (!key || !x || !c || !X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, key) ||
        !(n = X509_get_subject_name(x)) ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"floor", -1,
                                    -1, 0) ||
        !X509_set_issuer_name(x, n) || !X509_sign(x, key, NULL) ||
        !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) || !SSL_CTX_use_certificate(c, x) ||
        !SSL_CTX_use_PrivateKey(c, key))
        die("key, certificate or context");
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    X509_free(x);
    EVP_PKEY_free(key);
    return c;
}

struct srv {
    SSL_CTX *ctx;
    int fd, ok;
};

static void *server(void *arg)
{
    struct srv *s = arg;
    SSL *ssl = SSL_new(s->ctx);
    s->ok = ssl && SSL_set_fd(ssl, s->fd) && SSL_accept(ssl) == 1;
    SSL_free(ssl);
    return NULL;
}

static uint64_t one_handshake(void)
{
    SSL_CTX *cc = side(1);
    struct srv s = {.ctx = side(0)};
    int fa = -1;
    pthread_t th;

    if (bench_loopback_pair(&fa, &s.fd) != 0)
        die("loopback connection");
    SSL *ssl = SSL_new(cc);
    if (!ssl || !SSL_set_fd(ssl, fa))
        die("SSL_new");
    uint64_t t0 = bench_now_ns();
    if (pthread_create(&th, NULL, server, &s))
        die("pthread_create");
    int ok = SSL_connect(ssl) == 1;
    pthread_join(th, NULL);
    uint64_t t = bench_now_ns() - t0;
    if (!ok || !s.ok)
        die("handshake");
    SSL_free(ssl);
    SSL_CTX_free(cc);
    SSL_CTX_free(s.ctx);
    close(fa);
    close(s.fd);
    return t;
}

/* The state tree's leaves of 16 MiB of 4 KiB pages (BLAKE3, D42), as the
 * TAs compute them: runs of 64 consecutive pages (a CHUNK record) per call. */
static double leaf_mbs(void)
{
    enum { PAGES = 4096, RUN = 64 };
    uint8_t *buf = malloc((size_t)PAGES * 4096), *out = malloc((size_t)PAGES * 32);

    if (!buf || !out)
        die("malloc");
    memset(buf, 0xa5, (size_t)PAGES * 4096);
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < PAGES; i += RUN)
        talos_merkle_leaves((uint64_t)i, buf + (size_t)i * 4096, RUN, out + (size_t)i * 32);
    uint64_t t = bench_now_ns() - t0;
    free(buf);
    free(out);
    return (double)PAGES * 4096 / ((double)t / 1e9) / 1e6;
}

/* AES-256-GCM encryption of 16 MiB in 16 KiB pieces (a TLS record's
 * payload), one key, a fresh IV per piece; the MB/s. */
static double aesgcm_mbs(void)
{
    enum { TOTAL = 16 << 20, REC = 16384 };
    uint8_t *buf = malloc(TOTAL), key[32] = {1}, iv[12] = {0}, tag[16];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0;

    if (!buf || !c)
        die("malloc");
    memset(buf, 0x5a, TOTAL);
    uint64_t t0 = bench_now_ns();
    for (size_t off = 0; off < TOTAL; off += REC) {
        memcpy(iv, &off, sizeof(off));
        if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
            EVP_EncryptUpdate(c, buf + off, &outl, buf + off, REC) != 1 ||
            EVP_EncryptFinal_ex(c, tag, &outl) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
            die("AES-256-GCM");
    }
    uint64_t t = bench_now_ns() - t0;
    EVP_CIPHER_CTX_free(c);
    free(buf);
    return (double)TOTAL / ((double)t / 1e9) / 1e6;
}

int main(int argc, char **argv)
{
    static uint64_t v[MAX_RUNS];
    int runs = 51, tsv = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tsv") == 0)
            tsv = 1;
        else {
            fprintf(stderr, "usage: floor [--runs N] [--tsv]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "floor: --runs must be 1..%d\n", MAX_RUNS);
        return 2;
    }
    (void)one_handshake(); /* OpenSSL's first-use costs: not counted */
    for (int i = 0; i < runs; i++)
        v[i] = one_handshake();
    qsort(v, (size_t)runs, sizeof(*v), bench_cmp_u64);
    double hs = (double)v[runs / 2] / 1e6, mbs = 0;
    double r[5], a[5], aes = 0;
    for (int i = 0; i < 5; i++)
        r[i] = leaf_mbs(), a[i] = aesgcm_mbs();
    qsort(r, 5, sizeof(*r), bench_cmp_double);
    qsort(a, 5, sizeof(*a), bench_cmp_double);
    mbs = r[2], aes = a[2];
    if (tsv)
        printf("# handshake_ms\thandshake_min_ms\tleaf_MBps\taes256gcm_MBps\n%.3f\t%.3f\t%.0f\t%.0f\n",
               hs, (double)v[0] / 1e6, mbs, aes);
    else
        printf("TLS 1.3 mutual handshake (Ed25519, loopback, %d runs): median %.3f ms, min %.3f ms\n"
               "state leaves (BLAKE3) over 4 KiB pages, one core: %.0f MB/s\n"
               "AES-256-GCM over 16 KiB records, one core: %.0f MB/s\n",
               runs, hs, (double)v[0] / 1e6, mbs, aes);
    return 0;
}
