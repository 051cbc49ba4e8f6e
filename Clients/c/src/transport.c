#define _GNU_SOURCE
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t pl_now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

pl_status pl_fail(pl_error *error, pl_status status, const char *message) {
    if (error) {
        error->status = status;
        error->reason[0] = '\0';
        snprintf(error->message, sizeof error->message, "%s", message);
    }
    return status;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static pl_status wait_for(int fd, short events, int64_t deadline, pl_error *error) {
    for (;;) {
        int64_t left = deadline - pl_now_ms();
        if (left <= 0) return pl_fail(error, PL_DEADLINE_EXCEEDED, "no answer from the server in time");
        struct pollfd entry = {.fd = fd, .events = events};
        int ready = poll(&entry, 1, left > 1000000 ? 1000000 : (int)left);
        if (ready > 0) return PL_OK;
        if (ready < 0 && errno != EINTR) return pl_fail(error, PL_UNAVAILABLE, "poll failed on the connection");
    }
}

static pl_status connect_tcp(pl_transport *transport, const pl_options *options, int64_t deadline, pl_error *error) {
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)options->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addresses = NULL;
    if (getaddrinfo(options->host, port, &hints, &addresses) != 0 || !addresses) {
        return pl_fail(error, PL_UNAVAILABLE, "cannot resolve the server's host name");
    }
    pl_status status = pl_fail(error, PL_UNAVAILABLE, "cannot connect to the server");
    for (struct addrinfo *address = addresses; address; address = address->ai_next) {
        int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
            status = PL_OK;
        } else if (errno == EINPROGRESS) {
            status = wait_for(fd, POLLOUT, deadline, error);
            int failure = 0;
            socklen_t length = sizeof failure;
            if (status == PL_OK && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) != 0 || failure != 0)) {
                status = pl_fail(error, PL_UNAVAILABLE, "cannot connect to the server (connection refused or unreachable)");
            }
        } else {
            status = pl_fail(error, PL_UNAVAILABLE, "cannot connect to the server (connection refused or unreachable)");
        }
        if (status == PL_OK) {
            transport->fd = fd;
            break;
        }
        close(fd);
        if (status == PL_DEADLINE_EXCEEDED) break;
    }
    freeaddrinfo(addresses);
    if (status == PL_DEADLINE_EXCEEDED) return pl_fail(error, PL_UNAVAILABLE, "cannot connect to the server in time");
    return status;
}

/* OpenSSL writes to the socket with write(2), which raises SIGPIPE on a connection the server has closed and
 * would end the whole program. A library must not change the process's signal handling, so SIGPIPE is
 * blocked in this thread around each TLS call and one it raised is taken before unblocking. */
typedef struct {
    sigset_t previous;
    int was_pending;
} pipe_guard;

static void guard_pipe(pipe_guard *guard) {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &guard->previous);
}

