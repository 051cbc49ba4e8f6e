// One load generator for both sides of the Redis comparison in bench-network.sh, so that the two servers
// are measured by the same client with the same definition of latency.
//
//   pipelined-load --port P --redis-get KEY            [-c 50] [-P 16] [-n 200000] [--warmup 20000] [--rate R]
//   pipelined-load --port P --verify TOKEN --api-key K [-c 50] [-P 16] [-n 200000] [--warmup 20000] [--rate R]
//
// Closed loop (no --rate): like redis-benchmark -P, each connection writes a batch of P requests, waits for
// all P answers and then writes the next batch. Unlike it, every call is timed from its batch's write to the
// read that completed its answer (redis-benchmark stops the clock at the first read of the batch, for all P
// calls, and starts it on a later turn of its loop).
// Open loop (--rate R calls/s over all connections): each connection sends one call at each of its intended
// times, keeping at most P unanswered, and every call is timed from its intended time, so that a slow answer
// delays nothing unmeasured. Both servers then face the same offered load, and their latencies compare.
// One thread, epoll, TCP_NODELAY, loopback. Prints one line of JSON.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1024
#define READ_CAPACITY (1 << 16)
#define HISTOGRAM_US 100000  // 1 µs buckets up to 100 ms; slower answers land in the last one

enum protocol { REDIS, PORTAL_LINKS };

struct connection {
    int fd;
    int awaiting;        // closed loop: answers still due for the current batch
    uint64_t batch_start;  // closed loop: when the batch was written (ns)
    uint32_t call_id;
    size_t have;         // unparsed answer bytes in `in`
    uint64_t next_due;   // open loop: the intended time of the next call
    uint64_t intended[1024];  // open loop: intended times of the unanswered calls, oldest at `oldest`
    int oldest, unanswered;
    uint8_t in[READ_CAPACITY];
};

static enum protocol protocol;
static int depth = 16;
static double rate;  // calls per second over all connections; 0 for the closed loop
static long requests = 200000, warmup = 20000, answered, failed;
static uint8_t *request;  // one request
static size_t request_length;
static uint64_t histogram[HISTOGRAM_US + 1];
static uint64_t measure_start;  // the end of the warm-up
static int epoll;
static long total, sent, outstanding;  // calls to send in all (warm-up included), sent so far, unanswered

static void die(const char *message) {
    fprintf(stderr, "pipelined-load: %s%s%s\n", message, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

// A request frame (docs/protocol.md) whose payload is one protobuf string field 1: HelloRequest.api_key or
// VerifyRequest.token.
static uint8_t *frame_with_string(uint16_t method, const char *text, size_t *length) {
    size_t n = strlen(text), varint = n < 128 ? 1 : n < 16384 ? 2 : 3, payload = 1 + varint + n;
    uint8_t *f = calloc(1, 16 + payload), *p = f + 16;
    f[0] = 0x01;
    f[2] = method >> 8; f[3] = method & 0xff;
    put32(f + 12, (uint32_t)payload);
    *p++ = 0x0a;
    for (size_t v = n; ; v >>= 7) { if (v < 128) { *p++ = (uint8_t)v; break; } *p++ = (uint8_t)(v | 0x80); }
    memcpy(p, text, n);
    *length = 16 + payload;
    return f;
}

// Length of the first complete answer in `bytes`, 0 when it has not fully arrived; sets *ok.
static size_t answer_length(const uint8_t *bytes, size_t have, int *ok) {
    if (protocol == PORTAL_LINKS) {
        if (have < 16) return 0;
        size_t total = 16 + get32(bytes + 12);
        *ok = bytes[0] == 0x81 && bytes[2] == 0 && bytes[3] == 0;
        return have >= total ? total : 0;
    }
    const uint8_t *end = memmem(bytes, have, "\r\n", 2);
    if (!end) return 0;
    size_t line = (size_t)(end - bytes) + 2;
    *ok = bytes[0] == '$' && bytes[1] != '-';
    if (bytes[0] != '$' || bytes[1] == '-') return line;
    size_t total = line + strtoul((const char *)bytes + 1, NULL, 10) + 2;
    return have >= total ? total : 0;
}

static void write_all(int fd, const uint8_t *bytes, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, bytes, length);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("write");  // a batch is small; the socket buffer takes it whole
        bytes += n; length -= (size_t)n;
    }
}

