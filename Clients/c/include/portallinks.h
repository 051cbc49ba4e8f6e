/*
 * libportallinks: the C client of PortalLinks wire protocol v1 (docs/protocol.md).
 *
 * One pl_client is one connection to `portal-links serve`, authenticated with a caller's API key. Every call
 * blocks until its answer (or its timeout) and may be made from any thread: calls on one client are taken one
 * at a time; use one client per thread for parallel calls. There is no global state. Results go into structs
 * the caller owns; nothing returned needs freeing except the client itself (pl_close).
 *
 * Every function that can fail returns a pl_status (PL_OK = 0) and, when `error` is not NULL, fills it with
 * the same status and a line for people. Statuses are gRPC's canonical codes, as the server sends them;
 * failures on this side are PL_UNAVAILABLE (cannot connect, connection lost), PL_DEADLINE_EXCEEDED (no answer
 * in time) and PL_INTERNAL (an answer that breaks the protocol). After any of those the connection is closed,
 * and the next call connects (and authenticates) again. No message ever contains a token, password or key.
 */
#ifndef PORTALLINKS_H
#define PORTALLINKS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PL_VERSION "1.0.0"

typedef enum {
    PL_OK = 0,
    PL_CANCELLED = 1,
    PL_UNKNOWN = 2,
    PL_INVALID_ARGUMENT = 3,
    PL_DEADLINE_EXCEEDED = 4,
    PL_NOT_FOUND = 5,
    PL_ALREADY_EXISTS = 6,
    PL_PERMISSION_DENIED = 7,
    PL_RESOURCE_EXHAUSTED = 8,
    PL_FAILED_PRECONDITION = 9,
    PL_ABORTED = 10,
    PL_OUT_OF_RANGE = 11,
    PL_UNIMPLEMENTED = 12,
    PL_INTERNAL = 13,
    PL_UNAVAILABLE = 14,
    PL_DATA_LOSS = 15,
    PL_UNAUTHENTICATED = 16,
} pl_status;

/* Why a link was refused (the protocol's Reason numbers); PL_REASON_NONE for a valid link. */
typedef enum {
    PL_REASON_NONE = 0,
    PL_REASON_MALFORMED = 1,
    PL_REASON_UNSUPPORTED_VERSION = 2,
    PL_REASON_UNKNOWN_KEY = 3,
    PL_REASON_KEY_DISABLED = 4,
    PL_REASON_KEY_EXPIRED = 5,
    PL_REASON_BAD_SIGNATURE = 6,
    PL_REASON_EXPIRED = 7,
    PL_REASON_NOT_YET_VALID = 8,
    PL_REASON_LINK_REVOKED = 9,
    PL_REASON_CLIENT_REVOKED = 10,
    PL_REASON_CLIENT_DISABLED = 11,
} pl_reason;

/* Field sizes, each with room for the terminating NUL. Values the server sends are bounded by the protocol;
 * an answer with a longer one is PL_INTERNAL. */
#define PL_CLIENT_ID_SIZE 65      /* 1-64 bytes */
#define PL_LINK_NAME_SIZE 65      /* a link's display name: 0-64 bytes */
#define PL_KEY_ID_SIZE 9          /* 8 hex digits */
#define PL_LINK_ID_SIZE 17        /* 16 hex digits */
#define PL_TOKEN_SIZE 1025        /* session and reset tokens */
#define PL_EMAIL_SIZE 321
#define PL_ACCOUNT_NAME_SIZE 801  /* an account's display name: up to 200 characters */
#define PL_SESSION_ID_SIZE 65
#define PL_REASON_SIZE 64
#define PL_MESSAGE_SIZE 256

typedef struct {
    pl_status status;
    /* Machine-readable detail when the status alone is not enough, such as Register's refused link
     * ("expired", "link_revoked", "link_full", ...); empty otherwise. */
    char reason[PL_REASON_SIZE];
    char message[PL_MESSAGE_SIZE];
} pl_error;

typedef struct {
    const char *host;                /* name or address */
    uint16_t port;
    const char *api_key;             /* a caller's key (`portal-links callers add`); NULL to stay unauthenticated */
    int connect_timeout_ms;          /* 0: 5,000 */
    int call_timeout_ms;             /* 0: 10,000; also sent to the server as the call's deadline */
    int tls;                         /* non-zero: TLS */
    const char *tls_ca_file;         /* PEM CA(s) to trust; NULL: the system's */
    const char *tls_cert_file;       /* client certificate (PEM), for mutual TLS */
    const char *tls_key_file;        /* its private key (PEM) */
    const char *tls_server_name;     /* name the certificate must carry; NULL: host */
} pl_options;

typedef struct pl_client pl_client;

