/* The connection state behind pl_client and the one primitive every method is built on: send one request,
 * wait for its answer. */
#ifndef PL_CLIENT_H
#define PL_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <pthread.h>

#include "portallinks.h"
#include "transport.h"

struct pl_client {
    pthread_mutex_t lock;    /* one call at a time */
    pl_options options;      /* strings owned by the client */
    pl_transport transport;
    int connected;
    uint32_t next_call_id;
    uint8_t *in;             /* received bytes not yet taken: in[in_start..<in_end] */
    size_t in_start, in_end, in_capacity;
    uint8_t *out;            /* frames being sent */
    size_t out_capacity;
};

/* An answer's payload, pointing into the client's buffer until the next read. */
typedef struct {
    uint32_t call_id;
    uint16_t status;
    const uint8_t *payload;
    size_t length;
} pl_frame;

#define PL_HEADER_SIZE 16
/* The largest answer accepted; the server's answers are far smaller. */
#define PL_MAX_RESPONSE_PAYLOAD (1u << 20)

/* Connects and authenticates when the client has no live connection. */
pl_status pl_ensure_connected(pl_client *client, pl_error *error);

/* Closes the connection after a failure; the next call connects again. Returns `status`. */
pl_status pl_drop_connection(pl_client *client, pl_status status);

/* Appends a request frame to client->out at *used, growing it as needed. */
pl_status pl_append_request(pl_client *client, size_t *used, uint16_t method, uint32_t call_id,
                            const ProtobufCMessage *message, pl_error *error);

/* Reads the next answer; *frame is valid until the next read. */
pl_status pl_read_frame(pl_client *client, int64_t deadline, pl_frame *frame, pl_error *error);

/* True when a whole answer is already buffered. */
int pl_frame_buffered(const pl_client *client);

/* Sends `request` as one call of `method` and waits for its answer. A non-OK status is returned with the
 * server's message and reason in `error`; on OK, *answer holds the payload. The caller holds the lock. */
pl_status pl_exchange(pl_client *client, uint16_t method, const ProtobufCMessage *request, pl_frame *answer,
                      pl_error *error);

/* Fills `error` from an answer with a non-OK status and returns that status. */
pl_status pl_server_error(const pl_frame *answer, pl_error *error);

/* Copies a string the server sent into a fixed field; an oversize one is PL_INTERNAL. */
pl_status pl_copy_field(char *field, size_t size, const char *value, pl_error *error);

#endif