static void send_batch(struct connection *c, uint8_t *batch) {
    if (protocol == PORTAL_LINKS)
        for (int i = 0; i < depth; i++) put32(batch + (size_t)i * request_length + 4, ++c->call_id);
    c->awaiting = depth;
    c->batch_start = now_ns();
    write_all(c->fd, batch, request_length * (size_t)depth);
}

static void record(uint64_t nanoseconds) {
    uint64_t us = nanoseconds / 1000;
    histogram[us < HISTOGRAM_US ? us : HISTOGRAM_US]++;
}

static double percentile(double p) {
    uint64_t total = 0, seen = 0;
    for (size_t i = 0; i <= HISTOGRAM_US; i++) total += histogram[i];
    uint64_t rank = (uint64_t)(p / 100.0 * (double)total + 0.5);
    if (rank == 0) rank = 1;
    for (size_t i = 0; i <= HISTOGRAM_US; i++) { seen += histogram[i]; if (seen >= rank) return (double)i + 0.5; }
    return HISTOGRAM_US;
}

// Counts one answer that arrived at `arrived`, timed from its batch's write (closed loop) or from its
// intended send time (open loop).
static void count_answer(struct connection *c, uint64_t arrived, int ok) {
    uint64_t start = c->batch_start;
    if (rate > 0) {
        start = c->intended[c->oldest];
        c->oldest = (c->oldest + 1) % depth;
        c->unanswered--;
    } else {
        c->awaiting--;
    }
    outstanding--;
    if (++answered == warmup) measure_start = arrived;
    if (answered > warmup) { record(arrived - start); if (!ok) failed++; }
}

// Reads what one ready connection has and counts each whole answer in it.
static void read_answers(struct connection *c) {
    ssize_t n = read(c->fd, c->in + c->have, READ_CAPACITY - c->have);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) die("the server closed a connection");
    uint64_t arrived = now_ns();
    c->have += (size_t)n;
    size_t used = 0, length;
    int ok = 0;
    while ((length = answer_length(c->in + used, c->have - used, &ok)) > 0) {
        used += length;
        count_answer(c, arrived, ok);
    }
    memmove(c->in, c->in + used, c->have - used);
    c->have -= used;
}

static void closed_loop(struct connection *all, int connections, uint8_t *batch) {
    for (int i = 0; i < connections && sent < total; i++, sent += depth) send_batch(&all[i], batch);
    outstanding = sent;
    struct epoll_event events[MAX_CONNECTIONS];
    while (outstanding > 0) {
        int ready = epoll_wait(epoll, events, MAX_CONNECTIONS, 10000);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) die("no answer for 10 s");
        for (int e = 0; e < ready; e++) {
            struct connection *c = events[e].data.ptr;
            read_answers(c);
            if (c->awaiting == 0 && sent < total) { send_batch(c, batch); sent += depth; outstanding += depth; }
        }
    }
}

// Sends every call that has come due on `c`, while fewer than `depth` are unanswered; a call held back goes
// out as soon as an answer frees its place, still timed from its intended time.
static void send_due(struct connection *c, uint64_t now, uint64_t interval) {
    while (c->next_due <= now && c->unanswered < depth && sent < total) {
        if (protocol == PORTAL_LINKS) put32(request + 4, ++c->call_id);
        write_all(c->fd, request, request_length);
        c->intended[(c->oldest + c->unanswered) % depth] = c->next_due;
        c->unanswered++;
        c->next_due += interval;
        sent++;
        outstanding++;
    }
}

static void open_loop(struct connection *all, int connections) {
    prctl(PR_SET_TIMERSLACK, 1UL);  // wake at each call's time, not up to the default 50 µs later
    uint64_t interval = (uint64_t)(1e9 * connections / rate), start = now_ns();
    for (int i = 0; i < connections; i++) all[i].next_due = start + interval * (uint64_t)i / (uint64_t)connections;
    struct epoll_event events[MAX_CONNECTIONS];
    while (sent < total || outstanding > 0) {
        uint64_t now = now_ns(), next = UINT64_MAX;
        for (int i = 0; i < connections; i++) {
            send_due(&all[i], now, interval);
            if (sent < total && all[i].unanswered < depth && all[i].next_due < next) next = all[i].next_due;
        }
        uint64_t wait = next == UINT64_MAX ? 10000000000u : next > now ? next - now : 0;
        struct timespec timeout = { .tv_sec = (time_t)(wait / 1000000000u), .tv_nsec = (long)(wait % 1000000000u) };
        int ready = epoll_pwait2(epoll, events, MAX_CONNECTIONS, &timeout, NULL);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) die("epoll_pwait2");
        if (ready == 0 && next == UINT64_MAX) die("no answer for 10 s");
        for (int e = 0; e < ready; e++) read_answers(events[e].data.ptr);
    }
}