static void release_pipe(pipe_guard *guard) {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (!guard->was_pending && sigismember(&pending, SIGPIPE)) {
        struct timespec now = {0, 0};
        while (sigtimedwait(&pipe, NULL, &now) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &guard->previous, NULL);
}

/* A line naming what OpenSSL refused, without anything secret (OpenSSL's messages name files and reasons). */
static pl_status tls_failure(pl_error *error, const char *what) {
    char detail[160] = "";
    unsigned long code = ERR_get_error();
    if (code) ERR_error_string_n(code, detail, sizeof detail);
    ERR_clear_error();
    char message[PL_MESSAGE_SIZE];
    snprintf(message, sizeof message, "%s%s%s", what, detail[0] ? ": " : "", detail);
    return pl_fail(error, PL_UNAVAILABLE, message);
}

static pl_status start_tls(pl_transport *transport, const pl_options *options, int64_t deadline, pl_error *error) {
    transport->tls_context = SSL_CTX_new(TLS_client_method());
    if (!transport->tls_context) return tls_failure(error, "cannot set up TLS");
    /* What the server speaks: TLS 1.2 or 1.3, and in TLS 1.2 only ECDHE key exchange with AEAD ciphers. */
    SSL_CTX_set_min_proto_version(transport->tls_context, TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(transport->tls_context, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
        return tls_failure(error, "cannot set the TLS ciphers");
    SSL_CTX_set_verify(transport->tls_context, SSL_VERIFY_PEER, NULL);
    int trusted = options->tls_ca_file ? SSL_CTX_load_verify_locations(transport->tls_context, options->tls_ca_file, NULL)
                                       : SSL_CTX_set_default_verify_paths(transport->tls_context);
    if (trusted != 1) return tls_failure(error, "cannot load the TLS CA file");
    if (options->tls_cert_file || options->tls_key_file) {
        if (!options->tls_cert_file || !options->tls_key_file) {
            return pl_fail(error, PL_INVALID_ARGUMENT, "a client certificate needs both tls_cert_file and tls_key_file");
        }
        if (SSL_CTX_use_certificate_chain_file(transport->tls_context, options->tls_cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(transport->tls_context, options->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(transport->tls_context) != 1) {
            return tls_failure(error, "cannot load the TLS client certificate or key");
        }
    }
    transport->tls = SSL_new(transport->tls_context);
    if (!transport->tls || SSL_set_fd(transport->tls, transport->fd) != 1) return tls_failure(error, "cannot set up TLS");
    const char *name = options->tls_server_name ? options->tls_server_name : options->host;
    struct in6_addr ignored;
    int is_address = inet_pton(AF_INET, name, &ignored) == 1 || inet_pton(AF_INET6, name, &ignored) == 1;
    if (is_address) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(transport->tls), name);
    } else {
        SSL_set_tlsext_host_name(transport->tls, name);
        SSL_set1_host(transport->tls, name);
    }
    for (;;) {
        pipe_guard guard;
        guard_pipe(&guard);
        int result = SSL_connect(transport->tls);
        release_pipe(&guard);
        if (result == 1) return PL_OK;
        int reason = SSL_get_error(transport->tls, result);
        pl_status status;
        if (reason == SSL_ERROR_WANT_READ) {
            status = wait_for(transport->fd, POLLIN, deadline, error);
        } else if (reason == SSL_ERROR_WANT_WRITE) {
            status = wait_for(transport->fd, POLLOUT, deadline, error);
        } else {
            long verification = SSL_get_verify_result(transport->tls);
            if (verification != X509_V_OK) {
                char message[PL_MESSAGE_SIZE];
                snprintf(message, sizeof message, "the server's TLS certificate was refused: %s",
                         X509_verify_cert_error_string(verification));
                ERR_clear_error();
                return pl_fail(error, PL_UNAVAILABLE, message);
            }
            return tls_failure(error, "TLS handshake failed");
        }
        if (status != PL_OK) return status;
    }
}

pl_status pl_transport_open(pl_transport *transport, const pl_options *options, int64_t deadline, pl_error *error) {
    transport->fd = -1;
    transport->tls_context = NULL;
    transport->tls = NULL;
    pl_status status = connect_tcp(transport, options, deadline, error);
    if (status == PL_OK && options->tls) status = start_tls(transport, options, deadline, error);
    if (status != PL_OK) pl_transport_close(transport);
    return status;
}

pl_status pl_transport_write(pl_transport *transport, const uint8_t *bytes, size_t length, int64_t deadline,
                             pl_error *error) {
    while (length > 0) {
        if (transport->tls) {
            size_t written = 0;
            pipe_guard guard;
            guard_pipe(&guard);
            int result = SSL_write_ex(transport->tls, bytes, length, &written);
            release_pipe(&guard);
            if (result == 1) {
                bytes += written;
                length -= written;
                continue;
            }
            int reason = SSL_get_error(transport->tls, result);
            short events = reason == SSL_ERROR_WANT_READ ? POLLIN : reason == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
            if (!events) {
                ERR_clear_error();
                return pl_fail(error, PL_UNAVAILABLE, "the connection to the server was lost");
            }
            pl_status status = wait_for(transport->fd, events, deadline, error);
            if (status != PL_OK) return status;
        } else {
            ssize_t written = send(transport->fd, bytes, length, MSG_NOSIGNAL);
            if (written > 0) {
                bytes += written;
                length -= (size_t)written;
            } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pl_status status = wait_for(transport->fd, POLLOUT, deadline, error);
                if (status != PL_OK) return status;
            } else if (written < 0 && errno == EINTR) {
                continue;
            } else {
                return pl_fail(error, PL_UNAVAILABLE, "the connection to the server was lost");
            }
        }
    }
    return PL_OK;
}

pl_status pl_transport_read(pl_transport *transport, uint8_t *buffer, size_t capacity, size_t *received,
                            int64_t deadline, pl_error *error) {
    for (;;) {
        if (transport->tls) {
            pipe_guard guard;
            guard_pipe(&guard);
            int result = SSL_read_ex(transport->tls, buffer, capacity, received);
            release_pipe(&guard);
            if (result == 1) return PL_OK;
            int reason = SSL_get_error(transport->tls, result);
            short events = reason == SSL_ERROR_WANT_READ ? POLLIN : reason == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
            if (!events) {
                ERR_clear_error();
                return pl_fail(error, PL_UNAVAILABLE, "the server closed the connection");
            }
            pl_status status = wait_for(transport->fd, events, deadline, error);
            if (status != PL_OK) return status;
        } else {
            ssize_t count = recv(transport->fd, buffer, capacity, 0);
            if (count > 0) {
                *received = (size_t)count;
                return PL_OK;
            }
            if (count == 0) return pl_fail(error, PL_UNAVAILABLE, "the server closed the connection");
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return pl_fail(error, PL_UNAVAILABLE, "the connection to the server was lost");
            pl_status status = wait_for(transport->fd, POLLIN, deadline, error);
            if (status != PL_OK) return status;
        }
    }
}

void pl_transport_close(pl_transport *transport) {
    if (transport->tls) {
        SSL_free(transport->tls);
        transport->tls = NULL;
    }
    if (transport->tls_context) {
        SSL_CTX_free(transport->tls_context);
        transport->tls_context = NULL;
    }
    if (transport->fd >= 0) {
        close(transport->fd);
        transport->fd = -1;
    }
}
