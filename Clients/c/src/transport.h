/* A byte stream to the server: a non-blocking TCP socket, with TLS on top when asked. Every operation takes
 * an absolute deadline (milliseconds on the monotonic clock) and fails with PL_DEADLINE_EXCEEDED after it. */
#ifndef PL_TRANSPORT_H
#define PL_TRANSPORT_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "portallinks.h"

typedef struct {
    int fd;          /* -1 when closed */
    SSL_CTX *tls_context;
    SSL *tls;
} pl_transport;

int64_t pl_now_ms(void);

/* Opens a connection to options->host:port and completes the TLS handshake when options->tls is set. */
pl_status pl_transport_open(pl_transport *transport, const pl_options *options, int64_t deadline, pl_error *error);

/* Writes all `length` bytes. */
pl_status pl_transport_write(pl_transport *transport, const uint8_t *bytes, size_t length, int64_t deadline,
                             pl_error *error);

/* Reads at least one byte and at most `capacity`; *received is how many. The peer closing is PL_UNAVAILABLE. */
pl_status pl_transport_read(pl_transport *transport, uint8_t *buffer, size_t capacity, size_t *received,
                            int64_t deadline, pl_error *error);

void pl_transport_close(pl_transport *transport);

/* Fills `error` (when not NULL) and returns `status`. */
pl_status pl_fail(pl_error *error, pl_status status, const char *message);

#endif
