/* The language-neutral conformance cases against a live conformance server, plus the library's own promises:
 * TLS and mutual TLS, the protocol's error cases, accounts and sessions, pipelining, sharing a client between
 * threads and reconnecting. Reads the cases that tests/manifest_to_tsv.py makes from the server's manifest.
 * Prints one line per check; exits 1 if any failed. Run under valgrind by `make check`. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portallinks.h"

static int failures, checks;

#define CHECK(condition, ...)                                   \
    do {                                                        \
        checks++;                                               \
        if (!(condition)) {                                     \
            failures++;                                         \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);         \
            printf(__VA_ARGS__);                                \
            printf("\n");                                       \
        }                                                       \
    } while (0)

typedef struct {
    int port, at_main, valid;
    char *name, *token, *reason, *client_id, *display_name, *key_id, *link_id, *issued_at, *expires_at;
} test_case;

static struct {
    char *all_key, *verify_only_key;
    int port, tls_port, mtls_port, max_frame;
    char *ca, *client_cert, *client_key;
    char *registration_token, *registration_client;
    test_case cases[64];
    int case_count;
    char *lines;  /* owns every string above */
} fixture;

static char *field(char **cursor) {
    char *start = *cursor;
    char *end = start + strcspn(start, "\t\n");
    *cursor = *end ? end + 1 : end;
    *end = '\0';
    return start;
}

static void load(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    fixture.lines = calloc(1, (size_t)size + 1);
    if (fread(fixture.lines, 1, (size_t)size, file) != (size_t)size) exit(2);
    fclose(file);
    for (char *line = fixture.lines; *line;) {
        char *next = line + strcspn(line, "\n");
        if (*next) *next++ = '\0';
        char *cursor = line;
        char *kind = field(&cursor);
        if (!strcmp(kind, "key")) {
            char *name = field(&cursor);
            *(!strcmp(name, "all") ? &fixture.all_key : &fixture.verify_only_key) = field(&cursor);
        } else if (!strcmp(kind, "main")) {
            fixture.port = atoi(field(&cursor));
            fixture.tls_port = atoi(field(&cursor));
            fixture.mtls_port = atoi(field(&cursor));
        } else if (!strcmp(kind, "tls")) {
            fixture.ca = field(&cursor);
            fixture.client_cert = field(&cursor);
            fixture.client_key = field(&cursor);
        } else if (!strcmp(kind, "max_frame")) {
            fixture.max_frame = atoi(field(&cursor));
        } else if (!strcmp(kind, "registration")) {
            fixture.registration_token = field(&cursor);
            fixture.registration_client = field(&cursor);
        } else if (!strcmp(kind, "case") && fixture.case_count < 64) {
            test_case *c = &fixture.cases[fixture.case_count++];
            c->port = atoi(field(&cursor));
            c->at_main = atoi(field(&cursor));
            c->name = field(&cursor);
            c->token = field(&cursor);
            c->valid = atoi(field(&cursor));
            c->reason = field(&cursor);
            c->client_id = field(&cursor);
            c->display_name = field(&cursor);
            c->key_id = field(&cursor);
            c->link_id = field(&cursor);
            c->issued_at = field(&cursor);
            c->expires_at = field(&cursor);
        }
        line = next;
    }
    if (!fixture.all_key || !fixture.port || fixture.case_count == 0) {
        fprintf(stderr, "%s is not a conformance case file\n", path);
        exit(2);
    }
}

static pl_options options_for(int port, const char *key) {
    pl_options options = {.host = "127.0.0.1", .port = (uint16_t)port, .api_key = key, .call_timeout_ms = 10000};
    return options;
}

static pl_client *connect_or_die(pl_options options) {
    pl_client *client = NULL;
    pl_error error;
    if (pl_connect(&options, &client, &error) != PL_OK) {
        printf("FAIL cannot connect to port %d: %s (%s)\n", options.port, error.message, pl_status_name(error.status));
        exit(1);
    }
    return client;
}

/* Compares an answer with what the case expects; a "-" field is not given for that case. */
static void expect_case(const test_case *c, const pl_verification *result, const char *how) {
    CHECK(result->valid == c->valid, "%s (%s): valid %d, expected %d", c->name, how, result->valid, c->valid);
    CHECK(!strcmp(pl_reason_name(result->reason), c->reason), "%s (%s): reason %s, expected %s", c->name, how,
          pl_reason_name(result->reason), c->reason);
    if (strcmp(c->client_id, "-")) CHECK(!strcmp(result->client_id, c->client_id), "%s (%s): client %s", c->name, how, result->client_id);
    if (strcmp(c->display_name, "-")) CHECK(!strcmp(result->display_name, c->display_name), "%s (%s): name %s", c->name, how, result->display_name);
    if (strcmp(c->key_id, "-")) CHECK(!strcmp(result->key_id, c->key_id), "%s (%s): key %s", c->name, how, result->key_id);
    if (strcmp(c->link_id, "-")) CHECK(!strcmp(result->link_id, c->link_id), "%s (%s): link %s", c->name, how, result->link_id);
    if (strcmp(c->issued_at, "-")) CHECK(result->issued_at == atoll(c->issued_at), "%s (%s): issued_at", c->name, how);
    if (strcmp(c->expires_at, "-")) CHECK(result->expires_at == atoll(c->expires_at), "%s (%s): expires_at", c->name, how);
}

