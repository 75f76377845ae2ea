/* talos sign --key KEY IMAGE: sign a TA image for nodes whose image policy
 * lists the key (talosd --image-policy, "signers"). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/crypto.h"
#include "core/sign.h"
#include "core/x509.h"
#include "talos/talos.h"

const char cmd_sign_usage[] =
    "usage: talos sign --key KEY [--out FILE] IMAGE\n"
    "       talos sign --key KEY --signer\n"
    "\n"
    "Sign the image file IMAGE with the Ed25519 private key in KEY (PEM, e.g.\n"
    "from `openssl genpkey -algorithm ed25519 -out KEY`): the signature, 128\n"
    "hex characters over \"talos-image-v1\\0\" and the file's SHA-256, goes to\n"
    "IMAGE.sig (or FILE). `talos run IMAGE` sends IMAGE.sig with the image, and\n"
    "a node keeps it with its copy and passes it on when the TA migrates.\n"
    "A node whose image policy lists the key's public half in \"signers\" runs\n"
    "images signed by it; --signer prints that public half (64 hex).\n"
    "\n"
    "options:\n"
    "  --key KEY      the signing key (PEM)\n"
    "  --out FILE     where the signature goes (default IMAGE.sig)\n"
    "  --signer       print the key's public half instead of signing\n"
    "  -h, --help     this text\n";

/* The whole of a small file (a PEM key), or NULL after a one-line complaint. */
static uint8_t *slurp(struct cli_ctx *ctx, const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    uint8_t *buf = f ? malloc(max + 1) : NULL;

    *len = 0;
    if (!f || !buf) {
        cli_fail(ctx->label, f ? TALOS_ERR_NOMEM : TALOS_ERR_NOT_FOUND, "%s: %s", path,
                 f ? "out of memory" : strerror(errno));
        free(buf);
        if (f)
            fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, max + 1, f);
    fclose(f);
    if (*len > max) {
        cli_fail(ctx->label, TALOS_ERR_TOO_LARGE, "%s: larger than %zu bytes", path, max);
        talos_wipe(buf, max + 1);
        free(buf);
        return NULL;
    }
    return buf;
}

/* SHA-256 of the file at path, streamed. */
static int file_sha(const char *path, uint8_t sha[TALOS_SHA256_BYTES])
{
    struct talos_sha256_ctx *c = NULL;
    uint8_t buf[1 << 16];
    size_t n = 0;
    FILE *f = fopen(path, "rbe");
    int rc = f ? talos_sha256_begin(&c) : TALOS_ERR_NOT_FOUND;

    while (rc == TALOS_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        talos_sha256_add(c, buf, n);
    if (rc == TALOS_OK && ferror(f))
        rc = TALOS_ERR_IO;
    if (c && rc == TALOS_OK)
        rc = talos_sha256_end(c, sha);
    else if (c)
        talos_sha256_free(c);
    if (f)
        fclose(f);
    return rc;
}

int cmd_sign(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *key_path = NULL, *out_path = NULL;
    int signer = 0, npos = 0;
    const struct cli_opt opts[] = {
        {"key", 0, &key_path, NULL}, {"out", 0, &out_path, NULL}, {"signer", 0, NULL, &signer}};
    uint8_t *pem = NULL, sha[TALOS_SHA256_BYTES], seed[TALOS_ED25519_SEED_BYTES],
            pub[TALOS_ED25519_PUB_BYTES], sig[TALOS_IMAGE_SIG_BYTES];
    uint8_t msg[TALOS_IMAGE_SIG_MSG_BYTES];
    char hex[2 * sizeof(sig) + 1], def_out[4096];
    size_t pem_len = 0, seed_len = sizeof(seed);
    EVP_PKEY *key = NULL;
    FILE *f = NULL;
    int rc = cli_args(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), 0, &npos);

    if (rc != CLI_PROCEED)
        goto out;
    if (!key_path || npos != (signer ? 0 : 1)) {
        rc = cli_usage(ctx->cmd->name, !key_path ? "--key KEY is required"
                                       : signer  ? "--signer takes no IMAGE"
                                                 : "expected exactly one IMAGE");
        goto out;
    }
    rc = CLI_FAIL;
    if (!(pem = slurp(ctx, key_path, TALOS_X509_PEM_MAX, &pem_len)))
        goto out;
    if (talos_x509_key_from_pem(pem, pem_len, &key) != TALOS_OK ||
        EVP_PKEY_get_raw_private_key(key, seed, &seed_len) != 1 || seed_len != sizeof(seed) ||
        talos_ed25519_public(seed, pub) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_MALFORMED, "%s: not an Ed25519 private key (PEM)", key_path);
        goto out;
    }
    if (signer) {
        talos_hex(pub, sizeof(pub), hex);
        rc = printf("%s\n", hex) < 0 ? CLI_FAIL : CLI_OK;
        goto out;
    }
    if (file_sha(argv[1], sha) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_NOT_FOUND, "%s: cannot read it", argv[1]);
        goto out;
    }
    talos_image_sig_msg(sha, msg);
    if (talos_ed25519_sign(seed, msg, sizeof(msg), sig) != TALOS_OK) {
        cli_fail(ctx->label, TALOS_ERR_CRYPTO, "signing failed");
        goto out;
    }
    if (!out_path) {
        if ((size_t)snprintf(def_out, sizeof(def_out), "%s.sig", argv[1]) >= sizeof(def_out)) {
            cli_fail(ctx->label, TALOS_ERR_TOO_LARGE, "%s: path too long", argv[1]);
            goto out;
        }
        out_path = def_out;
    }
    talos_hex(sig, sizeof(sig), hex);
    if (!(f = fopen(out_path, "we")) || fprintf(f, "%s\n", hex) < 0 || fclose(f) != 0) {
        f = NULL;
        cli_fail(ctx->label, TALOS_ERR_IO, "%s: %s", out_path, strerror(errno));
        goto out;
    }
    f = NULL;
    rc = CLI_OK;
out:
    if (f)
        fclose(f);
    talos_wipe(seed, sizeof(seed));
    EVP_PKEY_free(key);
    if (pem) {
        talos_wipe(pem, pem_len);
        free(pem);
    }
    return rc;
}
