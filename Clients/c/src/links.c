/* Health.Check and Links.Verify, one call or a pipelined batch. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "portal_links/v1/health.pb-c.h"
#include "portal_links/v1/links.pb-c.h"
#include "portal_links/v1/wire.pb-c.h"

pl_status pl_health(pl_client *client, int *serving, pl_error *error) {
    PortalLinks__V1__HealthCheckRequest request = PORTAL_LINKS__V1__HEALTH_CHECK_REQUEST__INIT;
    pthread_mutex_lock(&client->lock);
    pl_frame answer;
    pl_status status = pl_ensure_connected(client, error);
    if (status == PL_OK) status = pl_exchange(client, PORTAL_LINKS__V1__METHOD__METHOD_HEALTH_CHECK, &request.base, &answer, error);
    if (status == PL_OK) {
        PortalLinks__V1__HealthCheckResponse *response = portal_links__v1__health_check_response__unpack(NULL, answer.length, answer.payload);
        if (response) {
            *serving = response->status == PORTAL_LINKS__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
            portal_links__v1__health_check_response__free_unpacked(response, NULL);
        } else {
            status = pl_drop_connection(client, pl_fail(error, PL_INTERNAL, "the server's Health answer does not parse"));
        }
    }
    pthread_mutex_unlock(&client->lock);
    return status;
}

/* Decodes a VerifyResponse payload into `result`. */
static pl_status decode_verification(const pl_frame *answer, pl_verification *result, pl_error *error) {
    PortalLinks__V1__VerifyResponse *response = portal_links__v1__verify_response__unpack(NULL, answer->length, answer->payload);
    if (!response) return pl_fail(error, PL_INTERNAL, "the server's Verify answer does not parse");
    result->valid = response->valid != 0;
    result->reason = (pl_reason)response->reason;
    result->issued_at = response->issued_at;
    result->expires_at = response->expires_at;
    pl_status status = pl_copy_field(result->client_id, sizeof result->client_id, response->client_id, error);
    if (status == PL_OK) status = pl_copy_field(result->display_name, sizeof result->display_name, response->display_name, error);
    if (status == PL_OK) status = pl_copy_field(result->key_id, sizeof result->key_id, response->key_id, error);
    if (status == PL_OK) status = pl_copy_field(result->link_id, sizeof result->link_id, response->link_id, error);
    portal_links__v1__verify_response__free_unpacked(response, NULL);
    return status;
}

static void set_token(PortalLinks__V1__VerifyRequest *request, const char *token) {
    portal_links__v1__verify_request__init(request);
    request->token = (char *)(token ? token : "");
}

pl_status pl_verify(pl_client *client, const char *token, pl_verification *result, pl_error *error) {
    return pl_verify_many(client, &token, 1, 1, result, error);
}

pl_status pl_verify_many(pl_client *client, const char *const *tokens, size_t count, size_t depth,
                         pl_verification *results, pl_error *error) {
    if (depth == 0) depth = 64;
    pthread_mutex_lock(&client->lock);
    pl_status status = pl_ensure_connected(client, error);
    /* Call ids first_id ..< first_id + count name the tokens by their index. */
    uint32_t first_id = client->next_call_id;
    client->next_call_id += (uint32_t)count;
    int64_t deadline = 0;
    size_t sent = 0, answered = 0;
    while (status == PL_OK && answered < count) {
        size_t used = 0;
        while (status == PL_OK && sent < count && sent - answered < depth) {
            PortalLinks__V1__VerifyRequest request;
            set_token(&request, tokens[sent]);
            status = pl_append_request(client, &used, PORTAL_LINKS__V1__METHOD__METHOD_LINKS_VERIFY,
                                       first_id + (uint32_t)sent, &request.base, error);
            sent++;
        }
        /* The timeout runs from the last time the batch made progress. */
        deadline = pl_now_ms() + (client->options.call_timeout_ms > 0 ? client->options.call_timeout_ms : 10000);
        if (status == PL_OK && used) status = pl_transport_write(&client->transport, client->out, used, deadline, error);
        /* Wait for one answer, then take every answer already here before sending more. */
        do {
            pl_frame answer;
            if (status == PL_OK) status = pl_read_frame(client, deadline, &answer, error);
            if (status != PL_OK) break;
            uint32_t index = answer.call_id - first_id;
            if (index >= sent) {
                status = pl_fail(error, PL_INTERNAL, "the server answered a call that was not made");
            } else if (answer.status != PL_OK) {
                status = pl_server_error(&answer, error);
            } else {
                status = decode_verification(&answer, &results[index], error);
                answered++;
            }
        } while (status == PL_OK && pl_frame_buffered(client));
    }
    /* Answers still owed to this batch would confuse the next call. */
    if (status != PL_OK && answered < sent) pl_drop_connection(client, status);
    pthread_mutex_unlock(&client->lock);
    return status;
}