/* Every case, one call each, on the server whose clock reads the case's time. */
static void test_every_case_over_plain_tcp(void) {
    for (int i = 0; i < fixture.case_count; i++) {
        const test_case *c = &fixture.cases[i];
        pl_client *client = connect_or_die(options_for(c->port, fixture.all_key));
        pl_verification result;
        pl_error error;
        pl_status status = pl_verify(client, c->token, &result, &error);
        CHECK(status == PL_OK, "%s: status %s: %s", c->name, pl_status_name(status), error.message);
        if (status == PL_OK) expect_case(c, &result, "tcp");
        pl_close(client);
    }
}

/* The cases at the main time in one pipelined batch, answers in the order asked. */
static void verify_main_cases_in_a_batch(pl_client *client, const char *how, size_t depth) {
    const char *tokens[64] = {0};
    const test_case *expected[64] = {0};
    size_t count = 0;
    for (int i = 0; i < fixture.case_count; i++) {
        if (!fixture.cases[i].at_main) continue;
        expected[count] = &fixture.cases[i];
        tokens[count++] = fixture.cases[i].token;
    }
    pl_verification results[64];
    pl_error error;
    pl_status status = pl_verify_many(client, tokens, count, depth, results, &error);
    CHECK(status == PL_OK, "verify_many (%s): %s", how, error.message);
    if (status != PL_OK) return;
    for (size_t i = 0; i < count; i++) expect_case(expected[i], &results[i], how);
}

static void test_pipelined_batches(void) {
    pl_client *client = connect_or_die(options_for(fixture.port, fixture.all_key));
    verify_main_cases_in_a_batch(client, "depth 1", 1);
    verify_main_cases_in_a_batch(client, "depth 4", 4);
    verify_main_cases_in_a_batch(client, "depth 64", 64);
    /* A batch larger than the server's in-flight cap is still answered whole: the client keeps `depth` out. */
    enum { many = 3000 };
    const char **tokens = malloc(many * sizeof *tokens);
    pl_verification *results = malloc(many * sizeof *results);
    const test_case *valid = NULL, *invalid = NULL;
    for (int i = 0; i < fixture.case_count; i++) {
        if (!fixture.cases[i].at_main) continue;
        if (fixture.cases[i].valid && !valid) valid = &fixture.cases[i];
        if (!fixture.cases[i].valid && !invalid) invalid = &fixture.cases[i];
    }
    for (int i = 0; i < many; i++) tokens[i] = i % 3 ? valid->token : invalid->token;
    pl_error error;
    pl_status status = pl_verify_many(client, tokens, many, 256, results, &error);
    CHECK(status == PL_OK, "verify_many of %d: %s", many, error.message);
    int wrong = 0;
    for (int i = 0; status == PL_OK && i < many; i++) wrong += results[i].valid != (i % 3 != 0);
    CHECK(wrong == 0, "verify_many of %d: %d answers out of place", many, wrong);
    free(tokens);
    free(results);
    pl_close(client);
}

static const test_case *main_case(int valid);

