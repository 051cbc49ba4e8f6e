"""Hostile clients against a live `portal-links serve` on loopback, each scenario bounded in time.

    1. slow senders: 1,000 connections that send part of a frame and stop, and a few that trickle a byte at a time
    2. a connection flood past --max-connections
    3. a client that pipelines Links.Verify and never reads its answers
    4. brute force of API keys (Auth.Hello) and of one account's password (Accounts.SignIn)
    5. token scanning: random and mutated tokens at full rate
    6. unauthenticated callers that pipeline calls and never read: closed, each costing at most 256 KiB

Each scenario starts a server of its own (short timeouts, so that it runs in seconds) on a shared throw-away
home, and runs a well-behaved caller beside the attack: authenticated, verifying a valid link one call at a
time, in a process of its own so that the attack's CPU use in this script does not show in its latencies.
Prints measured figures and one `ok`/`FAIL` line per check, then exits 1 with one line naming the failed
checks. Checks listed in EXPECTED_FAILURES describe behaviour the server does not have yet: they print
XFAIL and do not fail the run (HOSTILE_STRICT=1 makes them count); one that passes prints XPASS and fails the
run, so that it is taken off the list.

    PORTAL_LINKS_BIN=.build/debug/portal-links .build-python/bin/python IntegrationTests/hostile-clients.py [1 2 ...]

(IntegrationTests/hostile-clients.sh finds the Python client's environment.) Every process started here is stopped
and the temporary home removed on the way out; the whole run stops itself after TIME_LIMIT seconds.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import random
import re
import resource
import secrets
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from typing import Any, Callable, Counter, Dict, Iterable, List, Optional, Sequence, Tuple

import harness
import portal_links
from harness import (HOST, RESOURCE_EXHAUSTED, UNAUTHENTICATED, Answers, authenticated_socket, frame, hello_frame,
                     sign_in_frame, verify_frame)

BIN = harness.BIN
TIME_LIMIT = 240  # seconds for the whole run; a normal run takes about a minute
STRICT = os.environ.get("HOSTILE_STRICT") == "1"

# Checks of behaviour the issue asks for and the server does not have yet (see the findings in the report that
# came with this script). Each stays strict: once the server has the behaviour, the check passes, the run says
# XPASS, and the line here goes.
EXPECTED_FAILURES: Dict[str, str] = {}

# Set by main() only: the attackers' processes import this file again (spawned), and must not make directories.
WORK = ""
ENV: Dict[str, str] = {}
EMAIL = "ana@acme.example"
PASSWORD = "correct horse battery " + secrets.token_hex(4)

failures: List[str] = []
known_gaps: List[str] = []
servers: List["Server"] = []
children: List[multiprocessing.process.BaseProcess] = []
# Spawned, not forked: this process has threads (the memory sampler) and thousands of sockets.
MP = multiprocessing.get_context("spawn")


# ---------------------------------------------------------------------------------------------------------------
# Checks and figures

def check(name: str, condition: bool, what: str) -> None:
    """One check, named so that EXPECTED_FAILURES can refer to it."""
    if name in EXPECTED_FAILURES and not STRICT:
        if condition:
            print(f"XPASS [{name}] {what}: passes now; take it off EXPECTED_FAILURES", flush=True)
            failures.append(name)
        else:
            print(f"XFAIL [{name}] {what}\n        known gap: {EXPECTED_FAILURES[name]}", flush=True)
            known_gaps.append(name)
        return
    print(f"{'ok   ' if condition else 'FAIL '} [{name}] {what}", flush=True)
    if not condition:
        failures.append(name)


def figure(text: str) -> None:
    print(f"      {text}", flush=True)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (sorted or not); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))]


def spread(seconds: Sequence[float]) -> str:
    """min / p50 / p99 / max of durations, in seconds."""
    if not seconds:
        return "none"
    return (f"min {min(seconds):.3f} s, p50 {percentile(seconds, 0.5):.3f} s, p99 {percentile(seconds, 0.99):.3f} s, "
            f"max {max(seconds):.3f} s")


# ---------------------------------------------------------------------------------------------------------------
# Frames (docs/protocol.md) come from the shared harness, built with the Python client's own codec.

def closed_by_peer(s: socket.socket) -> bool:
    """Whether the server has closed (FIN or reset) `s`, without reading what it sent."""
    poller = select.poll()
    poller.register(s, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(0))


# ---------------------------------------------------------------------------------------------------------------
# The installation, the server and what can be read from outside it

def staff(*arguments: str, stdin: Optional[str] = None) -> str:
    """A staff command, as an operator would type it; its output."""
    return harness.staff(ENV, *arguments, stdin=stdin)


class Server(harness.Serve):
    """`portal-links serve` on free loopback ports with a metrics endpoint, logging to a file of its own."""

    def __init__(self, name: str, *options: str) -> None:
        super().__init__(ENV, os.path.join(WORK, f"{name}.log"), "--drain-timeout", "2s", *options, metrics=True)
        self.name = name

    def __enter__(self) -> "Server":
        servers.append(self)
        self.start(within=30)
        self.metrics()
        return self

    def __exit__(self, *_: object) -> None:
        pass  # left running for check_server_survived(); main() kills whatever is left


def check_server_survived(scenario: str, server: Server) -> None:
    """The server is still up after the attack, and drains and exits 0 on SIGTERM."""
    alive = server.running()
    code = server.stop()
    check(f"{scenario}.server-survived", alive and code == 0,
          f"the server survived the attack and exited {code} on SIGTERM" if alive else
          f"the server died during the attack (exit {server.process.returncode if server.process else '?'})")
    if not (alive and code == 0):
        for line in server.log_text().splitlines()[-15:]:
            figure(f"log: {line}")


class MemorySampler:
    """Samples the server's resident memory (VmRSS) every 20 ms in a thread: before, peak and latest."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.samples: List[Tuple[float, float]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.samples.append((time.monotonic(), self.server.rss_mib()))
            except (OSError, StopIteration):
                return
            self.stopping.wait(0.02)

    def __enter__(self) -> "MemorySampler":
        self.samples.append((time.monotonic(), self.server.rss_mib()))
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join()

    @property
    def before(self) -> float:
        return self.samples[0][1]

    def peak(self) -> float:
        return max(rss for _, rss in self.samples)

    @property
    def latest(self) -> float:
        return self.samples[-1][1]

    def describe(self) -> str:
        return f"server RSS before {self.before:.1f} MiB, peak {self.peak():.1f} MiB, after {self.latest:.1f} MiB"


# ---------------------------------------------------------------------------------------------------------------
# The well-behaved caller: its own process, authenticated clients, one Links.Verify at a time

def probe_main(port: int, key: str, token: str, clients: int, interval: float, ready: Any, stop: Any, out: Any) -> None:
    """Verifies `token` round-robin over `clients` connections, one call at a time, `interval` seconds apart,
    until `stop`; puts ([(started, seconds, valid)], [(started, error)]) on `out`. Times are time.monotonic(),
    which is the same clock in every process."""
    connections = [portal_links.Client(HOST, port, api_key=key, connect_timeout=2, timeout=2) for _ in range(clients)]
    ready.set()
    samples: List[Tuple[float, float, bool]] = []
    errors: List[Tuple[float, str]] = []
    turn = 0
    while not stop.is_set():
        client = connections[turn % clients]
        turn += 1
        started = time.monotonic()
        try:
            valid = client.verify(token).valid
            samples.append((started, time.monotonic() - started, valid))
        except portal_links.PortalLinksError as error:
            errors.append((started, str(error)))
        time.sleep(interval)
    for client in connections:
        client.close()
    out.put((samples, errors))


