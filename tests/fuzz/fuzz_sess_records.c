/* Client session codecs (core/sess.c) and the SESSION frames (core/msg.c):
 * what a client sends the TA inside its TLS session, what a TA sends the
 * client library, what the node reads (preamble, answer) and what crosses
 * between host and TA (SESSION, SESSION_RET).
 *
 * Input: u8 which decoder ‖ the bytes. Checked: a decoder that accepts
 * gives values its encoder turns back into exactly those bytes (one
 * encoding per value: nothing hidden in slack), and the CALL's arguments
 * lie inside its body; a header it accepts has a type the sender may send
 * and a length in bounds. */
#include <string.h>

#include "core/msg.h"
#include "core/sess.h"
#include "core/wire.h"
#include "talos/err.h"
#include "tests/fuzz/fuzz.h"

/* An encoder's record (header ‖ body) against the body decoded from p. */
static void same_record(const struct talos_wr *w, const uint8_t *p, size_t n)
{
    FUZZ_CHECK(w->err == TALOS_OK && w->len == TALOS_SESS_HDR + n);
    FUZZ_CHECK(memcmp(w->p + TALOS_SESS_HDR, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct talos_wr w;
    const uint8_t *p = data + 1;
    size_t n = size ? size - 1 : 0;

    if (size < 1 || n > TALOS_SESS_RESULT_MAX + 16)
        return 0;
    talos_wr_init(&w, 0);
    switch (data[0] % 10) {
    case 0: {
        uint8_t lin[TALOS_LINEAGE_BYTES], back[TALOS_SESS_PREAMBLE_BYTES];
        if (n >= TALOS_SESS_PREAMBLE_BYTES && talos_sess_preamble_decode(p, lin) == TALOS_OK) {
            talos_sess_preamble_encode(lin, back);
            FUZZ_CHECK(memcmp(back, p, sizeof(back)) == 0);
        }
        break;
    }
    case 1: {
        int32_t st = 0;
        char msg[TALOS_SESS_ANSWER_MAX];
        if (talos_sess_answer_decode(p, n, &st, msg, sizeof(msg)) == TALOS_OK)
            FUZZ_CHECK(st <= 0 && st >= TALOS_ERR_MIN && strlen(msg) < sizeof(msg));
        break;
    }
    case 2: {
        uint8_t type = 0;
        uint32_t len = 0;
        for (uint8_t from = TALOS_SESS_FROM_CLIENT; n >= TALOS_SESS_HDR && from <= TALOS_SESS_FROM_TA;
             from++)
            if (talos_sess_hdr_decode(p, from, &type, &len) == TALOS_OK)
                FUZZ_CHECK(type >= TALOS_SESS_HELLO && type <= TALOS_SESS_END &&
                           len <= TALOS_SESS_RESULT_MAX);
        break;
    }
    case 3: {
        struct talos_sess_hello h;
        if (talos_sess_hello_decode(p, n, &h) == TALOS_OK) {
            talos_sess_hello_encode(&h, &w);
            same_record(&w, p, n);
        }
        break;
    }
    case 4: {
        struct talos_sess_welcome x;
        if (talos_sess_welcome_decode(p, n, &x) == TALOS_OK) {
            talos_sess_welcome_encode(&x, &w);
            same_record(&w, p, n);
        }
        break;
    }
    case 5: {
        struct talos_sess_call c;
        if (talos_sess_call_decode(p, n, &c) == TALOS_OK)
            FUZZ_CHECK(c.seq >= 1 && c.args == p + 9 && c.args_len == n - 9 &&
                       !(c.flags & ~TALOS_SESS_CALL_RETRY));
        break;
    }
    case 6: {
        struct talos_sess_result r;
        if (talos_sess_result_decode(p, n, &r) == TALOS_OK) {
            FUZZ_CHECK(r.out_len <= TALOS_MAX_OUT_BYTES && (!r.out_len || (r.out >= p && r.out + r.out_len <= p + n)));
            talos_sess_result_encode(&r, &w);
            same_record(&w, p, n);
        }
        break;
    }
    case 7: {
        struct talos_sess_end e;
        if (talos_sess_end_decode(p, n, &e) == TALOS_OK) {
            FUZZ_CHECK(e.code < 0);
            talos_sess_end_encode(&e, &w);
            same_record(&w, p, n);
        }
        break;
    }
    case 8: {
        struct talos_msg_session m;
        if (talos_msg_session_decode(p, n, &m) == TALOS_OK) {
            talos_msg_session_encode(&m, &w);
            FUZZ_CHECK(w.err == TALOS_OK && w.len == n && memcmp(w.p, p, n) == 0);
        }
        break;
    }
    default: {
        struct talos_msg_session_ret m;
        if (talos_msg_session_ret_decode(p, n, &m) == TALOS_OK) {
            talos_msg_session_ret_encode(&m, &w);
            FUZZ_CHECK(w.err == TALOS_OK && w.len == n && memcmp(w.p, p, n) == 0);
        }
        break;
    }
    }
    talos_wr_free(&w);
    return 0;
}
