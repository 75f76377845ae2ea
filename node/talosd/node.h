/* talosd's process-wide state and the pieces main.c wires together. */
#ifndef TALOS_TALOSD_NODE_H
#define TALOS_TALOSD_NODE_H

#include <jansson.h>
#include <limits.h>

#include "talos/talos.h"

#define TALOS_VERSION_STRING "0.1.0"
#define CONTROL_FRAME_MAX (8u << 20)

struct node {
    char state_dir[PATH_MAX];
    char listen[128];
    const char *backend;
    struct talos_host *host;
};

extern struct node node;

/* Serve one control connection until the client closes it (takes fd). */
void control_serve(int fd);

/* Copy an image into STATE_DIR/images/<sha256>.ta (content-addressed, so a
 * later change to the user's file changes nothing here); *out gets the path. */
int images_store(const char *src, char *out, size_t cap);

/* The ocalls every TA on this node may make. */
extern const struct talos_ocall node_ocalls[];
extern const size_t node_n_ocalls;

/* Peer listener (migration arrives here in a later version). */
int peer_listen(const char *hostport, int *fd);
void peer_accept_one(int lfd);

#endif
