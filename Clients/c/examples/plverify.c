/* plverify HOST:PORT TOKEN: verifies one link and prints the company, or why it was refused.
 * The API key comes from $PORTAL_LINKS_API_KEY (never the command line, where other users can see it);
 * $PORTAL_LINKS_CA turns on TLS with that CA file. Exit status: 0 valid, 1 invalid, 2 error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portallinks.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: plverify HOST:PORT TOKEN (API key in $PORTAL_LINKS_API_KEY)\n");
        return 2;
    }
    char host[256];
    const char *colon = strrchr(argv[1], ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (!colon || colon == argv[1] || (size_t)(colon - argv[1]) >= sizeof host || port <= 0 || port > 65535) {
        fprintf(stderr, "plverify: give the server as HOST:PORT, such as 127.0.0.1:7420\n");
        return 2;
    }
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = '\0';

    pl_options options = {.host = host, .port = (uint16_t)port, .api_key = getenv("PORTAL_LINKS_API_KEY")};
    if (getenv("PORTAL_LINKS_CA")) {
        options.tls = 1;
        options.tls_ca_file = getenv("PORTAL_LINKS_CA");
    }
    pl_client *client = NULL;
    pl_error error;
    pl_verification result;
    if (pl_connect(&options, &client, &error) != PL_OK || pl_verify(client, argv[2], &result, &error) != PL_OK) {
        fprintf(stderr, "plverify: %s (%s)\n", error.message, pl_status_name(error.status));
        pl_close(client);
        return 2;
    }
    pl_close(client);
    if (!result.valid) {
        printf("invalid: %s\n%s\n", pl_reason_name(result.reason), pl_reason_text(result.reason));
        return 1;
    }
    printf("valid: client %s%s%s%s, link %s, expires at %lld\n", result.client_id, result.display_name[0] ? " (" : "",
           result.display_name, result.display_name[0] ? ")" : "", result.link_id, (long long)result.expires_at);
    return 0;
}