/* Links.Verify's answer. The link fields are set for valid links and for links refused for expiry or
 * revocation (their signature checked out); empty otherwise. */
typedef struct {
    int valid;
    pl_reason reason;
    char client_id[PL_CLIENT_ID_SIZE];
    char display_name[PL_LINK_NAME_SIZE];
    char key_id[PL_KEY_ID_SIZE];
    char link_id[PL_LINK_ID_SIZE];
    int64_t issued_at;               /* Unix seconds */
    int64_t expires_at;
} pl_verification;

typedef struct {
    char email[PL_EMAIL_SIZE];
    char client_id[PL_CLIENT_ID_SIZE];
    char display_name[PL_ACCOUNT_NAME_SIZE];
    char link_id[PL_LINK_ID_SIZE];   /* the link registered through */
    int64_t created_at;
} pl_account;

typedef struct {
    char token[PL_TOKEN_SIZE];       /* give it to the browser (a cookie); never log it */
    char client_id[PL_CLIENT_ID_SIZE];
    char session_id[PL_SESSION_ID_SIZE];
    int64_t expires_at;              /* the idle deadline; refresh before it */
    int64_t signed_in_at;
} pl_session;

/* Sessions.Verify's answer: a session that does not hold is valid = 0 with a reason ("expired", "ended",
 * "bad_signature", ...), not an error. */
typedef struct {
    int valid;
    char reason[PL_REASON_SIZE];
    char client_id[PL_CLIENT_ID_SIZE];
    char session_id[PL_SESSION_ID_SIZE];
    int64_t expires_at;
    int64_t signed_in_at;
} pl_session_check;

/* Connects, sets up TLS when asked, and authenticates with the API key. */
pl_status pl_connect(const pl_options *options, pl_client **client, pl_error *error);

/* Closes the connection and frees the client. NULL is allowed. */
void pl_close(pl_client *client);

/* Health.Check: *serving is 1 while the server serves, 0 once it has begun to shut down. */
pl_status pl_health(pl_client *client, int *serving, pl_error *error);

/* Links.Verify of one token (the token alone, not the link URL). An invalid link is PL_OK with valid = 0. */
pl_status pl_verify(pl_client *client, const char *token, pl_verification *result, pl_error *error);

/* Links.Verify of `count` tokens on this connection, keeping up to `depth` calls in flight (0: 64). Fills
 * results[i] for tokens[i]. Returns PL_OK when every token was answered; otherwise the first failure, and the
 * results are incomplete. */
pl_status pl_verify_many(pl_client *client, const char *const *tokens, size_t count, size_t depth,
                         pl_verification *results, pl_error *error);

/* Accounts.Register through an invitation link. A refused link is PL_FAILED_PRECONDITION with the link's
 * reason in error->reason; a taken email PL_ALREADY_EXISTS; a weak password PL_INVALID_ARGUMENT.
 * `display_name` may be NULL. */
pl_status pl_register(pl_client *client, const char *link_token, const char *email, const char *password,
                      const char *display_name, pl_account *account, pl_error *error);

/* Accounts.SignIn. Every refusal is the same PL_UNAUTHENTICATED. `account` may be NULL. */
pl_status pl_sign_in(pl_client *client, const char *email, const char *password, pl_session *session,
                     pl_account *account, pl_error *error);

/* Sessions.Verify, answered without a store lookup: call it on every request of a signed-in page. */
pl_status pl_verify_session(pl_client *client, const char *session_token, pl_session_check *result, pl_error *error);

/* Sessions.Refresh: the same session with a new idle deadline, in `session`. */
pl_status pl_refresh_session(pl_client *client, const char *session_token, pl_session *session, pl_error *error);

/* Sessions.SignOut: ends the session on every server. */
pl_status pl_sign_out(pl_client *client, const char *session_token, pl_error *error);

/* Any method by id, for methods this library does not wrap: sends `request` (a serialised protobuf message)
 * and copies the answer's payload into `response` (up to `capacity` bytes; a longer one is PL_OUT_OF_RANGE). */
pl_status pl_call(pl_client *client, uint16_t method, const uint8_t *request, size_t request_length,
                  uint8_t *response, size_t capacity, size_t *response_length, pl_error *error);

/* "OK", "INVALID_ARGUMENT", ... */
const char *pl_status_name(pl_status status);

/* "", "malformed", "expired", "link_revoked", ... as in docs/protocol.md. */
const char *pl_reason_name(pl_reason reason);

/* A sentence for the person who opened the link, such as "This link has expired; ask your contact for a new
 * one."; empty for PL_REASON_NONE. */
const char *pl_reason_text(pl_reason reason);

#ifdef __cplusplus
}
#endif

#endif
