#include "core/tlsio.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "talos/err.h"

int talos_tls_interrupted(SSL *ssl, int r)
{
    int e = SSL_get_error(ssl, r);
    if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && errno == EINTR) {
        ERR_clear_error();
        return 1;
    }
    return 0;
}

int talos_tls_error(SSL *ssl, int r)
{
    int e = SSL_get_error(ssl, r);
    unsigned long lib = ERR_peek_error();
    ERR_clear_error();
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ||
        (e == SSL_ERROR_SSL && ERR_GET_REASON(lib) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
        return TALOS_ERR_PEER_CLOSED;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return TALOS_ERR_TIMEOUT;
    return TALOS_ERR_MAC;
}
