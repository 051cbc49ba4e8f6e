#!/usr/bin/env python3
"""Opens N idle connections (each authenticated with Hello) to a running portal-links serve and reports the
server's resident memory before and after. Run with the Python client's environment (scripts/python-env.sh).
Usage: bench-idle-connections.py PORT SERVER_PID API_KEY [N]"""
import os, socket, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "IntegrationTests"))
import harness  # noqa: E402

port, pid, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000

hello = harness.hello_frame(key)
before = harness.rss_mib(pid)
sockets = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hello)
    sockets.append(s)
answered = 0
for s in sockets:
    s.settimeout(10)
    answers = harness.Answers()
    while not (got := answers.feed(s.recv(4096))):
        pass
    answered += got[0][0] == harness.OK
time.sleep(1)
after = harness.rss_mib(pid)
print(f"{count} idle authenticated connections ({answered} hellos OK): server RSS {before:.1f} MiB -> "
      f"{after:.1f} MiB, {after - before:.1f} MiB more, {(after - before) * 1024 * 1024 / count:.0f} bytes per connection")
for s in sockets:
    s.close()
