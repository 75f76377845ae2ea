/* Ecall dispatch: decode a CALL, check it against the TA's table, run the
 * handler, commit, reply. Everything here handles hostile host input: the
 * frame body is already a private copy (os/xport.c), and every length is
 * checked before use. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/msg.h"
#include "ta/cert.h"
#include "ta/rt.h"

int talos_out_write(struct talos_out *out, const void *p, size_t n)
{
    if (!out || (n && !p))
        return TALOS_ERR_INVALID_ARG;
    if (n > TALOS_MAX_OUT_BYTES - out->buf.len)
        return TALOS_ERR_TOO_LARGE;
    talos_wr_raw(&out->buf, p, n);
    return out->buf.err;
}

int talos_out_printf(struct talos_out *out, const char *fmt, ...)
{
    char small[512];
    char *big = NULL;
    va_list ap;
    int n = 0, rc = TALOS_OK;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return TALOS_ERR_INVALID_ARG;
    if ((size_t)n < sizeof(small))
        return talos_out_write(out, small, (size_t)n);
    if ((size_t)n > TALOS_MAX_OUT_BYTES)
        return TALOS_ERR_TOO_LARGE;
    big = malloc((size_t)n + 1);
    if (!big)
        return TALOS_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rc = talos_out_write(out, big, (size_t)n);
    free(big);
    return rc;
}

void talos_out_reason(struct talos_out *out, const char *fmt, ...)
{
    va_list ap;

    if (!out)
        return;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
    /* One line: the reason is shown in a terminal and a log. */
    for (char *c = out->reason; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

int talos_rt_check_table(const struct talos_ta_desc *d)
{
    if (!d || !d->name || !d->ecalls)
        return TALOS_ERR_INVALID_ARG;
    for (size_t i = 0; i < d->n_ecalls; i++) {
        const struct talos_ecall *e = &d->ecalls[i];
        size_t len = e->name ? strlen(e->name) : 0;
        if (len == 0 || len >= TALOS_NAME_MAX || !e->fn || e->min_args > e->max_args ||
            e->max_args > TALOS_MAX_ARGS || e->max_arg_len > TALOS_MAX_ARG_BYTES)
            return TALOS_ERR_INVALID_ARG;
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->ecalls[j].name, e->name) == 0)
                return TALOS_ERR_EXISTS;
    }
    return TALOS_OK;
}

static const struct talos_ecall *find_ecall(const char *name)
{
    const struct talos_ta_desc *d = talos_rt.desc;
    for (size_t i = 0; i < d->n_ecalls; i++)
        if (strcmp(d->ecalls[i].name, name) == 0)
            return &d->ecalls[i];
    return NULL;
}

static __thread const struct talos_bnd *cur_bnd;

const struct talos_bnd *talos_rt_bnd(void)
{
    static const struct talos_bnd main_bnd = {&talos_rt.x, &talos_rt.rx, &talos_rt.tx};
    return cur_bnd ? cur_bnd : &main_bnd;
}

void talos_rt_set_bnd(const struct talos_bnd *b) { cur_bnd = b; }

int talos_rt_reply(int status, const void *out, size_t out_len, const char *reason)
{
    const struct talos_bnd *b = talos_rt_bnd();
    struct talos_wr *w = b->tx;

    talos_wr_reset(w);
    talos_wr_u32(w, (uint32_t)status);
    talos_wr_u64(w, talos_rt.version);
    talos_wr_bytes(w, out, out ? out_len : 0);
    talos_wr_str(w, status == TALOS_OK || !reason ? "" : reason);
    return w->err ? w->err : talos_xport_send(b->x, TALOS_MSG_REPLY, w->p, w->len);
}

/* A failed ecall's output is dropped: only its reason leaves the TA. */
static int send_reply(int status, const struct talos_out *out)
{
    int ok = status == TALOS_OK;
    return talos_rt_reply(status, ok ? out->buf.p : NULL, ok ? out->buf.len : 0, out->reason);
}

int talos_rt_decode_call(struct talos_rd *r, char *name, struct talos_rt_call *a,
                         struct talos_out *out)
{
    const uint8_t *ptr[TALOS_MAX_ARGS] = {0};
    size_t len[TALOS_MAX_ARGS] = {0}, total = 0;
    uint32_t argc = 0;

    talos_rd_str(r, name, TALOS_NAME_MAX);
    argc = talos_rd_u32(r);
    if (r->err)
        return TALOS_ERR_MALFORMED;
    if (argc > TALOS_MAX_ARGS) {
        talos_out_reason(out, "%u arguments; at most %d", argc, TALOS_MAX_ARGS);
        return TALOS_ERR_BAD_ARGS;
    }
    for (uint32_t i = 0; i < argc; i++) {
        ptr[i] = talos_rd_bytes(r, &len[i], TALOS_MAX_ARG_BYTES);
        total += len[i] + 1;
    }
    if (talos_rd_finish(r) != TALOS_OK) {
        talos_out_reason(out, "malformed call (an argument over %u bytes?)", TALOS_MAX_ARG_BYTES);
        return TALOS_ERR_MALFORMED;
    }
    a->block_len = total ? total : 1;
    a->block = malloc(a->block_len);
    if (!a->block)
        return TALOS_ERR_NOMEM;
    char *at = a->block;
    for (uint32_t i = 0; i < argc; i++) {
        memcpy(at, ptr[i], len[i]);
        at[len[i]] = '\0';
        a->argv[i].ptr = at;
        a->argv[i].len = len[i];
        at += len[i] + 1;
    }
    a->argc = (int)argc;
    return TALOS_OK;
}

