#include "portal_smtp.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct portal_smtp_session {
    CURL *curl;
};

typedef struct {
    const unsigned char *data;
    size_t length;
    size_t offset;
} upload;

static size_t read_message(char *buffer, size_t size, size_t count, void *userdata) {
    upload *source = userdata;
    size_t room = size * count, left = source->length - source->offset;
    size_t n = left < room ? left : room;
    memcpy(buffer, source->data + source->offset, n);
    source->offset += n;
    return n;
}

/* Keeps the server's last reply line, or its first refusal (4xx, 5xx: what follows is libcurl's QUIT and its
 * "221 Bye"). Only what the server says is kept (CURLINFO_HEADER_IN), never what is sent: the message
 * carries the link, and AUTH the password. */
static int keep_reply(CURL *curl, curl_infotype type, char *data, size_t size, void *userdata) {
    (void)curl;
    if (type != CURLINFO_HEADER_IN) return 0;
    portal_smtp_outcome *outcome = userdata;
    if (outcome->reply[0] == '4' || outcome->reply[0] == '5') return 0;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r')) size--;
    if (size >= sizeof outcome->reply) size = sizeof outcome->reply - 1;
    memcpy(outcome->reply, data, size);
    outcome->reply[size] = 0;
    return 0;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

portal_smtp_session *portal_smtp_open(const portal_smtp_config *config) {
    pthread_once(&global_once, global_init);
    portal_smtp_session *session = calloc(1, sizeof *session);
    if (!session) return NULL;
    session->curl = curl_easy_init();
    if (!session->curl) { free(session); return NULL; }
    CURL *curl = session->curl;
    curl_easy_setopt(curl, CURLOPT_URL, config->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_USE_SSL, config->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (config->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, config->ca_file);
    if (config->username) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, config->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, config->password ? config->password : "");
    }
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, config->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, config->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, keep_reply);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  /* for keep_reply; nothing is printed with a debug function */
    return session;
}

void portal_smtp_close(portal_smtp_session *session) {
    if (!session) return;
    curl_easy_cleanup(session->curl);
    free(session);
}

void portal_smtp_send(portal_smtp_session *session, const char *from, const char *recipient,
                      const unsigned char *message, size_t length, portal_smtp_outcome *outcome) {
    memset(outcome, 0, sizeof *outcome);
    CURL *curl = session->curl;
    upload source = { message, length, 0 };
    struct curl_slist *recipients = curl_slist_append(NULL, recipient);
    char error[CURL_ERROR_SIZE] = { 0 };
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_READDATA, &source);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)length);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, outcome);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    CURLcode code = curl_easy_perform(curl);
    outcome->curl_code = (int)code;
    outcome->login_denied = code == CURLE_LOGIN_DENIED;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &outcome->reply_code);
    if (code != CURLE_OK) {
        const char *reason = error[0] ? error : curl_easy_strerror(code);
        strncpy(outcome->error, reason, sizeof outcome->error - 1);
    }
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(recipients);
}
