/* Accounts and sessions: register through a link, sign in, check, refresh and end sessions. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "portal_links/v1/accounts.pb-c.h"
#include "portal_links/v1/wire.pb-c.h"

/* Sends one call under the client's lock, connecting first when needed. */
static pl_status call(pl_client *client, uint16_t method, const ProtobufCMessage *request, pl_frame *answer,
                      pl_error *error) {
    pl_status status = pl_ensure_connected(client, error);
    if (status == PL_OK) status = pl_exchange(client, method, request, answer, error);
    return status;
}

static pl_status unparsable(pl_client *client, pl_error *error) {
    return pl_drop_connection(client, pl_fail(error, PL_INTERNAL, "the server's answer does not parse"));
}

static pl_status copy_account(const PortalLinks__V1__Account *from, pl_account *to, pl_error *error) {
    if (!to) return PL_OK;
    memset(to, 0, sizeof *to);
    if (!from) return PL_OK;
    to->created_at = from->created_at;
    pl_status status = pl_copy_field(to->email, sizeof to->email, from->email, error);
    if (status == PL_OK) status = pl_copy_field(to->client_id, sizeof to->client_id, from->client_id, error);
    if (status == PL_OK) status = pl_copy_field(to->display_name, sizeof to->display_name, from->display_name, error);
    if (status == PL_OK) status = pl_copy_field(to->link_id, sizeof to->link_id, from->link_id, error);
    return status;
}

static pl_status copy_session(const PortalLinks__V1__Session *from, pl_session *to, pl_error *error) {
    memset(to, 0, sizeof *to);
    if (!from) return pl_fail(error, PL_INTERNAL, "the server's answer has no session");
    to->expires_at = from->expires_at;
    to->signed_in_at = from->signed_in_at;
    pl_status status = pl_copy_field(to->token, sizeof to->token, from->token, error);
    if (status == PL_OK) status = pl_copy_field(to->client_id, sizeof to->client_id, from->client_id, error);
    if (status == PL_OK) status = pl_copy_field(to->session_id, sizeof to->session_id, from->session_id, error);
    return status;
}

pl_status pl_register(pl_client *client, const char *link_token, const char *email, const char *password,
                      const char *display_name, pl_account *account, pl_error *error) {
    PortalLinks__V1__RegisterRequest request = PORTAL_LINKS__V1__REGISTER_REQUEST__INIT;
    request.token = (char *)(link_token ? link_token : "");
    request.email = (char *)(email ? email : "");
    request.password = (char *)(password ? password : "");
    request.display_name = (char *)(display_name ? display_name : "");
    pthread_mutex_lock(&client->lock);
    pl_frame answer;
    pl_status status = call(client, PORTAL_LINKS__V1__METHOD__METHOD_ACCOUNTS_REGISTER, &request.base, &answer, error);
    if (status == PL_OK) {
        PortalLinks__V1__RegisterResponse *response = portal_links__v1__register_response__unpack(NULL, answer.length, answer.payload);
        if (response) {
            status = copy_account(response->account, account, error);
            portal_links__v1__register_response__free_unpacked(response, NULL);
        } else {
            status = unparsable(client, error);
        }
    }
    pthread_mutex_unlock(&client->lock);
    return status;
}

pl_status pl_sign_in(pl_client *client, const char *email, const char *password, pl_session *session,
                     pl_account *account, pl_error *error) {
    PortalLinks__V1__SignInRequest request = PORTAL_LINKS__V1__SIGN_IN_REQUEST__INIT;
    request.email = (char *)(email ? email : "");
    request.password = (char *)(password ? password : "");
    pthread_mutex_lock(&client->lock);
    pl_frame answer;
    pl_status status = call(client, PORTAL_LINKS__V1__METHOD__METHOD_ACCOUNTS_SIGN_IN, &request.base, &answer, error);
    if (status == PL_OK) {
        PortalLinks__V1__SignInResponse *response = portal_links__v1__sign_in_response__unpack(NULL, answer.length, answer.payload);
        if (response) {
            status = copy_session(response->session, session, error);
            if (status == PL_OK) status = copy_account(response->account, account, error);
            portal_links__v1__sign_in_response__free_unpacked(response, NULL);
        } else {
            status = unparsable(client, error);
        }
    }
    pthread_mutex_unlock(&client->lock);
    return status;
}

pl_status pl_verify_session(pl_client *client, const char *session_token, pl_session_check *result, pl_error *error) {
    PortalLinks__V1__SessionVerifyRequest request = PORTAL_LINKS__V1__SESSION_VERIFY_REQUEST__INIT;
    request.token = (char *)(session_token ? session_token : "");
    pthread_mutex_lock(&client->lock);
    pl_frame answer;
    pl_status status = call(client, PORTAL_LINKS__V1__METHOD__METHOD_SESSIONS_VERIFY, &request.base, &answer, error);
    if (status == PL_OK) {
        PortalLinks__V1__SessionVerifyResponse *response =
            portal_links__v1__session_verify_response__unpack(NULL, answer.length, answer.payload);
        if (response) {
            memset(result, 0, sizeof *result);
            result->valid = response->valid != 0;
            result->expires_at = response->expires_at;
            result->signed_in_at = response->signed_in_at;
            status = pl_copy_field(result->reason, sizeof result->reason, response->reason, error);
            if (status == PL_OK) status = pl_copy_field(result->client_id, sizeof result->client_id, response->client_id, error);
            if (status == PL_OK) status = pl_copy_field(result->session_id, sizeof result->session_id, response->session_id, error);
            portal_links__v1__session_verify_response__free_unpacked(response, NULL);
        } else {
            status = unparsable(client, error);
        }
    }
    pthread_mutex_unlock(&client->lock);
    return status;
}

pl_status pl_refresh_session(pl_client *client, const char *session_token, pl_session *session, pl_error *error) {
    PortalLinks__V1__RefreshRequest request = PORTAL_LINKS__V1__REFRESH_REQUEST__INIT;
    request.token = (char *)(session_token ? session_token : "");
    pthread_mutex_lock(&client->lock);
    pl_frame answer;
    pl_status status = call(client, PORTAL_LINKS__V1__METHOD__METHOD_SESSIONS_REFRESH, &request.base, &answer, error);
    if (status == PL_OK) {
        PortalLinks__V1__RefreshResponse *response = portal_links__v1__refresh_response__unpack(NULL, answer.length, answer.payload);
        if (response) {
            status = copy_session(response->session, session, error);
            portal_links__v1__refresh_response__free_unpacked(response, NULL);
        } else {
            status = unparsable(client, error);
        }
    }
    pthread_mutex_unlock(&client->lock);
    return status;
}

pl_status pl_sign_out(pl_client *client, const char *session_token, pl_error *error) {
    PortalLinks__V1__SignOutRequest request = PORTAL_LINKS__V1__SIGN_OUT_REQUEST__INIT;
    request.token = (char *)(session_token ? session_token : "");
    pthread_mutex_lock(&client->lock);
    pl_frame answer;
    pl_status status = call(client, PORTAL_LINKS__V1__METHOD__METHOD_SESSIONS_SIGN_OUT, &request.base, &answer, error);
    pthread_mutex_unlock(&client->lock);
    return status;
}