static void test_tls(void) {
    if (!fixture.ca || !fixture.tls_port) {
        CHECK(0, "the manifest has no TLS ports (start the conformance server with --tls-dir)");
        return;
    }
    pl_options options = options_for(fixture.tls_port, fixture.all_key);
    options.tls = 1;
    options.tls_ca_file = fixture.ca;
    options.tls_server_name = "localhost";
    pl_error error;
    pl_client *client = connect_or_die(options);
    verify_main_cases_in_a_batch(client, "tls", 8);
    /* The server closing a TLS connection on an oversize frame fails that call; the next call reconnects. */
    for (int attempt = 0; attempt < 3; attempt++) {
        size_t size = (size_t)fixture.max_frame * 4;
        char *huge = malloc(size + 1);
        memset(huge, 'A', size);
        huge[size] = '\0';
        pl_verification result;
        CHECK(pl_verify(client, huge, &result, &error) == PL_UNAVAILABLE, "oversize token over TLS: %s", pl_status_name(error.status));
        free(huge);
        CHECK(pl_verify(client, main_case(1)->token, &result, &error) == PL_OK && result.valid, "verify after TLS reconnect: %s",
              error.message);
    }
    pl_close(client);

    /* Checking the certificate's name is not optional. */
    options.tls_server_name = "portal.example.com";
    client = NULL;
    CHECK(pl_connect(&options, &client, &error) == PL_UNAVAILABLE && !client, "TLS to the wrong name was accepted");
    /* Nor is trusting the CA: the system's trust store does not know the test CA. */
    options.tls_server_name = "localhost";
    options.tls_ca_file = NULL;
    CHECK(pl_connect(&options, &client, &error) == PL_UNAVAILABLE && !client, "TLS with an unknown CA was accepted");

    /* Mutual TLS: with the client certificate, and refused without it. */
    options = options_for(fixture.mtls_port, fixture.all_key);
    options.tls = 1;
    options.tls_ca_file = fixture.ca;
    options.tls_server_name = "localhost";
    options.tls_cert_file = fixture.client_cert;
    options.tls_key_file = fixture.client_key;
    client = connect_or_die(options);
    verify_main_cases_in_a_batch(client, "mutual tls", 8);
    pl_close(client);
    options.tls_cert_file = options.tls_key_file = NULL;
    client = NULL;
    pl_status status = pl_connect(&options, &client, &error);
    CHECK(status == PL_UNAVAILABLE && !client, "mutual TLS without a client certificate: %s", pl_status_name(status));
}

static const test_case *main_case(int valid) {
    for (int i = 0; i < fixture.case_count; i++) {
        if (fixture.cases[i].at_main && fixture.cases[i].valid == valid) return &fixture.cases[i];
    }
    return NULL;
}

static void test_protocol_errors(void) {
    pl_error error;
    pl_client *client = connect_or_die(options_for(fixture.port, fixture.all_key));

    /* An unknown method is UNIMPLEMENTED and the connection carries on. */
    uint8_t answer[64];
    size_t length = 0;
    CHECK(pl_call(client, 99, NULL, 0, answer, sizeof answer, &length, &error) == PL_UNIMPLEMENTED,
          "method 99: %s", pl_status_name(error.status));
    int serving = 0;
    CHECK(pl_health(client, &serving, &error) == PL_OK && serving, "health after an unknown method: %s", error.message);

    /* A payload over the server's limit closes the connection; the next call reconnects. */
    size_t size = (size_t)fixture.max_frame + 1;
    char *huge = malloc(size + 1);
    memset(huge, 'A', size);
    huge[size] = '\0';
    pl_verification result;
    CHECK(pl_verify(client, huge, &result, &error) == PL_UNAVAILABLE, "oversize token: %s", pl_status_name(error.status));
    free(huge);
    const test_case *valid = main_case(1);
    CHECK(pl_verify(client, valid->token, &result, &error) == PL_OK && result.valid, "verify after reconnecting: %s", error.message);
    pl_close(client);

    /* Without Hello, only Health answers. */
    client = connect_or_die(options_for(fixture.port, NULL));
    CHECK(pl_health(client, &serving, &error) == PL_OK, "health without an API key: %s", error.message);
    CHECK(pl_verify(client, valid->token, &result, &error) == PL_UNAUTHENTICATED, "verify without an API key: %s",
          pl_status_name(error.status));
    pl_close(client);

    /* A key without the accounts scope. */
    client = connect_or_die(options_for(fixture.port, fixture.verify_only_key));
    pl_account account;
    CHECK(pl_register(client, fixture.registration_token, "scope@example.com", "a long enough passphrase", NULL, &account,
                      &error) == PL_PERMISSION_DENIED,
          "register with a verify-only key: %s", pl_status_name(error.status));
    pl_close(client);

    /* A wrong key fails at connect, and the message does not repeat it. */
    pl_options options = options_for(fixture.port, "plk_not-a-real-key-at-all-0000000000000000000");
    client = NULL;
    CHECK(pl_connect(&options, &client, &error) == PL_UNAUTHENTICATED && !client, "wrong API key: %s", pl_status_name(error.status));
    CHECK(!strstr(error.message, "plk_"), "the error repeats the API key: %s", error.message);

    /* Nothing listening. */
    options = options_for(1, fixture.all_key);
    options.connect_timeout_ms = 2000;
    CHECK(pl_connect(&options, &client, &error) == PL_UNAVAILABLE && !client, "connect to a closed port: %s",
          pl_status_name(error.status));
}

