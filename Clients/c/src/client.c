#define _GNU_SOURCE
#include "client.h"

#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal_links/v1/auth.pb-c.h"
#include "portal_links/v1/error.pb-c.h"
#include "portal_links/v1/wire.pb-c.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_CALL_TIMEOUT_MS 10000

static void put32(uint8_t *at, uint32_t value) {
    at[0] = (uint8_t)(value >> 24);
    at[1] = (uint8_t)(value >> 16);
    at[2] = (uint8_t)(value >> 8);
    at[3] = (uint8_t)value;
}

static uint32_t get32(const uint8_t *at) {
    return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static char *copy_string(const char *text) { return text ? strdup(text) : NULL; }

static void free_options(pl_options *options) {
    if (options->api_key) OPENSSL_cleanse((void *)options->api_key, strlen(options->api_key));
    free((void *)options->host);
    free((void *)options->api_key);
    free((void *)options->tls_ca_file);
    free((void *)options->tls_cert_file);
    free((void *)options->tls_key_file);
    free((void *)options->tls_server_name);
}

static int64_t call_deadline(const pl_client *client) {
    return pl_now_ms() + (client->options.call_timeout_ms > 0 ? client->options.call_timeout_ms : DEFAULT_CALL_TIMEOUT_MS);
}

pl_status pl_drop_connection(pl_client *client, pl_status status) {
    pl_transport_close(&client->transport);
    client->connected = 0;
    client->in_start = client->in_end = 0;
    return status;
}

/* Between calls nothing is owed to us, so a readable connection is one the server has closed (idle timeout,
 * shutdown) or is closing: start afresh rather than fail the next call. */
static int connection_went_stale(const pl_client *client) {
    if (client->in_end > client->in_start) return 1;
    if (client->transport.tls && SSL_pending(client->transport.tls) > 0) return 1;
    struct pollfd entry = {.fd = client->transport.fd, .events = POLLIN};
    return poll(&entry, 1, 0) != 0;
}

static pl_status hello(pl_client *client, pl_error *error) {
    PortalLinks__V1__HelloRequest request = PORTAL_LINKS__V1__HELLO_REQUEST__INIT;
    request.api_key = (char *)client->options.api_key;
    pl_frame answer;
    return pl_exchange(client, PORTAL_LINKS__V1__METHOD__METHOD_AUTH_HELLO, &request.base, &answer, error);
}

pl_status pl_ensure_connected(pl_client *client, pl_error *error) {
    if (client->connected && !connection_went_stale(client)) return PL_OK;
    pl_drop_connection(client, PL_OK);
    int timeout = client->options.connect_timeout_ms > 0 ? client->options.connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    pl_status status = pl_transport_open(&client->transport, &client->options, pl_now_ms() + timeout, error);
    if (status != PL_OK) return status;
    client->connected = 1;
    if (client->options.api_key) {
        status = hello(client, error);
        if (status != PL_OK) return pl_drop_connection(client, status);
    }
    return PL_OK;
}

pl_status pl_connect(const pl_options *options, pl_client **result, pl_error *error) {
    *result = NULL;
    if (!options || !options->host || !options->host[0]) return pl_fail(error, PL_INVALID_ARGUMENT, "a host is needed");
    pl_client *client = calloc(1, sizeof *client);
    if (!client) return pl_fail(error, PL_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_init(&client->lock, NULL);
    client->options = *options;
    client->options.host = copy_string(options->host);
    client->options.api_key = copy_string(options->api_key);
    client->options.tls_ca_file = copy_string(options->tls_ca_file);
    client->options.tls_cert_file = copy_string(options->tls_cert_file);
    client->options.tls_key_file = copy_string(options->tls_key_file);
    client->options.tls_server_name = copy_string(options->tls_server_name);
    client->transport.fd = -1;
    client->next_call_id = 1;
    client->in_capacity = 64 * 1024;
    client->in = malloc(client->in_capacity);
    client->out_capacity = 4096;
    client->out = malloc(client->out_capacity);
    if (!client->in || !client->out) {
        pl_close(client);
        return pl_fail(error, PL_RESOURCE_EXHAUSTED, "out of memory");
    }
    pl_status status = pl_ensure_connected(client, error);
    if (status != PL_OK) {
        pl_close(client);
        return status;
    }
    *result = client;
    return PL_OK;
}

void pl_close(pl_client *client) {
    if (!client) return;
    pl_drop_connection(client, PL_OK);
    free_options(&client->options);
    free(client->in);
    free(client->out);
    pthread_mutex_destroy(&client->lock);
    free(client);
}

/* Appends a request header for a `length`-byte payload to client->out at *used; *payload is where the payload
 * goes. */
static pl_status reserve_frame(pl_client *client, size_t *used, uint16_t method, uint32_t call_id, size_t length,
                               uint8_t **payload, pl_error *error) {
    if (length > UINT32_MAX) return pl_fail(error, PL_INVALID_ARGUMENT, "the request is too large");
    size_t needed = *used + PL_HEADER_SIZE + length;
    if (needed > client->out_capacity) {
        size_t capacity = client->out_capacity;
        while (capacity < needed) capacity *= 2;
        uint8_t *grown = realloc(client->out, capacity);
        if (!grown) return pl_fail(error, PL_RESOURCE_EXHAUSTED, "out of memory");
        client->out = grown;
        client->out_capacity = capacity;
    }
    uint8_t *header = client->out + *used;
    header[0] = 0x01;
    header[1] = 0;
    header[2] = (uint8_t)(method >> 8);
    header[3] = (uint8_t)method;
    put32(header + 4, call_id);
    put32(header + 8, (uint32_t)(client->options.call_timeout_ms > 0 ? client->options.call_timeout_ms : DEFAULT_CALL_TIMEOUT_MS));
    put32(header + 12, (uint32_t)length);
    *payload = header + PL_HEADER_SIZE;
    *used = needed;
    return PL_OK;
}

pl_status pl_append_request(pl_client *client, size_t *used, uint16_t method, uint32_t call_id,
                            const ProtobufCMessage *message, pl_error *error) {
    uint8_t *payload;
    pl_status status = reserve_frame(client, used, method, call_id, protobuf_c_message_get_packed_size(message), &payload, error);
    if (status == PL_OK) protobuf_c_message_pack(message, payload);
    return status;
}

/* Makes sure `count` bytes are buffered from in_start on, reading as needed. */
static pl_status fill(pl_client *client, size_t count, int64_t deadline, pl_error *error) {
    if (client->in_end - client->in_start >= count) return PL_OK;
    if (client->in_start > 0) {
        memmove(client->in, client->in + client->in_start, client->in_end - client->in_start);
        client->in_end -= client->in_start;
        client->in_start = 0;
    }
    if (count > client->in_capacity) {
        uint8_t *grown = realloc(client->in, count);
        if (!grown) return pl_fail(error, PL_RESOURCE_EXHAUSTED, "out of memory");
        client->in = grown;
        client->in_capacity = count;
    }
    while (client->in_end < count) {
        size_t received = 0;
        pl_status status = pl_transport_read(&client->transport, client->in + client->in_end,
                                             client->in_capacity - client->in_end, &received, deadline, error);
        if (status != PL_OK) return status;
        client->in_end += received;
    }
    return PL_OK;
}

static pl_status check_header(const uint8_t *header, pl_error *error) {
    if (header[0] != 0x81 || header[1] != 0) return pl_fail(error, PL_INTERNAL, "the server's answer is not protocol v1");
    if (get32(header + 12) > PL_MAX_RESPONSE_PAYLOAD) return pl_fail(error, PL_INTERNAL, "the server's answer is too large");
    return PL_OK;
}

int pl_frame_buffered(const pl_client *client) {
    size_t available = client->in_end - client->in_start;
    if (available < PL_HEADER_SIZE) return 0;
    const uint8_t *header = client->in + client->in_start;
    return available >= PL_HEADER_SIZE + (size_t)get32(header + 12);
}

pl_status pl_read_frame(pl_client *client, int64_t deadline, pl_frame *frame, pl_error *error) {
    pl_status status = fill(client, PL_HEADER_SIZE, deadline, error);
    if (status != PL_OK) return status;
    status = check_header(client->in + client->in_start, error);
    if (status != PL_OK) return status;
    size_t length = get32(client->in + client->in_start + 12);
    status = fill(client, PL_HEADER_SIZE + length, deadline, error);
    if (status != PL_OK) return status;
    const uint8_t *header = client->in + client->in_start;
    frame->status = (uint16_t)(header[2] << 8 | header[3]);
    frame->call_id = get32(header + 4);
    frame->payload = header + PL_HEADER_SIZE;
    frame->length = length;
    client->in_start += PL_HEADER_SIZE + length;
    return PL_OK;
}

pl_status pl_server_error(const pl_frame *answer, pl_error *error) {
    pl_status status = (pl_status)answer->status;
    if (!error) return status;
    error->status = status;
    error->reason[0] = '\0';
    snprintf(error->message, sizeof error->message, "the server answered %s", pl_status_name(status));
    PortalLinks__V1__Error *details = portal_links__v1__error__unpack(NULL, answer->length, answer->payload);
    if (details) {
        if (details->message && details->message[0]) snprintf(error->message, sizeof error->message, "%s", details->message);
        if (details->reason) snprintf(error->reason, sizeof error->reason, "%s", details->reason);
        portal_links__v1__error__free_unpacked(details, NULL);
    }
    return status;
}

/* Sends client->out[0..<used] and waits for the answer to `call_id`. */
static pl_status send_and_await(pl_client *client, size_t used, uint32_t call_id, int64_t deadline, pl_frame *answer,
                                pl_error *error) {
    pl_status status = pl_transport_write(&client->transport, client->out, used, deadline, error);
    if (status != PL_OK) return pl_drop_connection(client, status);
    do {
        status = pl_read_frame(client, deadline, answer, error);
        if (status != PL_OK) return pl_drop_connection(client, status);
    } while (answer->call_id != call_id);  /* calls are taken one at a time, so nothing else is owed */
    if (answer->status == PL_UNAVAILABLE) {
        /* A node shutting down answers UNAVAILABLE until it closes: the next call connects afresh (through a
         * balancer, to another node) rather than fail on this connection again. */
        return pl_drop_connection(client, pl_server_error(answer, error));
    }
    if (answer->status != PL_OK) return pl_server_error(answer, error);
    return PL_OK;
}

pl_status pl_exchange(pl_client *client, uint16_t method, const ProtobufCMessage *request, pl_frame *answer,
                      pl_error *error) {
    uint32_t call_id = client->next_call_id++;
    size_t used = 0;
    pl_status status = pl_append_request(client, &used, method, call_id, request, error);
    if (status != PL_OK) return status;
    return send_and_await(client, used, call_id, call_deadline(client), answer, error);
}

pl_status pl_copy_field(char *field, size_t size, const char *value, pl_error *error) {
    size_t length = value ? strlen(value) : 0;
    if (length >= size) {
        field[0] = '\0';
        return pl_fail(error, PL_INTERNAL, "the server's answer has a field longer than the protocol allows");
    }
    memcpy(field, value ? value : "", length + 1);
    return PL_OK;
}

pl_status pl_call(pl_client *client, uint16_t method, const uint8_t *request, size_t request_length,
                  uint8_t *response, size_t capacity, size_t *response_length, pl_error *error) {
    pthread_mutex_lock(&client->lock);
    pl_status status = pl_ensure_connected(client, error);
    uint32_t call_id = client->next_call_id++;
    size_t used = 0;
    uint8_t *payload;
    if (status == PL_OK) status = reserve_frame(client, &used, method, call_id, request_length, &payload, error);
    pl_frame answer;
    if (status == PL_OK) {
        if (request_length) memcpy(payload, request, request_length);
        status = send_and_await(client, used, call_id, call_deadline(client), &answer, error);
    }
    if (status == PL_OK) {
        if (answer.length > capacity) {
            status = pl_fail(error, PL_OUT_OF_RANGE, "the answer is larger than the buffer given");
        } else {
            if (answer.length) memcpy(response, answer.payload, answer.length);
            if (response_length) *response_length = answer.length;
        }
    }
    pthread_mutex_unlock(&client->lock);
    return status;
}