int main(int argc, char **argv) {
    int port = 0, connections = 50;
    const char *key = NULL, *token = NULL, *api_key = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *flag = argv[i], *value = argv[i + 1];
        if (!strcmp(flag, "--port")) port = atoi(value);
        else if (!strcmp(flag, "-c")) connections = atoi(value);
        else if (!strcmp(flag, "-P")) depth = atoi(value);
        else if (!strcmp(flag, "-n")) requests = atol(value);
        else if (!strcmp(flag, "--warmup")) warmup = atol(value);
        else if (!strcmp(flag, "--redis-get")) key = value;
        else if (!strcmp(flag, "--verify")) token = value;
        else if (!strcmp(flag, "--api-key")) api_key = value;
        else if (!strcmp(flag, "--rate")) rate = atof(value);
        else { errno = 0; die("unknown option (see the comment at the top of pipelined-load.c)"); }
    }
    errno = 0;
    if (port <= 0 || connections < 1 || connections > MAX_CONNECTIONS || depth < 1 || depth > 1024 || requests < 1 || rate < 0)
        die("needs --port, and -c 1...1024, -P 1...1024, -n > 0, --rate >= 0");
    if (!key == !token || (token && !api_key)) die("needs either --redis-get KEY or --verify TOKEN --api-key KEY");
    protocol = key ? REDIS : PORTAL_LINKS;
    if (protocol == REDIS) {
        char text[512];
        int n = snprintf(text, sizeof text, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(key), key);
        if (n < 0 || (size_t)n >= sizeof text) die("key too long");
        request = (uint8_t *)strdup(text);
        request_length = (size_t)n;
    } else {
        request = frame_with_string(3, token, &request_length);  // Links.Verify
    }
    uint8_t *batch = malloc(request_length * (size_t)depth);
    for (int i = 0; i < depth; i++) memcpy(batch + (size_t)i * request_length, request, request_length);

    epoll = epoll_create1(0);
    struct connection *all = calloc((size_t)connections, sizeof *all);
    for (int i = 0; i < connections; i++) {
        struct connection *c = &all[i];
        struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int one = 1;
        if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) die("socket");
        if (connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0) die("connect");
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (protocol == PORTAL_LINKS) {  // authenticate, blocking, before the timed loop
            size_t length;
            uint8_t *hello = frame_with_string(2, api_key, &length), header[16];
            write_all(c->fd, hello, length);
            free(hello);
            if (recv(c->fd, header, 16, MSG_WAITALL) != 16 || header[2] || header[3]) die("Auth.Hello refused");
            uint8_t skip[4096];
            for (size_t left = get32(header + 12); left > 0; ) {
                ssize_t n = recv(c->fd, skip, left < sizeof skip ? left : sizeof skip, 0);
                if (n <= 0) die("Auth.Hello answer");
                left -= (size_t)n;
            }
        }
        struct epoll_event event = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &event) < 0) die("epoll_ctl");
    }

    total = warmup + requests;
    measure_start = now_ns();  // replaced by the end of the warm-up, if there is one
    if (rate > 0) open_loop(all, connections); else closed_loop(all, connections, batch);
    double seconds = (double)(now_ns() - measure_start) / 1e9;
    printf("{\"requests\": %ld, \"failed\": %ld, \"requests_per_second\": %.0f, \"p50_us\": %.1f, \"p90_us\": %.1f, "
           "\"p99_us\": %.1f, \"p999_us\": %.1f}\n", answered - warmup, failed, (double)(answered - warmup) / seconds,
           percentile(50), percentile(90), percentile(99), percentile(99.9));
    return failed > 0;
}
