/* talosd's backend options and its word on a backend that did not open.
 * talosd reads no option: it hands each to the host library as given
 * (talos_host_config.options), which hands a backend those addressed to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/talosd/node.h"

int backend_opt_add(struct backend_opts *b, const char *key, const char *value)
{
    const char *eq = NULL;

    if (b->n == TALOS_BACKEND_OPTIONS_MAX) {
        fprintf(stderr, "talosd: at most %d backend options\n", TALOS_BACKEND_OPTIONS_MAX);
        return 2;
    }
    if (!key) {
        if (!(eq = strchr(value, '=')) || eq == value) {
            fprintf(stderr, "talosd: --backend-option takes BACKEND.KEY=VALUE, not '%s'\n", value);
            return 2;
        }
        if (!(b->keys[b->n] = strndup(value, (size_t)(eq - value)))) {
            fprintf(stderr, "talosd: out of memory\n");
            return 1;
        }
        key = b->keys[b->n];
        value = eq + 1;
    }
    b->o[b->n].key = key;
    b->o[b->n].value = value;
    b->n++;
    return 0;
}

void backend_opts_free(struct backend_opts *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->keys[i]);
}

/* The backends are the registry's (talos_backend_name), not a list kept
 * here. */
void backend_open_failed(const char *backend, int err)
{
    char known[256] = "";
    size_t len = 0;
    int is_known = 0;

    for (size_t i = 0; talos_backend_name(i); i++) {
        is_known |= strcmp(talos_backend_name(i), backend) == 0;
        if (len < sizeof(known)) {
            int n = snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
                             talos_backend_name(i));
            len += n > 0 ? (size_t)n : 0;
        }
    }
    fprintf(stderr, "talosd: backend %s: %s", backend, talos_strerror(err));
    if (err == TALOS_ERR_NOT_IMPLEMENTED)
        fprintf(stderr, " (a porting template: use --backend %s)", talos_backend_default());
    else if (err == TALOS_ERR_INVALID_ARG && !is_known)
        fprintf(stderr, " (known backends: %s)", known);
    fputc('\n', stderr);
}
