"""Several `portal-links serve` nodes sharing one PostgreSQL behind HAProxy in TCP mode, on loopback.

    cluster.py test    the multi-node checks of `make cluster-test`
    cluster.py bench   Verify throughput through HAProxy with 1, 2 and 3 nodes (`make bench-cluster`)

Run by IntegrationTests/cluster.sh inside scripts/with-postgres.sh, which provides PORTAL_LINKS_TEST_POSTGRES (the
store) and PORTAL_LINKS_TEST_POSTGRES_CTL (start|stop|restart the database). PORTAL_LINKS_BIN is the
portal-links binary. Every process this starts is stopped on the way out.
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, List, Optional, Set, Tuple

import harness
import portal_links

BIN = harness.BIN
STORE = os.environ["PORTAL_LINKS_TEST_POSTGRES"]
DATABASE_CTL = os.environ["PORTAL_LINKS_TEST_POSTGRES_CTL"]
WORK = tempfile.mkdtemp(prefix="portal-links-cluster-")
# Every node and every staff command share the store and the master key; each has a home of its own.
ENV = dict(os.environ, PORTAL_LINKS_STORE=STORE, PORTAL_LINKS_MASTER_KEY=secrets.token_hex(32),
           PORTAL_LINKS_HOME=os.path.join(WORK, "staff"), PORTAL_LINKS_ACTOR="cluster-test")
failures: List[str] = []


# make test's scan for secrets (scripts/scan-secrets.py): the links and keys made here, and the nodes' logs.
CAPTURE = os.environ.get("PORTAL_LINKS_CAPTURE")
SECRETS: List[str] = []


def staff(*arguments: str) -> str:
    """A staff command, as an operator would type it; its output."""
    done = subprocess.run([BIN, *arguments], env=ENV, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"portal-links {' '.join(arguments[:2])} failed: {done.stderr.strip()}")
    SECRETS.extend(re.findall(r"plk_[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{40,}", done.stdout))
    return done.stdout.strip()


def capture_run() -> None:
    if not CAPTURE:
        return
    os.makedirs(os.path.join(CAPTURE, "secrets"), exist_ok=True)
    os.makedirs(os.path.join(CAPTURE, "output"), exist_ok=True)
    with open(os.path.join(CAPTURE, "secrets", f"cluster-{os.getpid()}"), "w") as file:
        file.write("\n".join(SECRETS) + "\n")
    for log in glob.glob(os.path.join(WORK, "*.log")):
        shutil.copy(log, os.path.join(CAPTURE, "output", f"cluster-{os.getpid()}-{os.path.basename(log)}"))


def check(condition: bool, what: str) -> None:
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        failures.append(what)


def wait_until(predicate: Callable[[], bool], seconds: float, step: float = 0.02) -> Optional[float]:
    """Seconds until `predicate` held, or None if it did not within `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if predicate():
                return time.monotonic() - start
        except (portal_links.PortalLinksError, OSError):
            pass
        time.sleep(step)
    return None


class Node(harness.Serve):
    def __init__(self, index: int) -> None:
        home = os.path.join(WORK, f"node{index}")
        os.makedirs(home, exist_ok=True)
        super().__init__(ENV, os.path.join(WORK, f"node{index}.log"), "--home", home, "--threads", "1",
                         "--hash-threads", "1", "--drain-timeout", "5s", "--log-level", "warning")
        self.index, self.home = index, home

    def stop(self, sig: int = signal.SIGTERM) -> int:  # type: ignore[override]
        """Sends `sig` (SIGTERM drains, SIGKILL is a crash) and waits; the exit status."""
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.process = None
        return code


class Balancer:
    """HAProxy in TCP mode, checking each node with a Health.Check call every 200 ms."""

    # Health.Check, call id 1, no payload; a SERVING answer is header 81 00 0000 00000001 00000000 00000002
    # followed by the HealthCheckResponse bytes 08 01. A draining node answers 08 02 and is taken out.
    CHECK_REQUEST = "01000001000000010000000000000000"
    CHECK_ANSWER = "810000000000000100000000000000020801"

    def __init__(self) -> None:
        self.port = harness.free_port()
        self.config = os.path.join(WORK, "haproxy.cfg")
        self.stats = os.path.join(WORK, "haproxy.sock")
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self, nodes: List[Node]) -> None:
        servers = "\n".join(f"    server node{n.index} 127.0.0.1:{n.port} check inter 200ms fall 1 rise 2" for n in nodes)
        with open(self.config, "w") as f:
            f.write(f"""global
    maxconn 4096
    stats socket {self.stats} mode 600
defaults
    mode tcp
    timeout connect 2s
    timeout client 5m
    timeout server 5m
    retries 2
    option redispatch
frontend portal_links
    bind 127.0.0.1:{self.port}
    default_backend nodes
backend nodes
    balance roundrobin
    option tcp-check
    tcp-check connect
    tcp-check send-binary {self.CHECK_REQUEST}
    tcp-check expect binary {self.CHECK_ANSWER}
{servers}
""")
        self.process = subprocess.Popen(["haproxy", "-f", self.config, "-db"], stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(WORK, "haproxy.log"), "ab"))
        if wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), 0.5).close() is None, 10, 0.1) is None:
            raise RuntimeError("haproxy did not start")

    def server_up(self, node: Node) -> bool:
        """Whether HAProxy's health check has `node` in service (its stats socket's `show stat`)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.stats)
            s.sendall(b"show stat\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        for line in answer.decode().splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "nodes" and fields[1] == f"node{node.index}":
                return fields[17].startswith("UP")
        return False

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def client(port: int, key: str) -> portal_links.Client:
    return portal_links.Client("127.0.0.1", port, api_key=key, connect_timeout=2.0, timeout=5.0)


def rejected_everywhere(nodes: List[Node], key: str, token: str, reasons: Set[str], within: float) -> Optional[float]:
    """Seconds until every node refuses `token` for one of `reasons` (each node asked directly), or None."""
    clients = [client(n.port, key) for n in nodes]
    try:
        return wait_until(lambda: all(c.verify(token).reason in reasons for c in clients), within)
    finally:
        for c in clients:
            c.close()


class Load:
    """Threads verifying one link through the balancer, each with a client of its own, counting what fails
    outright and what still fails after one retry (Verify has no side effects, so a front-end retries a call
    refused by a node that is shutting down; the client reconnects through the balancer by itself)."""

    def __init__(self, port: int, key: str, token: str, threads: int = 8) -> None:
        self.port, self.key, self.token = port, key, token
        self.stopping = threading.Event()
        self.calls = self.failed = self.failed_after_retry = self.invalid = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self) -> None:
        c = client(self.port, self.key)
        calls = failed = failed_after_retry = invalid = 0
        while not self.stopping.is_set():
            calls += 1
            try:
                invalid += not c.verify(self.token).valid
            except portal_links.PortalLinksError:
                failed += 1
                try:
                    invalid += not c.verify(self.token).valid
                except portal_links.PortalLinksError:
                    failed_after_retry += 1
        c.close()
        with self.lock:
            self.calls += calls
            self.failed += failed
            self.failed_after_retry += failed_after_retry
            self.invalid += invalid

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join()


def test() -> None:
    key = staff("callers", "add", "cluster-frontend", "--scopes", "verify,issue,accounts")
    acme = staff("issue", "--client", "acme", "--name", "Acme Corp", "--format", "token")
    nodes = [Node(i) for i in (1, 2, 3)]
    balancer = Balancer()
    try:
        for node in nodes:
            node.start()
        balancer.start(nodes)
        print(f"3 nodes on ports {[n.port for n in nodes]}, HAProxy on {balancer.port}, one PostgreSQL")

        # Register and verify through the balancer; the account is visible from every node.
        with client(balancer.port, key) as front:
            result = front.verify(acme)
            check(result.valid and result.client_id == "acme", "verify through HAProxy")
            email = f"ana-{secrets.token_hex(4)}@acme.example"
            account = front.register(acme, email, "correct horse battery staple")
            check(account.client_id == "acme", "register through HAProxy")
            session = front.sign_in(email, "correct horse battery staple").session
        for node in nodes:
            with client(node.port, key) as direct:
                check(direct.verify_session(session.token).valid, f"node {node.index} accepts the session")

        # Emergency rotation from the CLI: every node refuses the old key's links within a second.
        started = time.monotonic()
        staff("keys", "rotate", "--emergency")
        cli_done = time.monotonic() - started
        took = rejected_everywhere(nodes, key, acme, {"key_disabled"}, 5)
        check(took is not None and took <= 1.0,
              f"keys rotate --emergency: every node refuses the old links after {took if took is None else round(took, 3)} s (command took {cli_done:.2f} s)")

        # Revoking a client from the CLI.
        globex = staff("issue", "--client", "globex", "--format", "token")
        with client(balancer.port, key) as front:
            check(front.verify(globex).valid, "a link from the new primary verifies")
        staff("revoke", "client", "globex")
        # A link issued in the very second of the revocation is revoked one by one: link_revoked.
        took = rejected_everywhere(nodes, key, globex, {"client_revoked", "link_revoked"}, 5)
        check(took is not None and took <= 1.0,
              f"revoke client: every node refuses the client's links after {took if took is None else round(took, 3)} s")

        # SIGTERM one node while load runs through the balancer.
        fresh = staff("issue", "--client", "initech", "--format", "token")
        with Load(balancer.port, key, fresh) as load:
            time.sleep(1.0)
            code = nodes[1].stop(signal.SIGTERM)
            time.sleep(1.5)
        check(code == 0, f"node 2 drained and exited 0 on SIGTERM (exit {code})")
        check(load.invalid == 0, f"no valid link refused during the stop ({load.calls} calls)")
        check(load.failed <= len(load.threads),
              f"failed calls during the stop: {load.failed}, at most one per connection that was on node 2 "
              f"({len(load.threads)} connections)")
        check(load.failed_after_retry == 0, f"no Verify failed after one retry ({load.failed_after_retry})")
        nodes[1].start()
        took = wait_until(lambda: balancer.server_up(nodes[1]), 10, 0.1)
        check(took is not None, "node 2 restarted and HAProxy's health check has it serving again")

        # PostgreSQL down: nodes keep verifying from memory; back up: they catch up.
        subprocess.run([DATABASE_CTL, "stop"], check=True, capture_output=True)
        try:
            with Load(balancer.port, key, fresh, threads=4) as load:
                time.sleep(3.0)
            check(load.failed_after_retry == 0 and load.invalid == 0 and load.calls > 0,
                  f"PostgreSQL stopped: {load.calls} verifies through HAProxy, {load.failed_after_retry} failed")
        finally:
            subprocess.run([DATABASE_CTL, "start"], check=True, capture_output=True)
        staff("revoke", "link", json.loads(staff("verify", fresh, "--json"))["link_id"])
        took = rejected_everywhere(nodes, key, fresh, {"link_revoked"}, 15)
        check(took is not None, f"PostgreSQL back: every node picks up a revocation after {took if took is None else round(took, 3)} s")
    finally:
        balancer.stop()
        for node in nodes:
            if node.process:
                node.stop(signal.SIGKILL)
        capture_run()


def bench() -> None:
    key = staff("callers", "add", "cluster-bench", "--scopes", "verify")
    nodes = [Node(i) for i in (1, 2, 3)]
    seconds = os.environ.get("BENCH_CLUSTER_SECONDS", "5")

    def load(port: int) -> Tuple[float, float, int]:
        """requests/s, p99 ms and errors of Verify against `port`."""
        out = subprocess.run([BIN, "bench", "--connect", f"127.0.0.1:{port}", "--api-key", key, "-c", "48", "-P", "16",
                              "-z", f"{seconds}s", "--warmup", "1s", "--threads", "1", "--format", "json"],
                             env=ENV, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"bench failed: {out.stderr.strip()}")
        figures = json.loads(out.stdout)
        return figures["requests_per_second"], figures["latency_us"]["p99"] / 1000, figures["errors"]

    rows = []
    try:
        for node in nodes:
            node.start()
        rows.append(("one node, no balancer", *load(nodes[0].port)))
        for count in (1, 2, 3):
            balancer = Balancer()
            balancer.start(nodes[:count])
            try:
                rows.append((f"HAProxy, {count} node" + ("s" if count > 1 else ""), *load(balancer.port)))
            finally:
                balancer.stop()
    finally:
        for node in nodes:
            if node.process:
                node.stop(signal.SIGKILL)
    print(f"Links.Verify, 48 connections at depth 16 for {seconds} s, load generator on one thread:")
    print(f"{'':34} {'requests/s':>12} {'p99 ms':>8} {'errors':>7}")
    for label, rps, p99, errors in rows:
        print(f"{label:34} {rps:>12,.0f} {p99:>8.2f} {errors:>7}")
    print(f"This machine has {os.cpu_count()} cores shared by the load generator, HAProxy and every node, so these "
          "figures show the balancer's overhead, not how throughput scales with nodes; each node on a machine "
          "of its own adds its own capacity.")


if __name__ == "__main__":
    try:
        {"test": test, "bench": bench}[sys.argv[1]]()
    finally:
        subprocess.run(["rm", "-rf", WORK])
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
