"""What the integration suites share: free loopback ports, staff commands, `portal-links serve` started and
stopped as an operator would, and request frames built with the Python client's own codec
(`portal_links._wire`), so that no suite writes the protocol a second time.

Used by hostile_clients.py, crash_test.py, cluster.py and soak.py (IntegrationTests/), each run through the
Python client's environment (scripts/python-env.sh).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.request
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import portal_links
from portal_links import _wire
from portal_links.v1 import accounts_pb2, auth_pb2

HOST = "127.0.0.1"
BIN = os.environ.get("PORTAL_LINKS_BIN",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "debug", "portal-links"))

Method = _wire.Method
HEADER = _wire.HEADER  # version, flags, method or status, call id, deadline ms, payload length
OK, RESOURCE_EXHAUSTED, UNAUTHENTICATED = 0, 8, 16


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def staff(env: Mapping[str, str], *arguments: str, stdin: Optional[str] = None, timeout: float = 60) -> str:
    """A staff command that has to succeed, as an operator would type it; its standard output."""
    done = subprocess.run([BIN, *arguments], env=dict(env), input=stdin, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"portal-links {' '.join(arguments[:2])} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def die_with_parent() -> None:
    """In a child before exec: the kernel kills it if the suite dies without cleaning up."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------------------------
# Frames (docs/protocol.md)

def frame(method: int, call_id: int, payload: bytes, deadline_ms: int = 0) -> bytes:
    return _wire.request(method, call_id, deadline_ms, payload)


def hello_frame(key: str, call_id: int = 1) -> bytes:
    return frame(Method.AUTH_HELLO, call_id, auth_pb2.HelloRequest(api_key=key).SerializeToString())


def verify_frame(token: str, call_id: int = 1) -> bytes:
    return frame(Method.LINKS_VERIFY, call_id, _wire.verify_payload(token))


def sign_in_frame(email: str, password: str, call_id: int) -> bytes:
    return frame(Method.ACCOUNTS_SIGN_IN, call_id,
                 accounts_pb2.SignInRequest(email=email, password=password).SerializeToString())


class Answers:
    """Cuts response frames out of a byte stream: feed bytes, get (status, call id, payload) tuples."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> List[Tuple[int, int, bytes]]:
        self.buffer += data
        out = []
        while len(self.buffer) >= HEADER.size:
            version, _, status, call_id, _, length = HEADER.unpack_from(self.buffer)
            if version != _wire.RESPONSE_VERSION:
                raise RuntimeError(f"the server sent a frame with version byte 0x{version:02x}")
            if len(self.buffer) < HEADER.size + length:
                break
            out.append((status, call_id, bytes(self.buffer[HEADER.size:HEADER.size + length])))
            del self.buffer[:HEADER.size + length]
        return out


def authenticated_socket(port: int, key: str) -> socket.socket:
    """A raw connection that has said Hello with `key`."""
    s = socket.create_connection((HOST, port), timeout=5)
    s.sendall(hello_frame(key))
    answers = Answers()
    while not (got := answers.feed(s.recv(4096))):
        pass
    if got[0][0] != OK:
        raise RuntimeError(f"Hello refused with status {got[0][0]}")
    return s


# ---------------------------------------------------------------------------------------------------------------
# The server

class Serve:
    """`portal-links serve` on a loopback port chosen once (a restart listens on the same one), logging to a file;
    `start` returns once it answers Health with SERVING."""

    def __init__(self, env: Mapping[str, str], log_path: str, *options: str, metrics: bool = False,
                 port: Optional[int] = None) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.options: Sequence[str] = options
        self.port = port or free_port()
        self.metrics_port = free_port() if metrics else None
        self.http_port = free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None

    def command(self) -> List[str]:
        metrics = ["--metrics", f"{HOST}:{self.metrics_port}"] if self.metrics_port else []
        # The HTTP gateway on a port of its own unless the test chooses.
        http = [] if "--http" in self.options else ["--http", f"{HOST}:{self.http_port}"]
        return [BIN, "serve", "--listen", f"{HOST}:{self.port}", *metrics, *http, *self.options]

    def start(self, within: float = 30) -> float:
        """Starts it and waits until it serves; the seconds that took."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            preexec_fn=die_with_parent)
        started = time.monotonic()
        while time.monotonic() - started < within:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode} on start: {self.log_text()[-2000:]}")
            try:
                with portal_links.Client(HOST, self.port, connect_timeout=1, timeout=1) as probe:
                    if probe.health() == portal_links.ServingStatus.SERVING:
                        return time.monotonic() - started
            except (portal_links.PortalLinksError, OSError):
                time.sleep(0.02)
        raise RuntimeError(f"serve did not answer Health within {within} s; see {self.log_path}")

    def client(self, key: str, timeout: float = 10) -> portal_links.Client:
        return portal_links.Client(HOST, self.port, api_key=key, connect_timeout=5, timeout=timeout)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, within: float = 15) -> Optional[int]:
        """SIGTERM, as an operator stops it; its exit status (None if it had to be killed)."""
        if not self.running():
            return self.process.returncode if self.process else None
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL, unless it has exited already."""
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def cpu_seconds(self) -> float:
        """User and system CPU time the server has used so far (/proc/PID/stat)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metrics(self) -> Dict[str, float]:
        """The Prometheus text as {'name{labels}': value} (with `metrics=True`)."""
        assert self.metrics_port, "started without a metrics port"
        with urllib.request.urlopen(f"http://{HOST}:{self.metrics_port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def log_bytes(self) -> int:
        return os.path.getsize(self.log_path)

    def log_text(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()


def rss_mib(pid: int) -> float:
    """A process's resident memory (VmRSS) in MiB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
