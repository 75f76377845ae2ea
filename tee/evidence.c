/* Evidence, whatever the backend: the table of evidence formats (one row
 * per line of TALOS_TEE_BACKENDS), the envelope they share, and the public
 * entry points that dispatch on it. Evidence is hostile input for every
 * reader: the envelope is read once here, and the format's own strict
 * decoder reads the whole blob. */
#include <string.h>

#include "core/crypto.h"
#include "core/wire.h"
#include "tee/tee.h"

#define ATTEST_TAG "talos-attest-v1"
#define ATTEST_TAG_LEN (sizeof(ATTEST_TAG) - 1)

/* Each defined in tee/<name>/verify/. */
#define DECLARE(name) extern const struct talos_tee_verifier talos_tee_##name##_format;
TALOS_TEE_BACKENDS(DECLARE)
#undef DECLARE

static const struct talos_tee_verifier *const formats[] = {
#define ROW(name) &talos_tee_##name##_format,
    TALOS_TEE_BACKENDS(ROW)
#undef ROW
};

#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

const struct talos_tee_verifier *talos_tee_verifier_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strcmp(formats[i]->name, name) == 0)
            return formats[i];
    return NULL;
}

void talos_tee_verifiers_warm(const uint8_t *anchors_pem, size_t anchors_len)
{
    for (size_t i = 0; i < N_FORMATS; i++)
        if (formats[i]->warm)
            formats[i]->warm(anchors_pem, anchors_len);
}

/* The envelope common to every backend's evidence: magic, version, name. */
static int peek_backend(const uint8_t *ev, size_t len, char name[TALOS_BACKEND_NAME_MAX])
{
    struct talos_rd r = {0};
    uint32_t magic = 0;

    if (!ev || len > TALOS_EVIDENCE_MAX)
        return TALOS_ERR_MALFORMED;
    talos_rd_init(&r, ev, len);
    magic = talos_rd_u32(&r);
    (void)talos_rd_u16(&r); /* the version belongs to the backend's format */
    talos_rd_str(&r, name, TALOS_BACKEND_NAME_MAX);
    if (r.err || magic != TALOS_EV_MAGIC)
        return TALOS_ERR_MALFORMED;
    return TALOS_OK;
}

/* The row for the format ev claims to be in: TALOS_OK, TALOS_ERR_MALFORMED
 * (no envelope), TALOS_ERR_NOT_IMPLEMENTED (a format this build lacks). */
static int format_of(const uint8_t *ev, size_t len, const struct talos_tee_verifier **out)
{
    char name[TALOS_BACKEND_NAME_MAX] = {0};
    int rc = peek_backend(ev, len, name);

    if (rc != TALOS_OK)
        return rc;
    *out = talos_tee_verifier_find(name);
    return *out ? TALOS_OK : TALOS_ERR_NOT_IMPLEMENTED;
}

/* A row promises the claim flags all its evidence carries (a simulated
 * format: TALOS_CLAIM_SIMULATED): what its decoder or verifier answers
 * must keep that promise, so that no slip in one format can present
 * simulated evidence as isolated. */
static int keeps_promise(const struct talos_tee_verifier *v, int rc, const struct talos_claims *c)
{
    if (rc == TALOS_OK && (c->flags & v->claims) != v->claims)
        return TALOS_ERR_BACKEND;
    return rc;
}

/* Both entry points start alike: claims zeroed, the format's row found. */
static int start(const uint8_t *ev, size_t ev_len, struct talos_claims *out,
                 const struct talos_tee_verifier **v)
{
    if (!out)
        return TALOS_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    return format_of(ev, ev_len, v);
}

/* ... and end alike: the row's answer if it keeps its promise, and no
 * claims at all after a refusal. */
static int finish(const struct talos_tee_verifier *v, int rc, struct talos_claims *out)
{
    rc = keeps_promise(v, rc, out);
    if (rc != TALOS_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

TALOS_EXPORT int talos_verify_evidence(const uint8_t *ev, size_t ev_len, const uint8_t *anchors_pem,
                                       size_t anchors_len, unsigned flags, struct talos_claims *out)
{
    const struct talos_tee_verifier *v = NULL;
    int rc = start(ev, ev_len, out, &v);

    if (rc != TALOS_OK)
        return rc;
    return finish(v, v->verify(ev, ev_len, anchors_pem, anchors_len, flags, out), out);
}

TALOS_EXPORT int talos_evidence_claims(const uint8_t *ev, size_t ev_len, struct talos_claims *out)
{
    const struct talos_tee_verifier *v = NULL;
    int rc = start(ev, ev_len, out, &v);

    if (rc != TALOS_OK)
        return rc;
    if (!v->decode)
        return TALOS_ERR_NOT_IMPLEMENTED;
    return finish(v, v->decode(ev, ev_len, out), out);
}

TALOS_EXPORT void talos_attest_report_data(const uint8_t nonce[TALOS_NONCE_BYTES],
                                           const uint8_t lineage[TALOS_LINEAGE_BYTES],
                                           uint8_t out[TALOS_REPORT_DATA_BYTES])
{
    uint8_t buf[ATTEST_TAG_LEN + TALOS_NONCE_BYTES + TALOS_LINEAGE_BYTES] = {0};

    memcpy(buf, ATTEST_TAG, ATTEST_TAG_LEN);
    memcpy(buf + ATTEST_TAG_LEN, nonce, TALOS_NONCE_BYTES);
    memcpy(buf + ATTEST_TAG_LEN + TALOS_NONCE_BYTES, lineage, TALOS_LINEAGE_BYTES);
    memset(out, 0, TALOS_REPORT_DATA_BYTES);
    talos_sha256(buf, sizeof(buf), out);
}

TALOS_EXPORT int talos_attest_check_report_data(const struct talos_claims *claims,
                                                const uint8_t nonce[TALOS_NONCE_BYTES],
                                                const uint8_t lineage[TALOS_LINEAGE_BYTES])
{
    uint8_t want[TALOS_REPORT_DATA_BYTES];

    talos_attest_report_data(nonce, lineage, want);
    return talos_ct_eq(claims->report_data, want, sizeof(want)) ? TALOS_OK : TALOS_ERR_REPORT_DATA;
}