static int check_shape(const struct talos_ecall *e, const struct talos_rt_call *a,
                       struct talos_out *out)
{
    if (a->argc < e->min_args || a->argc > e->max_args) {
        if (e->min_args == e->max_args)
            talos_out_reason(out, "%s takes %u argument%s (%s), got %d", e->name, e->min_args,
                             e->min_args == 1 ? "" : "s", e->usage ? e->usage : "", a->argc);
        else
            talos_out_reason(out, "%s takes %u to %u arguments (%s), got %d", e->name, e->min_args,
                             e->max_args, e->usage ? e->usage : "", a->argc);
        return TALOS_ERR_BAD_ARGS;
    }
    for (int i = 0; i < a->argc; i++)
        if (a->argv[i].len > e->max_arg_len) {
            talos_out_reason(out, "argument %d of %s is %zu bytes; at most %u", i + 1, e->name,
                             a->argv[i].len, e->max_arg_len);
            return TALOS_ERR_BAD_ARGS;
        }
    return TALOS_OK;
}

void talos_rt_out_init(struct talos_out *out)
{
    memset(out, 0, sizeof(*out));
    talos_wr_init(&out->buf, TALOS_MAX_OUT_BYTES);
}

void talos_rt_out_free(struct talos_out *out)
{
    talos_wr_free(&out->buf);
    memset(out->reason, 0, sizeof(out->reason));
}

/* The state check, the decoding, the table's shape check, the ecall and
 * its commit: one path for the host's CALL and a session's CALL
 * (ta/session.c), so that both run, commit and refuse alike. */
int talos_rt_run_call(const uint8_t *body, size_t len, struct talos_out *out)
{
    struct talos_rt_call args = {0};
    struct talos_rd r;
    char name[TALOS_NAME_MAX] = {0};
    const struct talos_ecall *e = NULL;
    int status = TALOS_OK;

    talos_rd_init(&r, body, len);
    /* I1 inside the TA: only an ACTIVE instance serves, whatever the host asks. */
    if (talos_rt.state != RT_ACTIVE) {
        status = talos_rt_not_serving(out->reason, sizeof(out->reason));
        goto out;
    }
    if ((status = talos_rt_decode_call(&r, name, &args, out)) != TALOS_OK)
        goto out;
    if (!(e = find_ecall(name))) {
        talos_out_reason(out, "%s exports no ecall '%s'", talos_rt.desc->name, name);
        status = TALOS_ERR_NO_SUCH_ECALL;
        goto out;
    }
    if ((status = check_shape(e, &args, out)) != TALOS_OK)
        goto out;

    talos_rt_ta_code_begins();
    talos_rt.in_ecall = 1;
    status = e->fn(args.argc, args.argv, out);
    talos_rt.in_ecall = 0;
    if (status > 0 || status < TALOS_ERR_MIN) {
        talos_out_reason(out, "ecall %s returned an invalid status %d", name, status);
        status = TALOS_ERR_TA_REFUSED;
    }
    if (status == TALOS_OK) {
        /* The transaction is the ecall: commit by advancing the version. */
        talos_rt.version++;
        talos_rt_exec_note(talos_rt.version, (uint32_t)(e - talos_rt.desc->ecalls));
        if (out->buf.err) {
            talos_out_reason(out, "output of %s exceeded %u bytes; its effects were committed",
                             name, TALOS_MAX_OUT_BYTES);
            status = out->buf.err;
        }
    }
out:
    if (args.block) {
        talos_wipe(args.block, args.block_len);
        free(args.block);
    }
    return status;
}

int talos_rt_not_serving(char *why, size_t cap)
{
    int moved = talos_rt.state == RT_HANDED_OFF || talos_rt.state == RT_RETIRED;

    if (talos_rt.state == RT_RETIRED && talos_rt_moved_to()[0])
        snprintf(why, cap, "TA is RETIRED: it moved to %s", talos_rt_moved_to());
    else
        snprintf(why, cap, "TA is %s", talos_rt_state_name(talos_rt.state));
    for (char *c = why; *c; c++) /* one line: where it went is host-told */
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return moved ? TALOS_ERR_MOVED : TALOS_ERR_STATE;
}

int talos_rt_handle_call(const uint8_t *body, size_t len)
{
    struct talos_out out;
    int status = TALOS_OK, rc = TALOS_OK;

    talos_rt_out_init(&out);
    status = talos_rt_run_call(body, len, &out);
    rc = send_reply(status, &out);
    talos_rt_out_free(&out);
    return rc;
}
