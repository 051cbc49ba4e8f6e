#!/usr/bin/env python3
"""Opens N idle connections (each authenticated with Hello) to a running portal-links serve and reports the
server's resident memory before and after. Usage: bench-idle-connections.py PORT SERVER_PID API_KEY [N]"""
import socket, struct, sys, time

port, pid, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000

def rss_kib():
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

hello = bytes([0x0a, len(key)]) + key.encode()
frame = struct.pack(">BBHIII", 1, 0, 2, 1, 0, len(hello)) + hello
before = rss_kib()
sockets = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(frame)
    sockets.append(s)
answered = 0
for s in sockets:
    s.settimeout(10)
    header = b""
    while len(header) < 16:
        header += s.recv(16 - len(header))
    length = struct.unpack(">I", header[12:16])[0]
    body = b""
    while len(body) < length:
        body += s.recv(length - len(body))
    answered += header[3] == 0 and header[2] == 0
time.sleep(1)
after = rss_kib()
print(f"{count} idle authenticated connections ({answered} hellos OK): server RSS {before / 1024:.1f} MiB -> "
      f"{after / 1024:.1f} MiB, {(after - before) / 1024:.1f} MiB more, {(after - before) * 1024 / count:.0f} bytes per connection")
for s in sockets:
    s.close()