static void test_accounts(void) {
    pl_client *client = connect_or_die(options_for(fixture.port, fixture.all_key));
    pl_error error;
    char email[96];
    snprintf(email, sizeof email, "c-client-%ld-%d@example.com", (long)time(NULL), rand());
    const char *password = "correct horse battery staple";

    pl_account account;
    pl_status status = pl_register(client, fixture.registration_token, email, password, "Ada C", &account, &error);
    CHECK(status == PL_OK, "register: %s %s", pl_status_name(status), error.message);
    CHECK(!strcmp(account.client_id, fixture.registration_client), "registered under client %s", account.client_id);
    CHECK(!strcmp(account.email, email), "registered email %s", account.email);
    CHECK(!strcmp(account.display_name, "Ada C"), "registered name %s", account.display_name);

    CHECK(pl_register(client, fixture.registration_token, email, password, NULL, &account, &error) == PL_ALREADY_EXISTS,
          "the same email twice: %s", pl_status_name(error.status));
    CHECK(pl_register(client, fixture.registration_token, "weak@example.com", "short", NULL, &account, &error) == PL_INVALID_ARGUMENT,
          "a short password: %s", pl_status_name(error.status));
    CHECK(!strstr(error.message, "short\""), "the error repeats the password: %s", error.message);
    for (int i = 0; i < fixture.case_count; i++) {
        const test_case *c = &fixture.cases[i];
        if (!c->at_main || c->valid || strcmp(c->reason, "link_revoked")) continue;
        CHECK(pl_register(client, c->token, "revoked@example.com", password, NULL, &account, &error) == PL_FAILED_PRECONDITION,
              "register through a revoked link: %s", pl_status_name(error.status));
        CHECK(!strcmp(error.reason, "link_revoked"), "register through a revoked link: reason %s", error.reason);
    }

    pl_session session;
    status = pl_sign_in(client, email, password, &session, &account, &error);
    CHECK(status == PL_OK, "sign in: %s", error.message);
    CHECK(!strcmp(session.client_id, fixture.registration_client) && session.token[0], "session client %s", session.client_id);
    CHECK(pl_sign_in(client, email, "not the password", &session, NULL, &error) == PL_UNAUTHENTICATED,
          "a wrong password: %s", pl_status_name(error.status));
    CHECK(!strstr(error.message, "not the password"), "the error repeats the password");
    status = pl_sign_in(client, email, password, &session, NULL, &error);
    CHECK(status == PL_OK, "sign in again: %s", error.message);

    pl_session_check check;
    CHECK(pl_verify_session(client, session.token, &check, &error) == PL_OK && check.valid, "session verify: %s", check.reason);
    CHECK(!strcmp(check.session_id, session.session_id), "session ids differ");
    pl_session refreshed;
    CHECK(pl_refresh_session(client, session.token, &refreshed, &error) == PL_OK, "refresh: %s", error.message);
    CHECK(!strcmp(refreshed.session_id, session.session_id) && refreshed.expires_at >= session.expires_at, "refresh changed the session");
    CHECK(pl_sign_out(client, refreshed.token, &error) == PL_OK, "sign out: %s", error.message);
    /* Servers learn of the sign-out within a second. */
    for (int attempt = 0; attempt < 30; attempt++) {
        if (pl_verify_session(client, refreshed.token, &check, &error) != PL_OK || !check.valid) break;
        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    }
    CHECK(!check.valid && !strcmp(check.reason, "ended"), "a signed-out session: valid %d reason %s", check.valid, check.reason);
    /* A link is never taken for a session. */
    CHECK(pl_verify_session(client, fixture.registration_token, &check, &error) == PL_OK && !check.valid,
          "a link taken for a session");
    pl_close(client);
}

typedef struct {
    pl_client *client;
    int wrong;
} worker;

static void *verify_from_a_thread(void *argument) {
    worker *w = argument;
    const test_case *valid = main_case(1), *invalid = main_case(0);
    for (int i = 0; i < 200; i++) {
        pl_verification result;
        pl_error error;
        const test_case *c = i % 2 ? valid : invalid;
        if (pl_verify(w->client, c->token, &result, &error) != PL_OK || result.valid != c->valid) w->wrong++;
    }
    return NULL;
}

static void test_one_client_shared_by_threads(void) {
    worker workers[4];
    pthread_t threads[4];
    pl_client *client = connect_or_die(options_for(fixture.port, fixture.all_key));
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker){.client = client};
        pthread_create(&threads[i], NULL, verify_from_a_thread, &workers[i]);
    }
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        wrong += workers[i].wrong;
    }
    CHECK(wrong == 0, "%d of 800 verifies from four threads went wrong", wrong);
    pl_close(client);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: conformance_test CASES.tsv (from tests/manifest_to_tsv.py)\n");
        return 2;
    }
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    load(argv[1]);
    test_every_case_over_plain_tcp();
    test_pipelined_batches();
    test_tls();
    test_protocol_errors();
    test_accounts();
    test_one_client_shared_by_threads();
    printf("%s: %d checks, %d failed (%d conformance cases)\n", failures ? "FAIL" : "ok", checks, failures, fixture.case_count);
    free(fixture.lines);
    return failures ? 1 : 0;
}