class Prober:
    """The well-behaved caller as a context manager; `window(start, end)` summarises the calls started then."""

    def __init__(self, server: Server, key: str, token: str, clients: int = 1, interval: float = 0.002) -> None:
        self.ready, self.stop, self.out = MP.Event(), MP.Event(), MP.Queue()
        self.process = MP.Process(target=probe_main, args=(server.port, key, token, clients, interval, self.ready,
                                                           self.stop, self.out), daemon=True)
        self.samples: List[Tuple[float, float, bool]] = []
        self.errors: List[Tuple[float, str]] = []

    def __enter__(self) -> "Prober":
        children.append(self.process)
        self.process.start()
        if not self.ready.wait(30):
            raise RuntimeError("the well-behaved caller could not connect")
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.samples, self.errors = self.out.get(timeout=30)
        self.process.join(10)

    def window(self, start: float = 0.0, end: float = float("inf")) -> Dict[str, Any]:
        chosen = [(seconds, valid) for started, seconds, valid in self.samples if start <= started <= end]
        latencies = [seconds * 1000 for seconds, _ in chosen]
        return {"calls": len(chosen), "invalid": sum(1 for _, valid in chosen if not valid),
                "errors": sum(1 for started, _ in self.errors if start <= started <= end),
                "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
                "max": max(latencies, default=0.0)}

    @staticmethod
    def describe(stats: Dict[str, Any]) -> str:
        return (f"{stats['calls']} verifies, {stats['errors']} failed, {stats['invalid']} invalid; latency p50 "
                f"{stats['p50']:.2f} ms, p99 {stats['p99']:.2f} ms, max {stats['max']:.2f} ms")

    def first_errors(self) -> str:
        return "; ".join(error for _, error in self.errors[:3])


def start_child(target: Callable[..., None], *arguments: Any) -> Tuple[multiprocessing.process.BaseProcess, Any]:
    """An attacker in a process of its own (this one's GIL would slow it and the measurements down); its queue."""
    out = MP.Queue()
    process = MP.Process(target=target, args=(*arguments, out), daemon=True)
    children.append(process)
    process.start()
    return process, out


def child_result(process: multiprocessing.process.BaseProcess, out: Any, timeout: float) -> Any:
    result = out.get(timeout=timeout)
    process.join(10)
    return result


# ---------------------------------------------------------------------------------------------------------------
# 1. Slow senders: part of a frame, then nothing (or a byte now and then)

PARTIAL_CONNECTIONS = 1_000
TRICKLING_CONNECTIONS = 20
FRAME_TIMEOUT = 2.0
CLOSE_MARGIN = 1.5  # seconds after the frame timeout by which every slow sender must be closed (a loaded machine)


def watch_for_close(sockets: Dict[socket.socket, float], until: float,
                    tick: Callable[[], None] = lambda: None) -> Tuple[Dict[socket.socket, float], int]:
    """Waits until the server has closed every socket in `sockets` (socket -> time its frame began) or `until`;
    returns socket -> seconds from its frame's start to EOF or reset, and how many sent an answer."""
    selector = selectors.DefaultSelector()
    for s in sockets:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
    closed: Dict[socket.socket, float] = {}
    answered = 0
    while len(closed) < len(sockets) and time.monotonic() < until:
        tick()
        for key, _ in selector.select(0.02):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if data:
                answered += 1
                continue
            closed[s] = time.monotonic() - sockets[s]
            selector.unregister(s)
    selector.close()
    return closed, answered


