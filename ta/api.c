/* The public TA API (include/talos/ta.h) over the runtime. */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/msg.h"
#include "ta/arena.h"
#include "ta/flow.h"
#include "ta/heap.h"
#include "ta/rt.h"
#include "tee/tee.h"

void *talos_alloc(size_t n) { return talos_heap_alloc(n); }
void talos_free(void *p) { talos_heap_free(p); }
void *talos_realloc(void *p, size_t n) { return talos_heap_realloc(p, n); }
size_t talos_usable_size(const void *p) { return talos_heap_size(p); }
void *talos_state_root(void) { return talos_arena_root(); }
void talos_set_state_root(void *root) { talos_arena_set_root(root); }
uint64_t talos_version(void) { return talos_rt.version; }
int talos_random(void *buf, size_t n) { return talos_random_bytes(buf, n); }

int talos_migration_point(void)
{
    /* Version 1 migrates at call boundaries only; an explicit point inside
     * an ecall is accepted and is where later versions may stop a thread.
     * The serve loop calls it at the boundary, armed, to record where its
     * thread stops (ta/flow.c); this frame's address starts the walk. */
    if (talos_flow_armed())
        talos_flow_capture(__builtin_frame_address(0));
    return TALOS_OK;
}

int talos_rt_host_roundtrip(uint16_t type, const struct talos_wr *req, uint16_t ret_type,
                            uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    uint16_t got = 0;
    const struct talos_bnd *b = talos_rt_bnd();
    int rc = talos_xport_send(b->x, type, req->p, req->len);

    *resp_len = 0;
    if (rc != TALOS_OK)
        return rc;
    /* The answer lands in the runtime's receive buffer, which the current
     * ecall no longer reads: its arguments were copied out by dispatch.
     * That buffer is the one copy of the frame (in switchless mode too:
     * the ring's bytes are copied out once); only it is decoded. */
    if ((rc = talos_xport_recv(b->x, &got, b->rx)) != TALOS_OK)
        return rc;
    if (got != ret_type)
        return TALOS_ERR_PROTOCOL;
    return talos_rt_decode_host_ret(b->rx->p, b->rx->len, resp, resp_cap, resp_len);
}

int talos_call_host(const char *name, const void *req, size_t req_len, void *resp,
                    size_t resp_cap, size_t *resp_len)
{
    struct talos_wr w;
    size_t dummy = 0;
    int rc = TALOS_OK;

    if (!resp_len)
        resp_len = &dummy;
    *resp_len = 0;
    if (!name || strlen(name) == 0 || strlen(name) >= TALOS_NAME_MAX || (req_len && !req) ||
        (resp_cap && !resp))
        return TALOS_ERR_INVALID_ARG;
    if (!talos_rt.in_ecall)
        return TALOS_ERR_STATE;
    talos_wr_init(&w, 0);
    talos_wr_str(&w, name);
    talos_wr_bytes(&w, req, req_len);
    rc = w.err ? w.err
               : talos_rt_host_roundtrip(TALOS_MSG_OCALL, &w, TALOS_MSG_OCALL_RET, resp, resp_cap,
                                         resp_len);
    talos_wr_free(&w);
    return rc;
}
