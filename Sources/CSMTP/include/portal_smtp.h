#ifndef PORTAL_SMTP_H
#define PORTAL_SMTP_H

#include <stddef.h>

/* SMTP through libcurl: one session (a curl easy handle, which keeps its connection between messages) that
 * sends a prepared RFC 5322 message to one recipient at a time, so that each recipient's outcome is its own.
 * Only the glue lives here (libcurl's setopt is variadic, which Swift cannot call). */

typedef struct portal_smtp_session portal_smtp_session;

typedef struct {
    const char *url;          /* smtp://host:587 (STARTTLS required) or smtps://host:465 (implicit TLS) */
    const char *username;     /* NULL: no AUTH */
    const char *password;
    const char *ca_file;      /* NULL: the system's trust store */
    long require_tls;         /* 1: STARTTLS required on smtp:// (the default); 0: plain text allowed */
    long connect_timeout_ms;
    long timeout_ms;          /* for one message */
} portal_smtp_config;

typedef struct {
    int curl_code;            /* 0 when the server accepted the message */
    long reply_code;          /* the server's last reply code, 0 when none came */
    int login_denied;         /* the server refused the account (AUTH) */
    char reply[512];          /* the server's last reply line, without CRLF */
    char error[256];          /* libcurl's reason when curl_code != 0 */
} portal_smtp_outcome;

portal_smtp_session *portal_smtp_open(const portal_smtp_config *config);
void portal_smtp_close(portal_smtp_session *session);

/* Sends `message` (length bytes, CRLF line ends) from `from` to `recipient`. */
void portal_smtp_send(portal_smtp_session *session, const char *from, const char *recipient,
                      const unsigned char *message, size_t length, portal_smtp_outcome *outcome);

#endif
