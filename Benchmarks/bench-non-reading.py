#!/usr/bin/env python3
"""What a client that never reads its answers costs a running portal-links serve: N connections pipeline
calls for a few seconds without reading, first without a Hello (the server answers a few, then closes each), then
authenticated, pipelining Links.Verify (the server stops reading each once its answers wait: docs/protocol.md
promises at most 256 KiB a connection). Prints the server's resident memory growth per connection. Run with the
Python client's environment (scripts/python-env.sh).
Usage: bench-non-reading.py PORT SERVER_PID API_KEY TOKEN [N]"""
import os, select, socket, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "IntegrationTests"))
import harness  # noqa: E402

port, pid, key, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
count = int(sys.argv[5]) if len(sys.argv) > 5 else 200
SECONDS = 3.0


def rss_kib():
    return harness.rss_mib(pid) * 1024


def flood(sockets, data):
    """Writes `data` again and again on every socket for SECONDS, never reading; returns the peak RSS seen."""
    for s in sockets:
        s.setblocking(False)
    peak, offsets, end = rss_kib(), {s: 0 for s in sockets}, time.monotonic() + SECONDS
    live = list(sockets)
    while live and time.monotonic() < end:
        _, writable, _ = select.select([], live, [], 0.05)
        for s in writable:
            try:
                offsets[s] = (offsets[s] + s.send(data[offsets[s]:])) % len(data)
            except OSError:
                live.remove(s)
        peak = max(peak, rss_kib())
    return peak, len(sockets) - len(live)


def report(label, before, peak, closed):
    print(f"{count} non-reading connections, {label}: server RSS {before / 1024:.1f} MiB -> peak {peak / 1024:.1f} MiB, "
          f"{(peak - before) / count:.0f} KiB a connection; {closed} closed by the server")


verify = harness.verify_frame(token) * 400
before = rss_kib()
unauthenticated = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
peak, closed = flood(unauthenticated, verify)
report("without a Hello", before, peak, closed)
for s in unauthenticated:
    s.close()
time.sleep(1)

before = rss_kib()
authenticated = []
for _ in range(count):
    authenticated.append(harness.authenticated_socket(port, key))
peak, closed = flood(authenticated, verify)
report("authenticated, pipelining Links.Verify", before, peak, closed)
for s in authenticated:
    s.close()
