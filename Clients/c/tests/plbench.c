/* plbench HOST:PORT TOKEN [COUNT [DEPTH]]: pl_verify_many of COUNT copies of TOKEN (default 100,000) on one
 * connection with DEPTH calls in flight (default 16); prints the rate. API key in $PORTAL_LINKS_API_KEY.
 * Exit status 1 if any call failed or the token was not valid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portallinks.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: plbench HOST:PORT TOKEN [COUNT [DEPTH]] (API key in $PORTAL_LINKS_API_KEY)\n");
        return 2;
    }
    char host[256];
    const char *colon = strrchr(argv[1], ':');
    if (!colon || (size_t)(colon - argv[1]) >= sizeof host) {
        fprintf(stderr, "plbench: give the server as HOST:PORT\n");
        return 2;
    }
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = '\0';
    size_t count = argc > 3 ? strtoul(argv[3], NULL, 10) : 100000;
    size_t depth = argc > 4 ? strtoul(argv[4], NULL, 10) : 16;
    if (count == 0 || depth == 0) {
        fprintf(stderr, "plbench: COUNT and DEPTH must be positive\n");
        return 2;
    }

    pl_options options = {.host = host, .port = (uint16_t)atoi(colon + 1), .api_key = getenv("PORTAL_LINKS_API_KEY")};
    pl_client *client = NULL;
    pl_error error;
    const char **tokens = malloc(count * sizeof *tokens);
    pl_verification *results = malloc(count * sizeof *results);
    for (size_t i = 0; i < count; i++) tokens[i] = argv[2];
    int status = 0;
    if (pl_connect(&options, &client, &error) != PL_OK) {
        fprintf(stderr, "plbench: %s\n", error.message);
        status = 1;
    } else {
        /* A short warm-up, then the measured batch. */
        pl_verify_many(client, tokens, count < 1000 ? count : 1000, depth, results, &error);
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        pl_status result = pl_verify_many(client, tokens, count, depth, results, &error);
        clock_gettime(CLOCK_MONOTONIC, &end);
        double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
        size_t invalid = 0;
        for (size_t i = 0; result == PL_OK && i < count; i++) invalid += !results[i].valid;
        if (result != PL_OK || invalid) {
            fprintf(stderr, "plbench: %s\n", result != PL_OK ? error.message : "the token was refused");
            status = 1;
        } else {
            printf("c verify_many: %zu verifies in %.3f s: %.0f/s (depth %zu, one connection)\n", count, seconds,
                   (double)count / seconds, depth);
        }
    }
    pl_close(client);
    free(tokens);
    free(results);
    return status;
}