def scenario_slow_senders(key: str, token: str) -> None:
    print(f"\n== 1. {PARTIAL_CONNECTIONS} connections send part of a frame and stop; {TRICKLING_CONNECTIONS} more "
          f"send a byte every 0.25 s (--frame-timeout {FRAME_TIMEOUT:g}s)")
    with Server("1-slow-senders", "--frame-timeout", f"{FRAME_TIMEOUT:g}s", "--max-connections", "2000",
                "--max-connections-per-address", "2000") as server, \
            MemorySampler(server) as memory, Prober(server, key, token) as prober:
        time.sleep(0.5)
        attack_start = time.monotonic()
        whole = verify_frame(token)
        # Half of them stop inside the header, half inside the payload: the server must time out both.
        parts = [whole[:8], whole[:len(whole) // 2]]
        began: Dict[socket.socket, float] = {}
        for index in range(PARTIAL_CONNECTIONS):
            s = socket.create_connection((HOST, server.port), timeout=5)
            s.sendall(parts[index % 2])
            began[s] = time.monotonic()
        opened_in = time.monotonic() - attack_start
        # Trickling slow senders (slowloris): steady progress must not keep a frame alive past the timeout.
        trickling: Dict[socket.socket, float] = {}
        sent_bytes: Dict[socket.socket, int] = {}
        for _ in range(TRICKLING_CONNECTIONS):
            s = socket.create_connection((HOST, server.port), timeout=5)
            s.sendall(whole[:1])
            trickling[s], sent_bytes[s] = time.monotonic(), 1
        last_trickle = [time.monotonic()]

        def trickle() -> None:
            if time.monotonic() - last_trickle[0] < 0.25:
                return
            last_trickle[0] = time.monotonic()
            for s, count in sent_bytes.items():
                try:
                    s.send(whole[count:count + 1])
                    sent_bytes[s] = count + 1
                except OSError:
                    pass  # closed by the server; the watch below sees it

        everyone = {**began, **trickling}
        closed, answered = watch_for_close(everyone, time.monotonic() + FRAME_TIMEOUT + CLOSE_MARGIN + 2, trickle)
        attack_end = time.monotonic()
        time.sleep(0.3)
        open_after = server.metrics()["portal_links_open_connections"]
        for s in everyone:
            s.close()

    partial_times = [closed[s] for s in began if s in closed]
    trickle_times = [closed[s] for s in trickling if s in closed]
    figure(f"opened {PARTIAL_CONNECTIONS} in {opened_in:.2f} s; closed by the server after (from each one's first byte): "
           f"{spread(partial_times)}")
    figure(f"trickling senders ({max(sent_bytes.values())} bytes at most): closed after {spread(trickle_times)}")
    figure(memory.describe())
    baseline = prober.window(attack_start - 0.5, attack_start)
    during = prober.window(attack_start, attack_end)
    figure(f"well-behaved caller before the attack: {Prober.describe(baseline)}")
    figure(f"well-behaved caller during the attack: {Prober.describe(during)}")
    # What this catches is a caller waiting on the attackers (their frame timeouts are seconds). Accepting and
    # then closing 1,000 connections in bursts costs the event loop a few milliseconds on a debug build on a
    # busy 2-core machine, which lands in the p99 of a few hundred calls: hence the margin over the baseline.
    # Seen at 10.5, 10.8 and 15.2 ms on loaded runs (load average 2 before the suite started); a caller held by
    # the attackers would wait a frame timeout, 2,000 ms.
    caller_limit = max(25.0, 3 * baseline["p99"])
    limit = FRAME_TIMEOUT + CLOSE_MARGIN
    check("1.partial-frames-closed", len(partial_times) == PARTIAL_CONNECTIONS and max(partial_times) <= limit,
          f"{len(partial_times)}/{PARTIAL_CONNECTIONS} partial-frame connections closed by the server, the last after "
          f"{max(partial_times, default=float('nan')):.3f} s (limit: timeout {FRAME_TIMEOUT:g} s + {CLOSE_MARGIN:g} s)")
    check("1.partial-frames-not-early", min(partial_times + trickle_times, default=0) >= FRAME_TIMEOUT - 0.05,
          f"none closed before the frame timeout (first after {min(partial_times + trickle_times, default=0):.3f} s)")
    check("1.trickling-closed", len(trickle_times) == TRICKLING_CONNECTIONS and max(trickle_times, default=99) <= limit,
          f"{len(trickle_times)}/{TRICKLING_CONNECTIONS} trickling connections closed, the last after "
          f"{max(trickle_times, default=float('nan')):.3f} s")
    check("1.no-answers", answered == 0, f"no answer was sent on an unfinished frame ({answered})")
    check("1.connections-released", open_after == 1,
          f"open connections after the attack: {open_after:.0f} (the well-behaved caller's)")
    check("1.caller-p99", during["calls"] > 100 and during["errors"] == 0 and during["invalid"] == 0
          and during["p99"] < caller_limit,
          f"well-behaved caller: {during['calls']} verifies, {during['errors']} failed, p99 {during['p99']:.2f} ms "
          f"(limit: 25 ms or 3x the {baseline['p99']:.2f} ms before){'; ' + prober.first_errors() if prober.errors else ''}")
    check_server_survived("1", server)


# ---------------------------------------------------------------------------------------------------------------
# 2. A connection flood past --max-connections

MAX_CONNECTIONS = 200
ESTABLISHED = 10  # the well-behaved caller's connections, open before the flood
FLOOD = 600
REFUSE_WITHIN = 1.0  # seconds within which a connection over the limit must be closed


def scenario_flood(key: str, token: str) -> None:
    print(f"\n== 2. {FLOOD} connections at once against --max-connections {MAX_CONNECTIONS}, "
          f"{ESTABLISHED} callers connected before")
    with Server("2-flood", "--max-connections", str(MAX_CONNECTIONS), "--frame-timeout", f"{FRAME_TIMEOUT:g}s") as server, \
            MemorySampler(server) as memory, Prober(server, key, token, clients=ESTABLISHED) as prober:
        time.sleep(0.5)
        open_before = server.metrics()["portal_links_open_connections"]
        flood_start = time.monotonic()
        opened: Dict[socket.socket, float] = {}
        connect_errors = 0
        for _ in range(FLOOD):
            try:
                s = socket.create_connection((HOST, server.port), timeout=2)
                opened[s] = time.monotonic()
            except OSError:
                connect_errors += 1
        opened_in = time.monotonic() - flood_start
        # A new front-end while the flood holds every slot.
        try:
            portal_links.Client(HOST, server.port, api_key=key, connect_timeout=2, timeout=2).close()
            newcomer_during = "accepted"
        except portal_links.PortalLinksError as error:
            newcomer_during = f"refused ({error})"
        # Every connection over the limit is closed at once. The admitted ones never send anything, not even a
        # Hello, so they are closed after the frame timeout without traffic.
        closed, _ = watch_for_close(opened, time.monotonic() + FRAME_TIMEOUT + CLOSE_MARGIN)
        refused_times = [t for t in closed.values() if t <= REFUSE_WITHIN]
        silent_times = [t for t in closed.values() if t > REFUSE_WITHIN]
        still_open = [s for s in opened if s not in closed]
        peak = memory.peak()
        for s in opened:
            s.close()
        flood_end = time.monotonic()
        accepted_after = accept_again(server, key, token)
        time.sleep(0.2)

    admitted = len(opened) - len(refused_times)
    figure(f"opened {len(opened)} in {opened_in:.2f} s ({connect_errors} connect errors); {len(refused_times)} closed by "
           f"the server after {spread(refused_times)}; {admitted} admitted, of which {len(silent_times)} were closed "
           f"after {spread(silent_times)} for never saying Hello (--frame-timeout {FRAME_TIMEOUT:g}s), {len(still_open)} still open")
    figure(f"a new front-end during the flood: {newcomer_during}")
    figure(f"{memory.describe()}; growth at peak {peak - memory.before:.1f} MiB")
    refused_logged = server.log_text().count("refusing a connection")
    figure(f"server log: {refused_logged} 'refusing a connection' lines (one per refused connection)")
    during = prober.window(flood_start, flood_end)
    figure(f"callers connected before the flood: {Prober.describe(during)}")
    room = MAX_CONNECTIONS - int(open_before)
    check("2.admitted-up-to-limit", admitted == room,
          f"{admitted} flood connections admitted, exactly the {room} free slots ({int(open_before)} in use before)")
    check("2.silent-connections-closed", not still_open and all(FRAME_TIMEOUT - 0.1 <= t <= FRAME_TIMEOUT + CLOSE_MARGIN for t in silent_times),
          f"the admitted connections, silent, were closed after the frame timeout ({spread(silent_times)}; "
          f"{len(still_open)} still open)")
    check("2.extra-refused-promptly", len(refused_times) == len(opened) - room and max(refused_times, default=0) <= REFUSE_WITHIN,
          f"{len(refused_times)} connections over the limit closed, the last {max(refused_times, default=0):.3f} s "
          f"after connecting (limit {REFUSE_WITHIN:g} s)")
    check("2.established-callers-work", during["calls"] > 100 and during["errors"] == 0 and during["invalid"] == 0,
          f"callers connected before kept verifying: {during['calls']} calls, {during['errors']} failed"
          f"{'; ' + prober.first_errors() if prober.errors else ''}")
    check("2.memory-bounded", peak - memory.before <= 16,
          f"server RSS grew {peak - memory.before:.1f} MiB at the peak of the flood (limit 16 MiB)")
    check("2.accepting-again", accepted_after is not None and accepted_after <= 2.0,
          f"once the flood closed, a new front-end connected and verified after "
          f"{'never' if accepted_after is None else f'{accepted_after:.3f} s'} (limit 2 s)")
    check_server_survived("2", server)


def accept_again(server: Server, key: str, token: str) -> Optional[float]:
    """Seconds until a new client can connect, say Hello and verify, or None within 5 s."""
    start = time.monotonic()
    while time.monotonic() - start < 5:
        try:
            with portal_links.Client(HOST, server.port, api_key=key, connect_timeout=1, timeout=1) as client:
                if client.verify(token).valid:
                    return time.monotonic() - start
        except portal_links.PortalLinksError:
            time.sleep(0.02)
    return None


# ---------------------------------------------------------------------------------------------------------------
# 3. Pipelining Links.Verify without ever reading the answers

WRITE_FOR = 8.0  # seconds at most of writing before giving up on the writes blocking
BLOCKED_AFTER = 1.0  # seconds without progress that count as blocked
HOLD_TIMEOUT = 3.0  # --frame-timeout of the first server
GROUP = 8  # non-reading connections at once, for what each costs
GROUP_FRAME_TIMEOUT = 6.0  # --frame-timeout of the second server: long enough for all of them to block first


def flood_without_reading(sockets: List[socket.socket], frames: bytes, seconds: float) -> Dict[str, Any]:
    """Writes `frames` over and over on every socket, never reading, until each has made no progress for
    BLOCKED_AFTER seconds, or `seconds` pass, or the server resets it. Returns bytes sent, when the last write
    went through (monotonic), and which sockets were reset."""
    view = memoryview(frames)
    state = {s: {"offset": 0, "sent": 0, "progress": time.monotonic(), "reset": None} for s in sockets}
    for s in sockets:
        s.setblocking(False)
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        live = [s for s in sockets if state[s]["reset"] is None]
        if not live or all(time.monotonic() - state[s]["progress"] >= BLOCKED_AFTER for s in live):
            break
        _, writable, _ = select.select([], live, [], 0.1)
        for s in writable:
            entry = state[s]
            try:
                sent = s.send(view[entry["offset"]:])
            except BlockingIOError:
                continue
            except OSError:
                entry["reset"] = time.monotonic()
                continue
            # Frames stay whole: the next write starts where this one stopped.
            entry["offset"] = (entry["offset"] + sent) % len(frames)
            entry["sent"] += sent
            entry["progress"] = time.monotonic()
    return {"sent": sum(e["sent"] for e in state.values()),
            "last_progress": max(e["progress"] for e in state.values()),
            "blocked": all(e["reset"] is None and time.monotonic() - e["progress"] >= BLOCKED_AFTER for e in state.values()),
            "reset": [s for s in sockets if state[s]["reset"] is not None]}


def server_queues(port: int) -> Tuple[int, int]:
    """Bytes in the kernel's receive and send queues of the server's side of its connections (ss)."""
    out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                         text=True, timeout=10).stdout
    receive = send = 0
    for line in out.splitlines():
        fields = line.split()
        receive, send = receive + int(fields[0]), send + int(fields[1])
    return receive, send


def client_send_queue(port: int) -> int:
    """Bytes waiting in the kernel's send queues of this script's connections to `port` (ss)."""
    out = subprocess.run(["ss", "-tnH", "state", "established", f"( dport = :{port} )"], capture_output=True,
                         text=True, timeout=10).stdout
    return sum(int(line.split()[1]) for line in out.splitlines())


def watch_resets(sockets: List[socket.socket], since: float, seconds: float) -> List[float]:
    """Seconds after `since` at which the server closed or reset each of `sockets` that it did, watching until
    `seconds` after `since`, without reading."""
    closed: Dict[socket.socket, float] = {}
    while time.monotonic() - since < seconds and len(closed) < len(sockets):
        for s in sockets:
            if s not in closed and closed_by_peer(s):
                closed[s] = time.monotonic() - since
        time.sleep(0.05)
    return sorted(closed.values())


def scenario_not_reading(key: str, token: str, revoked: str) -> None:
    print(f"\n== 3. a caller pipelines Links.Verify and never reads the answers (--frame-timeout {HOLD_TIMEOUT:g}s)")
    # The non-reading caller verifies a revoked link: the answer carries every field (as large as a valid one's),
    # and its results are told apart from the well-behaved caller's in the metrics.
    frame_bytes = verify_frame(revoked)
    frames = frame_bytes * 800
    with Server("3-not-reading", "--frame-timeout", f"{HOLD_TIMEOUT:g}s") as server, \
            MemorySampler(server) as memory, Prober(server, key, token) as prober:
        time.sleep(1.0)
        attack_start = time.monotonic()
        hostile = authenticated_socket(server.port, key)
        written = flood_without_reading([hostile], frames, WRITE_FOR)
        blocked_at = written["last_progress"]
        queues = server_queues(server.port)
        client_queue = client_send_queue(server.port)
        answered = server.metrics()['portal_links_verify_results_total{result="link_revoked"}']
        rss_blocked = memory.peak()
        # Keep not reading, well past the frame timeout, and see what the server does with the connection.
        resets = watch_resets([hostile], blocked_at, HOLD_TIMEOUT + 2.0)
        attack_end = time.monotonic()
        rss_peak = memory.peak()
        hostile.close()
        time.sleep(0.5)

    baseline = prober.window(attack_start - 0.9, attack_start)
    during = prober.window(attack_start, attack_end)
    after = prober.window(attack_end, attack_end + 0.5)
    sent_frames = written["sent"] // len(frame_bytes)
    figure(f"sent {written['sent'] / 2**20:.1f} MiB ({sent_frames:,} calls) before the writes blocked, "
           f"{blocked_at - attack_start:.2f} s in; the server answered {answered:,.0f} of them and stopped reading")
    figure(f"kernel queues then: server side {queues[0] / 2**20:.1f} MiB of calls received and not read, "
           f"{queues[1] / 2**20:.1f} MiB of answers the client has not taken; client side "
           f"{client_queue / 2**20:.1f} MiB of calls not yet sent")
    figure(f"{memory.describe()}; growth {rss_blocked - memory.before:.1f} MiB when the writes blocked, "
           f"{rss_peak - memory.before:.1f} MiB at the peak")
    figure("the connection was " + (f"reset by the server {resets[0]:.2f} s after the writes blocked" if resets
                                    else f"still open {HOLD_TIMEOUT + 2:g} s after the writes blocked"))
    figure(f"well-behaved caller before: {Prober.describe(baseline)}")
    figure(f"well-behaved caller during: {Prober.describe(during)}")
    figure(f"well-behaved caller after:  {Prober.describe(after)}")
    check("3.server-stops-reading", (written["blocked"] or bool(written["reset"])) and answered < sent_frames,
          f"the caller's writes blocked {blocked_at - attack_start:.2f} s in (limit {WRITE_FOR:g} s); the server read "
          f"{answered:,.0f} of {sent_frames:,} calls")
    check("3.memory-bounded", rss_peak - memory.before <= 4,
          f"server RSS grew {rss_peak - memory.before:.1f} MiB for the non-reading connection (limit 4 MiB)")
    check("3.caller-unaffected", during["calls"] > 100 and during["errors"] == 0 and during["invalid"] == 0
          and during["p99"] < max(10.0, 3 * baseline["p99"]),
          f"well-behaved caller meanwhile: {during['calls']} verifies, {during['errors']} failed, p99 {during['p99']:.2f} ms "
          f"(limit: 10 ms or 3x the {baseline['p99']:.2f} ms before)")
    check_server_survived("3", server)
    group_resets = several_not_reading(key, frames)
    # Whether a connection is reset depends on where the server's last read ended (inside a frame or not), so
    # the check looks at all nine.
    check("3.not-reading-connection-held", not resets and not group_resets,
          f"the server holds non-reading connections with their calls well past the frame timeout "
          f"({len(resets) + len(group_resets)} of {1 + GROUP} reset)")


def several_not_reading(key: str, frames: bytes) -> List[float]:
    """GROUP non-reading connections at once: what each costs the server while it holds it, and which it resets
    (seconds after their writes blocked)."""
    print(f"   {GROUP} such callers at once (--frame-timeout {GROUP_FRAME_TIMEOUT:g}s)")
    with Server("3-not-reading-group", "--frame-timeout", f"{GROUP_FRAME_TIMEOUT:g}s") as server:
        # One such connection first, held throughout: the server's one-off costs (its allocator's arenas, its
        # buffer pools) are then paid before the baseline, and the growth is what each further one costs.
        first = [authenticated_socket(server.port, key)]
        flood_without_reading(first, frames, WRITE_FOR)
        with MemorySampler(server) as memory:
            hostile = [authenticated_socket(server.port, key) for _ in range(GROUP)]
            written = flood_without_reading(hostile, frames, WRITE_FOR)
            queues = server_queues(server.port)
            growth = memory.peak() - memory.before
            resets = watch_resets(hostile, written["last_progress"], GROUP_FRAME_TIMEOUT + 2.0)
            for s in hostile + first:
                s.close()
            server.stop()
    figure(f"{'all blocked' if written['blocked'] else 'not all blocked'} after {written['sent'] / 2**20:.0f} MiB sent: "
           f"server RSS +{growth:.1f} MiB, {growth / GROUP:.2f} MiB each; kernel queues of the server's side "
           f"{queues[0] / GROUP / 2**20:.1f} MiB received + {queues[1] / GROUP / 2**20:.1f} MiB to send each")
    figure(f"reset by the server: {len(resets)} of {GROUP}, " + (f"{resets[0]:.2f} to {resets[-1]:.2f} s after the last "
                                                                  f"write went through" if resets else "none"))
    check("3.memory-per-connection", growth / GROUP <= 0.25,
          f"each non-reading connection costs the server {growth / GROUP:.2f} MiB of RSS (limit 256 KiB: the 64 KiB "
          f"write buffer, 16 KiB of answers being gathered and 4 reads of up to 16 KiB of calls held)")
    return resets


# ---------------------------------------------------------------------------------------------------------------
# 4. Brute force: API keys (Auth.Hello) and one account's password (Accounts.SignIn)

HELLO_SECONDS = 3.0
HELLO_PROCESSES = 2
HELLO_CONNECTIONS = 32  # per process, each sending HELLOS_PER_CONNECTION wrong keys at once
HELLOS_PER_CONNECTION = 4  # one more than the server allows, to see the connection end
LOCKOUT_ATTEMPTS = 5
LOCKOUT_SECONDS = 3
SIGN_IN_SECONDS = 4.0
SIGN_IN_IN_FLIGHT = 96  # more than --hash-queue's 64: a full-rate attacker


# ---------------------------------------------------------------------------------------------------------------
# 6. Unauthenticated callers that pipeline calls and never read

UNAUTHENTICATED_CALLERS = 40
HEALTH_CHECKERS = 40
HEALTH_FLOOD_SECONDS = 3.0
UNAUTHENTICATED_BOUND_KIB = 256  # what one such connection may cost the server (docs/protocol.md)


def scenario_unauthenticated_not_reading(key: str, token: str) -> None:
    print(f"\n== 6. {UNAUTHENTICATED_CALLERS} connections pipeline calls without a Hello and never read; "
          f"{HEALTH_CHECKERS} more pipeline Health checks (which need no Hello) and never read")
    calls = b"".join(frame(method, index, b"") for index in range(1, 2001) for method in (0, 3))
    health = b"".join(frame(1, index, b"") for index in range(1, 4001))
    with Server("6-unauthenticated") as server, MemorySampler(server) as memory, Prober(server, key, token) as prober:
        time.sleep(0.5)
        attack_start = time.monotonic()
        sockets = [socket.create_connection((HOST, server.port), timeout=5) for _ in range(UNAUTHENTICATED_CALLERS)]
        written = flood_without_reading(sockets, calls, WRITE_FOR)
        closed, _ = watch_for_close({s: attack_start for s in sockets}, time.monotonic() + 3.0)
        refused = sum(v for k, v in server.metrics().items()
                      if k.startswith("portal_links_requests_total") and ("UNAUTHENTICATED" in k or "UNIMPLEMENTED" in k))
        for s in sockets:
            s.close()
        # Health answers pile up for a client that never reads them until the server stops reading its calls.
        before_health, health_start = memory.latest, time.monotonic()
        checkers = [socket.create_connection((HOST, server.port), timeout=5) for _ in range(HEALTH_CHECKERS)]
        # Loopback's kernel buffers hold megabytes of answers for them: the server keeps working for these
        # clients for a long while, each at its turn, so the flood runs for a fixed time rather than until it blocks.
        held = flood_without_reading(checkers, health, HEALTH_FLOOD_SECONDS)
        queued_kib = (max(rss for at, rss in memory.samples if at >= health_start) - before_health) * 1024
        for s in checkers:
            s.close()
        attack_end = time.monotonic()
    during = prober.window(attack_start, attack_end)
    figure(f"calls without a Hello: sent {written['sent'] / 2**20:.1f} MiB; {len(closed)} of {UNAUTHENTICATED_CALLERS} connections "
           f"closed by the server after {refused / UNAUTHENTICATED_CALLERS:.0f} answers each")
    figure(f"Health without reading: sent {held['sent'] / 2**20:.1f} MiB in {HEALTH_FLOOD_SECONDS:g} s; server RSS grew "
           f"{queued_kib:,.0f} KiB ({queued_kib / HEALTH_CHECKERS:,.0f} KiB a connection); {memory.describe()}")
    figure(f"well-behaved caller during: {Prober.describe(during)} (the server does every caller's calls in turn, "
           f"and these make it busy)")
    check("6.closed", len(closed) == UNAUTHENTICATED_CALLERS and refused <= 16 * UNAUTHENTICATED_CALLERS,
          f"{len(closed)} of {UNAUTHENTICATED_CALLERS} closed, {refused:.0f} calls answered before (at most 16 each)")
    check("6.memory-bounded", queued_kib <= HEALTH_CHECKERS * UNAUTHENTICATED_BOUND_KIB,
          f"server RSS grew {queued_kib:,.0f} KiB for {HEALTH_CHECKERS} connections whose answers wait "
          f"(limit {UNAUTHENTICATED_BOUND_KIB} KiB each)")
    check_server_survived("6", server)


def hello_attacker(port: int, seconds: float, connections: int, keys_path: str, out: Any) -> None:
    """Keeps `connections` connections each sending HELLOS_PER_CONNECTION Hellos with random keys shaped like
    real ones, reading the answers until the server closes it, then opening another."""
    selector = selectors.DefaultSelector()
    answers_per_second: Counter[int] = collections.Counter()
    statuses: Counter[int] = collections.Counter()
    per_connection: Counter[int] = collections.Counter()
    tried: List[str] = []
    start = time.monotonic()

    def open_one() -> None:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((HOST, port))
        selector.register(s, selectors.EVENT_WRITE, {"answers": Answers(), "count": 0})

    for _ in range(connections):
        open_one()
    while selector.get_map():
        for ready, events in selector.select(0.1):
            s, data = ready.fileobj, ready.data
            if events & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    selector.unregister(s)
                    s.close()
                    if time.monotonic() - start < seconds:
                        open_one()
                    continue
                keys = ["plk_" + secrets.token_urlsafe(32) for _ in range(HELLOS_PER_CONNECTION)]
                tried.extend(keys)
                s.send(b"".join(hello_frame(k, i + 1) for i, k in enumerate(keys)))
                selector.modify(s, selectors.EVENT_READ, data)
                continue
            try:
                received = s.recv(65536)
            except OSError:
                received = b""
            for status, _, _ in data["answers"].feed(received):
                statuses[status] += 1
                data["count"] += 1
                if status == UNAUTHENTICATED:  # a key the server looked up, as opposed to one refused unchecked
                    answers_per_second[int(time.monotonic() - start)] += 1
            if not received:
                per_connection[data["count"]] += 1
                selector.unregister(s)
                s.close()
                if time.monotonic() - start < seconds:
                    open_one()
    with open(keys_path, "w") as f:
        f.write("\n".join(tried))
    out.put({"statuses": dict(statuses), "per_second": dict(answers_per_second), "per_connection": dict(per_connection),
             "elapsed": time.monotonic() - start})


def sign_in_attacker(port: int, key: str, email: str, seconds: float, in_flight: int, passwords_path: str, out: Any) -> None:
    """One authenticated connection keeping `in_flight` Accounts.SignIn calls with wrong passwords for `email`
    in flight for `seconds`, then collecting the answers still due."""
    s = authenticated_socket(port, key)
    s.settimeout(0.05)
    answers = Answers()
    statuses: Counter[int] = collections.Counter()
    tried: List[str] = []
    start = time.monotonic()
    waiting = 0
    call_id = 1
    last_answer = start
    while True:
        now = time.monotonic()
        if now - start >= seconds and waiting == 0 or now - last_answer > 30:
            break
        if now - start < seconds and waiting < in_flight:
            batch = []
            for _ in range(in_flight - waiting):
                call_id += 1
                tried.append(f"Wrong-{secrets.token_hex(6)}")
                batch.append(sign_in_frame(email, tried[-1], call_id))
            s.sendall(b"".join(batch))
            waiting = in_flight
        try:
            received = s.recv(65536)
        except socket.timeout:
            continue
        if not received:
            break
        for status, _, _ in answers.feed(received):
            statuses[status] += 1
            waiting -= 1
            last_answer = time.monotonic()
    s.close()
    with open(passwords_path, "w") as f:
        f.write("\n".join(tried))
    out.put({"statuses": dict(statuses), "start": start, "end": last_answer})


def secrets_in(text: str, tried: Iterable[str], prefix: str) -> List[str]:
    """Which of `tried` (each `prefix` and a random part) appear in `text`, whole or their random part alone.
    Compares with the runs of key-like characters in `text`, so that tens of thousands of strings take no time."""
    words = set(re.findall(r"[A-Za-z0-9_\-]{6,}", text))
    return [secret for secret in tried if secret in words or secret[len(prefix):] in words]


def scenario_brute_force(key: str, token: str) -> None:
    print(f"\n== 4. brute force: wrong API keys on {HELLO_PROCESSES * HELLO_CONNECTIONS} connections at a time, then wrong "
          f"passwords for one account (--lockout-attempts {LOCKOUT_ATTEMPTS} --lockout-duration {LOCKOUT_SECONDS}s)")
    # Hashing at normal priority: at the default (idle) a compile on this machine would starve sign-ins, and the
    # lockout timing below would measure the compile.
    with Server("4-brute-force", "--lockout-attempts", str(LOCKOUT_ATTEMPTS), "--lockout-duration", f"{LOCKOUT_SECONDS}s",
                "--hash-priority", "normal", "--frame-timeout", f"{FRAME_TIMEOUT:g}s") as server, \
            Prober(server, key, token) as prober:
        time.sleep(0.5)
        hello_window = brute_force_hellos(server, key)
        sign_in_window = brute_force_sign_in(server, key)
    for label, (start, end) in (("API keys", hello_window), ("passwords", sign_in_window)):
        stats = prober.window(start, end)
        figure(f"well-behaved caller during the {label} attack: {Prober.describe(stats)}")
        check(f"4.caller-works-during-{'hellos' if label == 'API keys' else 'sign-ins'}",
              stats["calls"] > 50 and stats["errors"] == 0 and stats["invalid"] == 0,
              f"the legitimate caller's verifies went through during the {label} attack ({stats['calls']} calls, "
              f"{stats['errors']} failed){'; ' + prober.first_errors() if prober.errors else ''}")
    check_server_survived("4", server)


def brute_force_hellos(server: Server, key: str) -> Tuple[float, float]:
    before = server.metrics()
    cpu_before, log_before = server.cpu_seconds(), server.log_bytes()
    start = time.monotonic()
    attackers = [start_child(hello_attacker, server.port, HELLO_SECONDS, HELLO_CONNECTIONS,
                             os.path.join(WORK, f"keys-{n}.txt")) for n in range(HELLO_PROCESSES)]
    results = [child_result(process, out, HELLO_SECONDS + 30) for process, out in attackers]
    end = time.monotonic()
    after = server.metrics()
    cpu, logged_bytes = server.cpu_seconds() - cpu_before, server.log_bytes() - log_before
    statuses: Counter[int] = collections.Counter()
    per_second: Counter[int] = collections.Counter()
    per_connection: Counter[int] = collections.Counter()
    for result in results:
        statuses.update(result["statuses"])
        per_second.update({int(k): v for k, v in result["per_second"].items()})
        per_connection.update({int(k): v for k, v in result["per_connection"].items()})
    tried: List[str] = []
    for n in range(HELLO_PROCESSES):
        with open(os.path.join(WORK, f"keys-{n}.txt")) as f:
            tried.extend(f.read().split())
    refused = statuses.get(UNAUTHENTICATED, 0)
    seconds = sorted(per_second)
    rates = [per_second[s] for s in seconds if s < HELLO_SECONDS]
    connections = sum(per_connection.values())
    log = server.log_text()
    logged = log.count("hello refused")
    counted = (after.get('portal_links_requests_total{method="Auth.Hello",status="UNAUTHENTICATED"}', 0)
               - before.get('portal_links_requests_total{method="Auth.Hello",status="UNAUTHENTICATED"}', 0))
    leaked = secrets_in(log, tried, "plk_") + ([key] if key in log else [])

    figure(f"{len(tried):,} wrong keys sent on {connections:,} connections in {end - start:.1f} s; answers: "
           f"{dict((portal_links.StatusCode(k).name, v) for k, v in statuses.items())}; answers per connection: "
           f"{dict(sorted(per_connection.items()))}")
    figure(f"refused Hellos per second, second by second: {rates} (an attacker gets {refused / HELLO_SECONDS:,.0f}/s "
           f"from {HELLO_PROCESSES} Python processes; nothing slows a new connection down)")
    figure(f"server log: {logged:,} 'hello refused' lines, {logged_bytes / 2**20:.1f} MiB ({logged_bytes / max(refused, 1):.0f} bytes "
           f"per refused Hello); metrics: {counted:,.0f} Auth.Hello UNAUTHENTICATED")
    figure(f"server CPU during the attack: {cpu:.1f} s in {end - start:.1f} s ({cpu / max(connections, 1) * 1e6:.0f} µs per "
           f"connection of 3 refused Hellos)")
    throttled_answers = statuses.get(RESOURCE_EXHAUSTED, 0)
    check("4.hellos-refused", refused > 0 and set(statuses) <= {UNAUTHENTICATED, RESOURCE_EXHAUSTED},
          f"every wrong key was refused: UNAUTHENTICATED ({refused:,}) or, over the address's budget, "
          f"RESOURCE_EXHAUSTED unchecked ({throttled_answers:,}); none accepted")
    check("4.hello-connection-closed", connections > 0 and max(per_connection) <= 3 and per_connection.get(3, 0) > 0,
          f"each connection was closed after at most 3 failed Hellos (the 4th was never answered) over {connections:,} connections")
    throttle_lines = log.count("throttling failed hellos")
    check("4.hellos-logged", logged >= refused and counted >= refused and (throttle_lines > 0 or not throttled_answers),
          f"each checked refusal is in the server log ({logged:,} lines) and the metrics ({counted:,.0f}) for {refused:,} "
          f"seen; the throttled ones in {throttle_lines} 'throttling failed hellos' lines")
    check("4.no-key-in-log", not leaked, f"none of the {len(tried):,} keys tried (nor the real one) is in the server "
          f"log{': found ' + leaked[0][:8] + '...' if leaked else ''}")
    # The server lets one address fail 20 Hellos at once and 5 a second after that, across its connections.
    throttled = len(rates) >= 2 and max(rates[1:]) <= 10
    check("4.hello-throttled-across-connections", throttled,
          f"failed Hellos are throttled across connections: after the first second at most 10 keys a second are "
          f"checked for the address (per second: {rates})")
    return start, end


def sign_in(server: Server, key: str, password: str) -> str:
    """One sign-in to the attacked account on a fresh connection: 'ok' or the status it was refused with."""
    try:
        with portal_links.Client(HOST, server.port, api_key=key, connect_timeout=5, timeout=20) as client:
            client.sign_in(EMAIL, password)
            return "ok"
    except portal_links.PortalLinksError as error:
        return error.status.name if isinstance(error.status, portal_links.StatusCode) else str(error.status)


def account_state() -> Dict[str, Any]:
    return json.loads(staff("accounts", "show", EMAIL, "--json"))


def stay_locked(server: Server, key: str, tried: List[str]) -> Tuple[int, int]:
    """Makes sure the account is locked for 1.5 s more at least: as the attack left it, or locked again with
    LOCKOUT_ATTEMPTS wrong passwords once its lock has run out. Returns the lock's end (Unix seconds) and how many
    wrong passwords it took."""
    locked_until = account_state()["locked_until"]
    if locked_until and locked_until - time.time() >= 1.5:
        return locked_until, 0
    if locked_until:
        time.sleep(locked_until - time.time() + 0.1)
    for _ in range(LOCKOUT_ATTEMPTS):
        tried.append(f"Wrong-{secrets.token_hex(6)}")
        sign_in(server, key, tried[-1])
    return account_state()["locked_until"] or 0, LOCKOUT_ATTEMPTS


def brute_force_sign_in(server: Server, key: str) -> Tuple[float, float]:
    passwords_path = os.path.join(WORK, "passwords.txt")
    start = time.monotonic()
    process, out = start_child(sign_in_attacker, server.port, key, EMAIL, SIGN_IN_SECONDS, SIGN_IN_IN_FLIGHT, passwords_path)
    # The legitimate user keeps trying the right password while the attack runs.
    during: List[Tuple[float, str]] = []
    while process.is_alive() and time.monotonic() - start < SIGN_IN_SECONDS:
        during.append((time.monotonic() - start, sign_in(server, key, PASSWORD)))
        time.sleep(0.4)
    attack = child_result(process, out, 60)
    end = time.monotonic()
    with open(passwords_path) as f:
        tried = f.read().split()

    # After the attack: the account is locked, the right password is refused until the lock's end and
    # accepted after it.
    locked_until, relocked = stay_locked(server, key, tried)
    refused_at = time.time()
    refused_now = sign_in(server, key, PASSWORD)
    time.sleep(max(0.0, locked_until - 0.7 - time.time()))
    just_before_at = time.time()
    just_before = sign_in(server, key, PASSWORD) if just_before_at < locked_until - 0.2 else "not tried"
    time.sleep(max(0.0, locked_until + 0.3 - time.time()))
    accepted_at = time.time()
    accepted = sign_in(server, key, PASSWORD)
    waited = time.monotonic() - end

    activity = staff("audit", "--account", EMAIL, "--json")
    events: Counter[str] = collections.Counter(f"{e['event']} {e['result'].split(' until')[0]}" for e in json.loads(activity))
    lockouts = [e for e in json.loads(activity) if e["event"] == "account.lockout"]
    log = server.log_text()
    statuses = {portal_links.StatusCode(k).name: v for k, v in attack["statuses"].items()}
    hashed = attack["statuses"].get(UNAUTHENTICATED, 0)
    attack_seconds = attack["end"] - attack["start"]
    figure(f"{sum(attack['statuses'].values()):,} wrong passwords answered in {attack_seconds:.1f} s ({SIGN_IN_IN_FLIGHT} in "
           f"flight): {statuses}; {hashed / attack_seconds:.0f}/s hashed and refused, the rest refused at once")
    figure(f"activity log for the account: {dict(events)}")
    lengths = sorted({int(e["result"].split()[-1]) - e["at"] for e in lockouts})  # "locked until <Unix s>"
    figure(f"locks recorded: {len(lockouts)}, each for {lengths} s from the failing call's start; the right password "
           f"during the attack: {dict(collections.Counter(outcome for _, outcome in during))}")
    figure(f"after the attack (+{relocked} wrong to relock): locked until {locked_until} (Unix s); right password "
           f"at -{locked_until - refused_at:.1f} s: {refused_now}, at -{locked_until - just_before_at:.1f} s: {just_before}, "
           f"at +{accepted_at - locked_until:.1f} s: {accepted} ({waited:.1f} s after the attack's last answer)")
    check("4.sign-ins-refused", hashed > 0 and set(attack["statuses"]) <= {UNAUTHENTICATED, RESOURCE_EXHAUSTED},
          f"every wrong password was refused: UNAUTHENTICATED, or RESOURCE_EXHAUSTED with the hash queue full ({statuses})")
    check("4.lockout-engaged", len(lockouts) >= 1 and events.get("account.sign_in refused locked", 0) > 0,
          f"the account locked ({len(lockouts)} times) and refused attempts while locked without counting them "
          f"({events.get('account.sign_in refused locked', 0)})")
    check("4.locked-refuses-right-password", refused_now == "UNAUTHENTICATED" and just_before in ("UNAUTHENTICATED", "not tried"),
          f"the right password is refused while the account is locked ({refused_now}, and {just_before} just before the end)")
    check("4.unlocked-after-duration", accepted == "ok" and lengths == [LOCKOUT_SECONDS],
          f"every lock was for the --lockout-duration of {LOCKOUT_SECONDS} s ({lengths}), and the legitimate user "
          f"signed in once the last one ran out ({accepted})")
    leaked_log = secrets_in(log, tried, "Wrong-") + ([PASSWORD] if PASSWORD in log else [])
    leaked_activity = secrets_in(activity, tried, "Wrong-") + ([PASSWORD] if PASSWORD in activity else [])
    check("4.no-password-in-logs", not leaked_log and not leaked_activity,
          f"none of the {len(tried):,} passwords tried (nor the right one) is in the server log or the activity log")
    noted = re.search(r"sign.?in|lockout|locked", log, re.IGNORECASE) is not None
    check("4.sign-in-failures-in-server-log", noted,
          "the server log notes failed sign-ins or the lockout (for operators watching for attacks)")
    return start, end


# ---------------------------------------------------------------------------------------------------------------
# 5. Token scanning

SCAN_SECONDS = 4.0
SCAN_PROCESSES = 2
SCAN_DEPTH = 256
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def mutations(originals: List[str], rng: random.Random) -> Iterable[Tuple[str, str]]:
    """(kind, token) forever: random strings, and valid links with characters flipped, cut short, extended,
    their segments swapped, or their last character re-spelt with non-zero unused bits."""
    while True:
        original = rng.choice(originals)
        kind = rng.choice(["random", "junk", "flip", "truncate", "extend", "swap", "noncanonical"])
        if kind == "random":
            token = "".join(rng.choice(ALPHABET) for _ in range(rng.choice([rng.randint(0, 100), 64, 63, rng.randint(400, 700)])))
        elif kind == "junk":
            token = "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0xa0, 0x2fff)])) for _ in range(rng.randint(1, 80)))
        elif kind == "flip":
            chars = list(original)
            for position in rng.sample(range(len(chars)), rng.randint(1, 3)):
                chars[position] = rng.choice(ALPHABET.replace(chars[position], ""))
            token = "".join(chars)
        elif kind == "truncate":
            token = original[:rng.randrange(len(original))]
        elif kind == "extend":
            token = original + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
        elif kind == "swap":
            cuts = sorted(rng.sample(range(1, len(original)), rng.randint(1, 3)))
            pieces = [original[a:b] for a, b in zip([0] + cuts, cuts + [len(original)])]
            rng.shuffle(pieces)
            token = "".join(pieces)
        else:
            unused = {2: 4, 3: 2}.get(len(original) % 4, 0)  # bits of the last character that carry no data
            if not unused:
                continue
            last = ALPHABET.index(original[-1])
            token = original[:-1] + ALPHABET[last ^ rng.randint(1, 2 ** unused - 1)]
        if token != original:
            yield kind, token


def scanner(port: int, key: str, originals: List[str], seed: int, seconds: float, out: Any) -> None:
    """Verifies mutated and random tokens in batches with up to SCAN_DEPTH in flight on one connection."""
    rng = random.Random(seed)
    source = mutations(originals, rng)
    by_kind: Counter[Tuple[str, str]] = collections.Counter()
    accepted: List[str] = []
    with portal_links.Client(HOST, port, api_key=key, timeout=30) as client:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            batch = [next(source) for _ in range(5_000)]
            for (kind, token), result in zip(batch, client.verify_many([t for _, t in batch], depth=SCAN_DEPTH)):
                by_kind[(kind, result.reason or "valid")] += 1
                if result.valid:
                    accepted.append(token)
        elapsed = time.monotonic() - start
    out.put({"by_kind": {f"{k}|{r}": n for (k, r), n in by_kind.items()}, "accepted": accepted, "elapsed": elapsed})


def scenario_scanning(key: str, token: str, uuid_token: str) -> None:
    print(f"\n== 5. token scanning: random and mutated tokens, {SCAN_PROCESSES} connections at depth {SCAN_DEPTH} "
          f"for {SCAN_SECONDS:g} s")
    with Server("5-scanning") as server:
        before = server.metrics()
        cpu_before = server.cpu_seconds()
        with Prober(server, key, token) as prober:
            time.sleep(0.3)
            start = time.monotonic()
            scanners = [start_child(scanner, server.port, key, [token, uuid_token], seed, SCAN_SECONDS)
                        for seed in range(SCAN_PROCESSES)]
            results = [child_result(process, out, SCAN_SECONDS + 60) for process, out in scanners]
            end = time.monotonic()
            cpu = server.cpu_seconds() - cpu_before
            time.sleep(0.2)
        after = server.metrics()

        by_kind: Counter[Tuple[str, str]] = collections.Counter()
        accepted: List[str] = []
        for result in results:
            by_kind.update({tuple(k.split("|")): n for k, n in result["by_kind"].items()})
            accepted.extend(result["accepted"])
        by_reason: Counter[str] = collections.Counter()
        for (_, reason), count in by_kind.items():
            by_reason[reason] += count
        total = sum(by_reason.values())
        elapsed = max(r["elapsed"] for r in results)
        metric = {name.split('"')[1]: after[name] - before.get(name, 0)
                  for name in after if name.startswith("portal_links_verify_results_total")}
        # The well-behaved caller's verifies are the only valid ones.
        expected = dict(by_reason)
        expected["valid"] = expected.get("valid", 0) + len(prober.samples)
        mismatched = {r: (metric.get(r, 0), expected.get(r, 0)) for r in set(metric) | set(expected)
                      if metric.get(r, 0) != expected.get(r, 0)}
        stats = prober.window(start, end)

        figure(f"{total:,} tokens verified in {elapsed:.1f} s: {total / elapsed:,.0f}/s; server CPU {cpu:.1f} s "
               f"({cpu / total * 1e6:.1f} µs per verify, the Python scanners' decoding is the bottleneck)")
        kinds = sorted({k for k, _ in by_kind})
        for kind in kinds:
            figure(f"  {kind:13} " + ", ".join(f"{r} {n:,}" for (k, r), n in sorted(by_kind.items()) if k == kind))
        figure("metrics delta by result: " + ", ".join(f"{r} {n:,.0f}" for r, n in sorted(metric.items()) if n))
        figure(f"well-behaved caller during the scan: {Prober.describe(stats)}")
        check("5.none-accepted", total > 0 and not accepted,
              f"none of {total:,} random or mutated tokens was accepted"
              f"{': accepted ' + accepted[0] if accepted else ''}")
        check("5.metrics-match", not mismatched,
              "the metrics count every answer by reason, as the answers gave it"
              f"{' (metrics vs answers: ' + str(mismatched) + ')' if mismatched else ''}")
        check("5.caller-works", stats["calls"] > 50 and stats["errors"] == 0 and stats["invalid"] == 0,
              f"the legitimate caller's verifies went through during the scan ({stats['calls']} calls, {stats['errors']} failed)")
    check_server_survived("5", server)


# ---------------------------------------------------------------------------------------------------------------

SCENARIOS = ["1", "2", "3", "4", "5", "6"]


def set_up() -> Tuple[str, str, str, str]:
    """The front-end's key, a valid link (text client with a name), one for a UUID client, a revoked link;
    and an account to attack."""
    key = staff("callers", "add", "frontend", "--scopes", "verify,accounts")
    token = staff("issue", "--client", "acme", "--name", "Acme Corp", "--format", "token")
    uuid_token = staff("issue", "--client", "0b7e6a3c-5d8f-4e1a-9c2b-3f4d5e6a7b8c", "--format", "token")
    revoked = staff("issue", "--client", "globex", "--name", "Globex Corporation", "--format", "token")
    staff("revoke", "link", json.loads(staff("verify", revoked, "--json"))["link_id"])
    staff("accounts", "register", token, "--email", EMAIL, stdin=PASSWORD + "\n")
    return key, token, uuid_token, revoked


def raise_file_limit() -> None:
    """Enough descriptors for the slow senders and the flood here, and in the server (it inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def on_time_limit(*_: object) -> None:
    raise TimeoutError(f"the run took longer than {TIME_LIMIT} s")


def on_terminate(*_: object) -> None:
    raise SystemExit(143)  # through main()'s clean-up


def main(chosen: List[str]) -> int:
    global WORK, ENV
    if any(name not in SCENARIOS for name in chosen):
        print(f"usage: hostile-clients.py [SCENARIO...], scenarios {' '.join(SCENARIOS)} (default: all)", file=sys.stderr)
        return 2
    WORK = tempfile.mkdtemp(prefix="portal-links-hostile-")
    ENV = dict(os.environ, PORTAL_LINKS_HOME=os.path.join(WORK, "home"), PORTAL_LINKS_ACTOR="hostile-clients")
    signal.signal(signal.SIGALRM, on_time_limit)
    signal.signal(signal.SIGTERM, on_terminate)
    signal.alarm(TIME_LIMIT)
    raise_file_limit()
    started = time.monotonic()
    try:
        key, token, uuid_token, revoked = set_up()
        print(f"binary {os.path.realpath(BIN)}; home {ENV['PORTAL_LINKS_HOME']}; {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f}")
        scenarios = {"1": lambda: scenario_slow_senders(key, token), "2": lambda: scenario_flood(key, token),
                     "3": lambda: scenario_not_reading(key, token, revoked), "4": lambda: scenario_brute_force(key, token),
                     "5": lambda: scenario_scanning(key, token, uuid_token),
                     "6": lambda: scenario_unauthenticated_not_reading(key, token)}
        for name in chosen or SCENARIOS:
            scenarios[name]()
    except Exception as error:  # the summary line below names it, after cleaning up
        traceback.print_exc()
        failures.append(f"error: {type(error).__name__}: {error}")
    except (KeyboardInterrupt, SystemExit):
        failures.append("interrupted")
    finally:
        signal.alarm(0)
        for server in servers:
            server.kill()
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join(5)
        shutil.rmtree(WORK, ignore_errors=True)
    took = time.monotonic() - started
    gaps = f"; {len(known_gaps)} known gap(s): {', '.join(known_gaps)}" if known_gaps else ""
    if failures:
        print(f"hostile-clients: FAILED in {took:.0f} s: {len(failures)} check(s): {', '.join(failures)}{gaps}")
        return 1
    print(f"hostile-clients: all checks passed in {took:.0f} s{gaps}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
