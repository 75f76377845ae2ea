/* The peer listener: where other nodes reach this one. Migration (a later
 * protocol version) is served here; until then a peer connection is
 * accepted, logged and closed, and the port is held so that operators see
 * address conflicts at start rather than at the first migration. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "node/talosd/node.h"

int peer_listen(const char *hostport, int *out)
{
    char host[128];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int fd = -1, one = 1;

    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host) || !colon[1])
        return TALOS_ERR_INVALID_ARG;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return TALOS_ERR_INVALID_ARG;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return e == EADDRINUSE ? TALOS_ERR_EXISTS : TALOS_ERR_IO;
    }
    freeaddrinfo(ai);
    *out = fd;
    return TALOS_OK;
}

void peer_accept_one(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    TLOG_INFO("peer connection closed: this node speaks no peer protocol yet");
    close(fd);
}
