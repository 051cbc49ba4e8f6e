"""Crashes and faults on the embedded SQLite store, bounded in time: about three minutes on this 2-core machine,
at most about three and three quarters, as every loop stops early (and says so) when the machine is busy.

    crash-test.py [--parts staff,server,disk] [--kills 100] [--rounds 5] [--seed N]

staff   `kill -9` of staff commands: `keys rotate` (also on a new home), `revoke link`, `revoke client`,
        `issue --csv` (2,200 rows, committed 500 at a time) and `callers add`, `--kills` times each (`revoke`: half
        links, half clients) at random moments, then once at each of the command's writes to the WAL (strace's
        fault injection). After every kill the store opens, the audit chain verifies, the key ring is one
        consistent generation that matches the audit log, and every effect is all or nothing and accounted for
        by the audit log.
server  `kill -9` of `portal-links serve` while 8 connections register accounts, `--rounds` times: every
        registration answered with success is there after a restart on the same home, once. Then strace counts
        the server's fsync calls while it answers registrations, and those of `keys rotate` beside it: each
        commit must reach the disk before it is answered (kill -9 cannot tell; a power cut would).
disk    The home on an 8 MiB tmpfs, filled to the last byte: staff commands and Register / Issue over the wire
        fail with one clear error, the server keeps answering Verify and Health, nothing is corrupted, and the
        same operations succeed once space returns, without a restart. Needs root (mount); skipped, not failed,
        where mounting is not allowed.

PORTAL_LINKS_BIN is the portal-links binary; the Python client `portal_links` must be importable
(IntegrationTests/crash-test.sh sets both up). Everything runs on loopback ports chosen at run time, in homes under one
temporary directory that is removed at the end; every process this starts is killed and the tmpfs unmounted on
the way out, also on failure. Exit status 1 if any check failed; the last line says which.
"""

from __future__ import annotations

import argparse
import collections
import csv
import errno
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import harness
import portal_links

BIN = harness.BIN
WORK = tempfile.mkdtemp(prefix="portal-links-crash-")
# Only the options on the command line choose the home and the store: nothing from the caller's environment.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_LINKS_")}
ENV["PORTAL_LINKS_ACTOR"] = "crash-test"
PASSWORD = "correct horse battery staple"
BULK_ROWS = 2200            # four batches of 500 and one of 200: a kill can land in any of them
BULK_BATCH = 500
BULK_RUNS_PER_HOME = 2      # a fresh home now and then keeps `audit --json` and `audit verify` quick
KEY_STATES = {"staged", "primary", "retiring", "expired", "disabled", "destroyed"}

failures: List[str] = []
processes: List[subprocess.Popen] = []   # every process started, killed in `cleanup`
mounts: List[str] = []
rng = random.Random()


# ---------------------------------------------------------------------------------------------------------------
# Helpers


class Part:
    """Counts the checks of one part, prints its failures as they come, and stops the part after too many (a
    broken store fails every later check the same way)."""

    MAX_FAILURES = 10

    def __init__(self, name: str) -> None:
        self.name, self.checks, self.failed = name, 0, 0
        self.started = time.monotonic()

    def check(self, condition: bool, what: str) -> bool:
        self.checks += 1
        if not condition:
            self.failed += 1
            failures.append(f"{self.name}: {what}")
            print(f"FAIL  {self.name}: {what}", flush=True)
            if self.failed >= self.MAX_FAILURES:
                raise PartStopped(f"{self.name}: stopped after {self.failed} failed checks")
        return condition

    def summary(self, text: str) -> None:
        status = "ok  " if self.failed == 0 else "FAIL"
        print(f"{status}  {self.name} ({time.monotonic() - self.started:.1f} s, {self.checks} checks, "
              f"{self.failed} failed): {text}", flush=True)


class PartStopped(Exception):
    pass


def cli(home: str, *arguments: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """A staff command on `home`; its exit status, stdout and stderr."""
    return subprocess.run([BIN, *arguments, "--home", home], env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def must(home: str, *arguments: str) -> str:
    """A staff command that has to succeed (set-up, not under test); its stdout."""
    done = cli(home, *arguments)
    if done.returncode != 0:
        raise RuntimeError(f"portal-links {' '.join(arguments[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def must_json(home: str, *arguments: str) -> Any:
    return json.loads(must(home, *arguments, "--json"))


def spawn(arguments: Sequence[str], **kwargs: object) -> subprocess.Popen:
    p = subprocess.Popen(list(arguments), env=ENV, **kwargs)
    processes.append(p)
    return p


def kill(p: subprocess.Popen) -> None:
    """SIGKILL, unless it has exited already (Popen does not signal a process it has reaped)."""
    p.kill()
    p.wait(timeout=30)
    if p in processes:
        processes.remove(p)


def write_csv(path: str, client: str, rows: int) -> None:
    with open(path, "w") as f:
        f.write("client_id,name,expires,sent_to\n")
        for i in range(1, rows + 1):
            f.write(f"{client},Row {i},30d,row{i}@bulk.example\n")


def read_links_csv(path: str) -> List[Dict[str, str]]:
    """Complete rows of an `issue --csv --output` file (a killed command may leave half a line at the end)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")[:-1]   # whatever follows the last newline is incomplete
    return [row for row in csv.DictReader(lines) if row.get("sent_to") is not None]


class Server(harness.Serve):
    """`portal-links serve` on a home, on a port chosen once (a restart listens on the same one)."""

    def __init__(self, home: str, name: str) -> None:
        super().__init__(ENV, os.path.join(WORK, f"{name}.log"), "--home", home)
        self.home = home

    def start(self, within: float = 30) -> float:
        try:
            return super().start(within)
        finally:
            if self.process is not None:
                processes.append(self.process)

    def alive(self) -> bool:
        return self.running()

    def kill(self) -> None:
        if self.process is not None:
            kill(self.process)
            self.process = None


# ---------------------------------------------------------------------------------------------------------------
# The store after a crash: it opens, the ring is one generation, the audit chain holds


def audit_subjects(entries: List[dict], operation: str) -> List[str]:
    return [e["subject"] for e in entries if e["operation"] == operation]


def ring_problems(keys: List[dict], entries: List[dict]) -> List[str]:
    """What is wrong with the key ring, given the audit log: exactly one primary, known states, and exactly the
    keys the log's rotations created, each previous primary retired (or disabled, for --emergency) once."""
    problems: List[str] = []
    if not keys and not any(e["operation"].startswith("key.") for e in entries):
        return problems   # a new home: no key yet
    states = {k["key_id"]: k["state"] for k in keys}
    if len(states) != len(keys):
        problems.append("a key ID listed twice")
    primaries = [k for k, s in states.items() if s == "primary"]
    if len(primaries) != 1:
        problems.append(f"{len(primaries)} primary keys ({' '.join(primaries)})")
    unknown = {s for s in states.values() if s not in KEY_STATES}
    if unknown:
        problems.append(f"unknown key states {sorted(unknown)}")
    created: List[str] = []
    for e in entries:
        if e["operation"] in ("key.rotate", "key.rotate.emergency", "key.add"):
            words = e["subject"].split()
            created.append(words[1])
            if len(words) >= 4 and words[2] in ("retiring", "disabled"):
                old = states.get(words[3])
                allowed = {"retiring", "expired", "disabled", "destroyed"} if words[2] == "retiring" \
                    else {"disabled", "destroyed"}
                if old not in allowed:
                    problems.append(f"key {words[3]} is {old} but the log says {e['operation']} made it {words[2]}")
    if sorted(created) != sorted(states):
        problems.append(f"keys listed {sorted(states)} but the audit log created {sorted(created)}")
    rotations = [e for e in entries if e["operation"].startswith("key.")]
    if rotations and rotations[-1]["operation"].startswith("key.rotate") and primaries \
            and rotations[-1]["subject"].split()[1] != primaries[0]:
        problems.append(f"primary is {primaries[0]} but the last rotation made {rotations[-1]['subject'].split()[1]}")
    return problems


def read_together(home: str, *commands: Sequence[str]) -> List[subprocess.CompletedProcess]:
    """Read-only staff commands started together (SQLite lets readers share the store; it saves time)."""
    started = [spawn([BIN, *c, "--home", home], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for c in commands]
    done = []
    for p in started:
        out, err = p.communicate(timeout=60)
        processes.remove(p)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def store_after_crash(part: Part, home: str, what: str,
                      *reads: Sequence[str]) -> Tuple[List[dict], List[dict], List[Any]]:
    """The checks every kill is followed by: the store opens (the first command to open it recovers it alone),
    the audit chain verifies and the key ring matches the audit log. Returns the ring, the audit log and the
    parsed JSON of `reads`, more `--json` commands for the command's own checks."""
    listed = cli(home, "keys", "list", "--json", "--all")
    part.check(listed.returncode == 0, f"{what}: the store opens (keys list exit {listed.returncode}: "
                                       f"{listed.stderr.strip()})")
    verified, audit, *more = read_together(home, ["audit", "verify"], ["audit", "--json"],
                                           *[[*r, "--json"] for r in reads])
    part.check(verified.returncode == 0, f"{what}: audit verify exit {verified.returncode}: "
                                         f"{(verified.stdout + verified.stderr).strip()}")
    part.check(audit.returncode == 0, f"{what}: audit --json exit {audit.returncode}: {audit.stderr.strip()}")
    for r, done in zip(reads, more):
        if done.returncode != 0:
            raise PartStopped(f"{part.name}: {what}: portal-links {' '.join(r)} exit {done.returncode}: "
                              f"{done.stderr.strip()}")
    keys = json.loads(listed.stdout) if listed.returncode == 0 else []
    entries = json.loads(audit.stdout) if audit.returncode == 0 else []
    problems = ring_problems(keys, entries)
    part.check(not problems, f"{what}: key ring: {'; '.join(problems)}")
    return keys, entries, [json.loads(done.stdout) for done in more]


class Run:
    """One staff command: run to the end, killed with SIGKILL after `delay` seconds, or killed by strace at the
    `at_write`-th write (pwrite64) one of its threads makes to the store's write-ahead log. SQLite commits by
    writing a transaction's pages to the WAL, the last one marked as the commit, so killing at each WAL write
    stops the command between any two pages and between any two transactions."""

    def __init__(self, home: str, arguments: Sequence[str], delay: Optional[float] = None,
                 at_write: Optional[int] = None, count_writes: bool = False) -> None:
        self.delay, self.at_write = delay, at_write
        command = [BIN, *arguments, "--home", home]
        trace = os.path.join(WORK, "writes.trace")
        if at_write is not None or count_writes:
            watched = ["-P", os.path.join(home, "portal-links.sqlite-wal")]
            inject = ["-e", f"inject=pwrite64:signal=KILL:when={at_write}"] if at_write is not None else []
            command = ["strace", "-f", "-qq", "-o", trace if count_writes else "/dev/null", *watched,
                       "-e", "trace=pwrite64", *inject, *command]
        started = time.monotonic()
        p = spawn(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if delay is not None:
            time.sleep(delay)
            p.kill()  # a no-op when the command has finished already
        self.stdout, self.stderr = p.communicate(timeout=60)
        self.elapsed = time.monotonic() - started
        processes.remove(p)
        self.returncode = p.returncode
        self.killed = p.returncode == -signal.SIGKILL   # strace dies of the signal that killed its command
        self.writes = 0
        if count_writes:
            # strace counts each thread's calls on its own: the most writes one thread made.
            with open(trace) as f:
                self.writes = max(collections.Counter(line.split()[0] for line in f).values(), default=0)


class Target:
    """A staff command under test: the arguments of its next run (preparing whatever that run needs), and the
    checks after a run, which return whether its effect was committed."""

    name = ""
    home = ""

    def arguments(self) -> List[str]:
        raise NotImplementedError

    def check(self, part: Part, run: Run, what: str) -> bool:
        raise NotImplementedError

    def run(self, **how: Any) -> Run:
        arguments = self.arguments()   # first: it may choose the home
        return Run(self.home, arguments, **how)

    def summary(self) -> str:
        return ""


STARTUP = 0.0   # median run of `keys rotate --help`: a kill sooner than this lands before the store is opened
STRACE = False  # whether strace can run commands here (for the kills at each store write)


class Tally:
    """Where kills landed: before the effect was committed, after it, or after the command had finished."""

    def __init__(self) -> None:
        self.runs = self.before = self.after = self.finished = self.unopened = 0
        self.timed = False

    def add(self, run: Run, committed: bool) -> None:
        self.runs += 1
        if not run.killed:
            self.finished += 1
        elif committed:
            self.after += 1
        else:
            self.before += 1
            self.unopened += run.delay is not None and run.delay < STARTUP
        self.timed = self.timed or run.delay is not None

    def __str__(self) -> str:
        unopened = f" ({self.unopened} of them before the store could be opened)" if self.timed else ""
        return (f"{self.before} killed before the commit{unopened}, {self.after} after it, "
                f"{self.finished} finished first")


def over_budget(part: Part, started: float, budget: float, what: str) -> bool:
    """Whether a loop has used its share of the time bound; says so when it stops early."""
    if time.monotonic() - started <= budget:
        return False
    print(f"note  {part.name}: time budget of {budget:.0f} s used after {what}", flush=True)
    return True


# ---------------------------------------------------------------------------------------------------------------
# Part 1: kill -9 of staff commands

WARM_UPS = 5        # runs left alone before the kills; their median is the typical runtime (a median, as a compile
                    # next door makes single runs ten times slower)
KILL_WINDOW = 1.3   # delays up to 1.3 x the typical runtime, so some commands finish before the kill
WRITE_POINTS = 30   # at most this many WAL writes to kill a command at, spread evenly over all of them


def kill_delay(typical: float) -> float:
    """A random moment in a run of about `typical` seconds. Uniform delays would mostly hit process start-up and
    rarely the few milliseconds between a short command's commit and its exit, so the kills are spread three ways:
    a fifth before the store can be opened, half anywhere up to past the typical end, and the rest close to the
    end, where the commit, the WAL checkpoint and the output happen."""
    late = max(typical * KILL_WINDOW, STARTUP)
    draw = rng.random()
    if draw < 0.2:
        return rng.uniform(0, STARTUP)
    if draw < 0.7:
        return rng.uniform(STARTUP, late)
    return rng.uniform(typical * 0.8, typical * 1.1)


def warm_up(part: Part, target: Target) -> float:
    """Runs the command to the end WARM_UPS times, checked like the killed runs; the median time is typical."""
    times = []
    for i in range(WARM_UPS):
        run = target.run()
        target.check(part, run, f"{target.name} run {i + 1} (not killed)")
        times.append(run.elapsed)
    return statistics.median(times)


def random_kills(part: Part, target: Target, kills: int, budget: float, typical: float) -> Tally:
    tally, started = Tally(), time.monotonic()
    for i in range(kills):
        if over_budget(part, started, budget, f"{i} of {kills} kills"):
            break
        run = target.run(delay=kill_delay(typical))
        tally.add(run, target.check(part, run, f"{target.name} kill {i + 1} at {run.delay * 1000:.0f} ms"))
    return tally


def write_kills(part: Part, target: Target, budget: float, beside_server: bool, points: int) -> str:
    """Kills the command at its WAL writes, one run per write: at every one for short commands, at WRITE_POINTS
    spread over them for long ones. Random delays rarely hit the moment between two transactions; this does.
    strace counts each thread's calls on its own, so the N-th write is the first thread's to get there. A command
    that opens a store nobody else has open first writes a few WAL pages from the thread that opens it; with a
    server running beside it (`beside_server`, as in production) the WAL is there already and the N-th write is
    the command's own N-th. Needs strace (its syscall fault injection)."""
    if not STRACE:
        return "not killed at each WAL write (no usable strace)"
    server = Server(target.home, f"{target.name.replace(' ', '-')}-serve")
    try:
        if beside_server:
            server.start()
        text = kill_at_each_write(part, target, budget, points)
        return text + (", a server running on the store" if beside_server else "")
    finally:
        server.kill()


def kill_at_each_write(part: Part, target: Target, budget: float, most: int) -> str:
    counted = target.run(count_writes=True)
    target.check(part, counted, f"{target.name} under strace (not killed)")
    if counted.writes <= most:
        points = list(range(1, counted.writes + 1))
    else:
        points = sorted({round(1 + i * (counted.writes - 1) / (most - 1)) for i in range(most)})
    tally, started = Tally(), time.monotonic()
    for n in points:
        if over_budget(part, started, budget, f"{tally.runs} of {len(points)} WAL writes"):
            break
        run = target.run(at_write=n)
        tally.add(run, target.check(part, run, f"{target.name} killed at its WAL write {n}"))
    which = f"each of its {counted.writes}" if len(points) == counted.writes else \
        f"{len(points)} of its {counted.writes}, evenly spread,"
    return f"killed at {which} WAL writes: {tally}"


def staff_part(title: str, target: Target, kills: int, budget: float, write_budget: Optional[float],
               finish: Callable[[Part], str] = lambda part: "", beside_server: bool = True,
               write_points: int = WRITE_POINTS) -> None:
    """Warm-ups, `kills` random kills, kills at the store writes (unless `write_budget` is None), then `finish`;
    one summary line."""
    part = Part(title)
    text = ""
    try:
        typical = warm_up(part, target)
        tally = random_kills(part, target, kills, budget, typical)
        text = (f"{tally.runs} random kills (typical run {typical * 1000:.0f} ms, kills at 0-"
                f"{max(typical * KILL_WINDOW, STARTUP) * 1000:.0f} ms): {tally}")
        if write_budget is not None:
            text += "; " + write_kills(part, target, write_budget, beside_server, write_points)
        text = "; ".join(t for t in (text, finish(part), target.summary()) if t)
    except PartStopped as stop:
        print(stop)
    part.summary(text)


class FirstRun(Target):
    """The first command on a new home creates the store, the master key and the first key."""

    name = "keys rotate on a new home"

    def __init__(self) -> None:
        self.homes = 0
        self.leftovers = 0

    def arguments(self) -> List[str]:
        self.homes += 1
        self.home = os.path.join(WORK, f"new-{self.homes}")
        return ["keys", "rotate"]

    def check(self, part: Part, run: Run, what: str) -> bool:
        keys, _, _ = store_after_crash(part, self.home, what)
        if run.returncode == 0:
            part.check(len(keys) == 1, f"{what}: exited 0 with {len(keys)} keys")
        # The home goes on: a rotation, then a link that verifies (the master key unseals the keys).
        rotated = cli(self.home, "keys", "rotate")
        part.check(rotated.returncode == 0, f"{what}: keys rotate afterwards: {rotated.stderr.strip()}")
        issued = cli(self.home, "issue", "--client", "new-home", "--format", "token")
        checked = cli(self.home, "verify", issued.stdout.strip())
        part.check(issued.returncode == 0 and checked.returncode == 0,
                   f"{what}: issue and verify afterwards: {issued.stderr.strip()} {checked.stdout.strip()}")
        mode = os.stat(os.path.join(self.home, "master.key")).st_mode & 0o777
        part.check(mode == 0o600, f"{what}: master.key is {oct(mode)}")
        self.leftovers += sum(1 for f in os.listdir(self.home) if f.startswith("master.key."))
        return bool(keys)

    def summary(self) -> str:
        return (f"each home then rotated, issued and verified; {self.leftovers} temporary master.key.new-* files "
                f"left behind by kills")


class RotateKeys(Target):
    name = "keys rotate"

    def __init__(self) -> None:
        self.home = os.path.join(WORK, "rotate")
        must(self.home, "keys", "rotate")
        self.keys = {k["key_id"] for k in must_json(self.home, "keys", "list", "--all")}
        self.runs = 0
        self.emergency = False

    def arguments(self) -> List[str]:
        self.runs += 1
        self.emergency = self.runs % 4 == 0   # --emergency also disables the old primary, in the same transaction
        return ["keys", "rotate", *(["--emergency"] if self.emergency else [])]

    def check(self, part: Part, run: Run, what: str) -> bool:
        what += " (--emergency)" if self.emergency else ""
        keys, _, _ = store_after_crash(part, self.home, what)
        now = {k["key_id"] for k in keys}
        added = now - self.keys
        part.check(len(added) <= 1 and self.keys <= now, f"{what}: keys {sorted(self.keys)} became {sorted(now)}")
        if run.returncode == 0:
            part.check(len(added) == 1, f"{what}: exited 0 but added no key")
        said = re.match(r"key ([0-9a-f]{8}) is now primary", run.stdout)
        if said:
            primary = [k["key_id"] for k in keys if k["state"] == "primary"]
            part.check(primary == [said.group(1)],
                       f"{what}: printed {said.group(1)} as primary, the ring has {primary}")
        self.keys = now
        return bool(added)

    def last_primary_signs(self, part: Part) -> str:
        """The last primary signs, and what it signs verifies: its sealed material is whole."""
        link = json.loads(must(self.home, "issue", "--client", "after-rotations", "--format", "json"))
        checked = cli(self.home, "verify", "--json", link["token"])
        part.check(checked.returncode == 0, f"a link signed by the last primary: {checked.stdout.strip()}")
        return f"{len(self.keys)} keys at the end; a link signed by the last primary verified"


class RevokeLink(Target):
    name = "revoke link"

    def __init__(self, home: str, pool: List[str]) -> None:
        self.home, self.pool = home, pool
        self.target = ""

    def arguments(self) -> List[str]:
        self.target = self.pool.pop()
        return ["revoke", "link", self.target]

    def check(self, part: Part, run: Run, what: str) -> bool:
        what += f" ({self.target})"
        _, entries, [shown] = store_after_crash(part, self.home, what, ["links", "show", self.target])
        logged = audit_subjects(entries, "revoke.link").count(f"link {self.target}")
        status = shown["status"]
        part.check(logged <= 1, f"{what}: {logged} audit entries for one revocation")
        part.check((status == "revoked") == (logged == 1),
                   f"{what}: the link is {status} but the audit log has {logged} revocation entries")
        if run.returncode == 0:
            part.check(logged == 1, f"{what}: exited 0 but nothing was revoked")
        return logged == 1


class RevokeClient(Target):
    """Each run revokes a client with an older link and one issued just before, in the same second: links of
    that second are revoked one by one (revoke.link entries) besides the client's cut-off."""

    name = "revoke client"

    def __init__(self, home: str, older: Dict[str, dict]) -> None:
        self.home, self.older = home, older
        self.victims = sorted(older)
        self.fresh: Dict[str, dict] = {}
        self.client = ""

    def arguments(self) -> List[str]:
        self.client = self.victims.pop()
        if time.time() % 1 > 0.6:   # too late in this second for the revocation to start in it too
            time.sleep(1.01 - time.time() % 1)
        self.fresh[self.client] = json.loads(must(self.home, "issue", "--client", self.client, "--format", "json"))
        return ["revoke", "client", self.client]

    def check(self, part: Part, run: Run, what: str) -> bool:
        client, new = self.client, self.fresh[self.client]
        what += f" ({client})"
        _, entries, [old, fresh] = store_after_crash(part, self.home, what,
                                                     ["links", "show", self.older[client]["link_id"]],
                                                     ["links", "show", new["link_id"]])
        cutoffs = [int(s.split()[-1]) for s in audit_subjects(entries, "revoke.client")
                   if s.startswith(f"client {client} before ")]
        one_by_one = audit_subjects(entries, "revoke.link").count(f"link {new['link_id']}")
        old_status, new_status = old["status"], fresh["status"]
        part.check(len(cutoffs) <= 1, f"{what}: {len(cutoffs)} audit entries for one revocation")
        if cutoffs:
            same_second = new["issued_at"] >= cutoffs[0]
            part.check(old_status == "revoked (client)", f"{what}: logged, but the client's older link is {old_status}")
            part.check(one_by_one == (1 if same_second else 0) and
                       new_status == ("revoked" if same_second else "revoked (client)"),
                       f"{what}: the audit log revokes the client's links issued before {cutoffs[0]}, but its link "
                       f"issued at {new['issued_at']}, before the command, is {new_status} "
                       f"({one_by_one} revoke.link entries)")
        else:
            part.check(old_status == "active" and new_status == "active" and one_by_one == 0,
                       f"{what}: not logged, but the client's links are {old_status} and {new_status} "
                       f"({one_by_one} revoke.link entries)")
        if run.returncode == 0:
            part.check(len(cutoffs) == 1, f"{what}: exited 0 but nothing was revoked")
        return bool(cutoffs)


class CallersAdd(Target):
    name = "callers add"
    SCOPES = ["verify", "verify,issue", "accounts,issue,verify"]

    def __init__(self) -> None:
        self.home = os.path.join(WORK, "callers")
        must(self.home, "keys", "rotate")
        self.runs = 0
        self.caller, self.scopes = "", ""
        self.printed: List[Tuple[str, str, str]] = []   # name, scopes, API key: every key a command printed whole

    def arguments(self) -> List[str]:
        self.runs += 1
        self.caller, self.scopes = f"caller-{self.runs}", self.SCOPES[self.runs % 3]
        return ["callers", "add", self.caller, "--scopes", self.scopes]

    def check(self, part: Part, run: Run, what: str) -> bool:
        name, what = self.caller, f"{what} ({self.caller})"
        _, entries, [callers] = store_after_crash(part, self.home, what, ["callers", "list"])
        listed = {c["name"]: sorted(c["scopes"]) for c in callers}
        added = [s.split() for s in audit_subjects(entries, "caller.add")]   # caller NAME scopes A,B
        logged = {words[1]: sorted(words[3].split(",")) for words in added}
        part.check(len(added) == len(logged) and listed == logged,
                   f"{what}: callers {sorted(listed)} but the audit log added {sorted(logged)}")
        part.check(name not in listed or listed[name] == sorted(self.scopes.split(",")),
                   f"{what}: scopes {listed.get(name)} instead of {self.scopes}")
        key = re.fullmatch(r"(plk_[A-Za-z0-9_-]{43})\n", run.stdout)
        if run.returncode == 0:
            part.check(key is not None and name in listed,
                       f"{what}: exited 0, key printed: {key is not None}, caller listed: {name in listed}")
        if key:
            part.check(name in listed, f"{what}: printed an API key for a caller that is not stored")
            self.printed.append((name, self.scopes, key.group(1)))
        return name in listed

    def say_hello(self, part: Part) -> str:
        """Every API key that was printed says Hello as its caller, with its scopes."""
        server = Server(self.home, "callers-serve")
        refused = []
        try:
            server.start()
            for name, scopes, key in self.printed:
                try:
                    with server.client(key) as c:
                        if c.caller.name != name or sorted(c.caller.scopes) != sorted(scopes.split(",")):
                            refused.append(f"{name}: Hello says {c.caller}")
                except portal_links.PortalLinksError as e:
                    refused.append(f"{name}: {e!r}")
        finally:
            server.kill()
        part.check(not refused, f"printed API keys that fail Hello: {refused[:5]}")
        return f"the {len(self.printed)} API keys printed whole were tried with Hello"


class BulkIssue(Target):
    """`issue --csv` of BULK_ROWS rows for a client of its own, committed BULK_BATCH rows at a time."""

    name = "issue --csv"

    def __init__(self) -> None:
        self.template = os.path.join(WORK, "bulk-template")
        must(self.template, "keys", "rotate")
        self.runs = 0
        self.client = self.out = ""
        self.counts: collections.Counter = collections.Counter()
        self.not_written: List[int] = []

    def arguments(self) -> List[str]:
        if self.runs % BULK_RUNS_PER_HOME == 0:
            self.home = os.path.join(WORK, f"bulk-{self.runs}")
            shutil.copytree(self.template, self.home)
        self.runs += 1
        self.client = f"bulk-{self.runs}"
        path, self.out = os.path.join(WORK, f"{self.client}.csv"), os.path.join(WORK, f"{self.client}-links.csv")
        write_csv(path, self.client, BULK_ROWS)
        return ["issue", "--csv", path, "--output", self.out]

    def check(self, part: Part, run: Run, what: str) -> bool:
        what += f" ({self.client})"
        _, entries, [ledger] = store_after_crash(part, self.home, what, ["links", "list", "--client", self.client])
        n, ids = len(ledger), [x["link_id"] for x in ledger]
        logged = [s.split()[1] for s in audit_subjects(entries, "link.issue") if f" client {self.client} " in s]
        part.check(n % BULK_BATCH == 0 or n == BULK_ROWS,
                   f"{what}: {n} links in the ledger, neither whole batches of {BULK_BATCH} nor the whole file")
        part.check({x["display_name"] for x in ledger} == {f"Row {r}" for r in range(1, n + 1)} and len(set(ids)) == n,
                   f"{what}: the ledger's {n} links are not the file's first {n} rows, once each")
        part.check(sorted(logged) == sorted(ids), f"{what}: {n} links in the ledger, {len(logged)} link.issue audit "
                                                  f"entries, {len(set(logged) ^ set(ids))} not matching")
        written = read_links_csv(self.out)
        names = {x["link_id"]: x["display_name"] for x in ledger}
        stray = [r for r in written if names.get(r["link_id"]) != r["name"]]
        part.check(not stray, f"{what}: {len(stray)} links written to --output are not in the ledger as written")
        # A batch's links are written after its commit, so a kill in between leaves that batch's tokens unwritten
        # (they are in the ledger and the audit log, and can be revoked); never more than one batch.
        part.check(0 <= n - len(written) <= BULK_BATCH, f"{what}: {n} links committed, {len(written)} written")
        if run.returncode == 0:
            part.check(n == BULK_ROWS and len(written) == BULK_ROWS,
                       f"{what}: exited 0 with {n} links in the ledger and {len(written)} written")
        if n > len(written):
            self.not_written.append(n - len(written))
        if run.killed:
            self.counts[n] += 1
        return n > 0

    def summary(self) -> str:
        spread = ", ".join(f"{n}: {c}" for n, c in sorted(self.counts.items()))
        gap = f"{min(self.not_written, default=0)}-{max(self.not_written, default=0)}"
        return (f"links committed by killed runs (links: runs) {spread}; {len(self.not_written)} kills came between "
                f"a batch's commit and its output ({gap} links in the ledger and the audit log, not in --output)")


# Seconds each loop may take (random kills, then kills at each WAL write) before it stops early and says so, so
# that the whole test stays within about four minutes on a slow or busy machine. On an idle one none is reached.


def staff_first_run(kills: int) -> None:
    staff_part("staff: keys rotate on a new home", FirstRun(), kills, 8, 6, beside_server=False, write_points=12)


def staff_keys_rotate(kills: int) -> None:
    target = RotateKeys()
    staff_part("staff: keys rotate", target, kills, 26, 6, target.last_primary_signs)


def staff_callers_add(kills: int) -> None:
    target = CallersAdd()
    staff_part("staff: callers add", target, kills, 26, 6, target.say_hello)


def staff_bulk_issue(kills: int) -> None:
    staff_part("staff: issue --csv", BulkIssue(), kills, 65, None)


def staff_revoke(kills: int, link_budget: float = 14, client_budget: float = 22, write_budget: float = 7) -> None:
    home = os.path.join(WORK, "revoke")
    must(home, "keys", "rotate")
    # Links to revoke one by one, and one link for each client to revoke as a whole, issued seconds earlier.
    enough = kills + WARM_UPS + 2 * WRITE_POINTS
    pool_csv, pool_out = os.path.join(WORK, "revoke-pool.csv"), os.path.join(WORK, "revoke-pool-links.csv")
    with open(pool_csv, "w") as f:
        for i in range(enough):
            f.write(f"revoke-pool,Pool {i},30d,\nvictim-{i:03},Victim {i},30d,\n")
    must(home, "issue", "--csv", pool_csv, "--output", pool_out)
    rows = read_links_csv(pool_out)
    links = RevokeLink(home, [r["link_id"] for r in rows if r["client_id"] == "revoke-pool"])
    clients = RevokeClient(home, {r["client_id"]: r for r in rows if r["client_id"] != "revoke-pool"})

    def over_the_wire(part: Part) -> str:
        # A server started on this home refuses exactly the links the audit log says are revoked.
        server = Server(home, "revoke-serve")
        try:
            server.start()
            key = must(home, "callers", "add", "revoke-check").strip()
            _, entries, _ = store_after_crash(part, home, "after the revocations")
            revoked_links = {s.split()[1] for s in audit_subjects(entries, "revoke.link")}
            revoked_clients = {s.split()[1] for s in audit_subjects(entries, "revoke.client")}
            everything = rows + [{"link_id": f["link_id"], "client_id": c, "link": f["token"]}
                                 for c, f in clients.fresh.items()]
            with server.client(key) as c:
                results = c.verify_many([r["link"] for r in everything])
            wrong = [f"{r['link_id']} ({r['client_id']}): {v.reason or 'valid'}" for r, v in zip(everything, results)
                     if (not v.valid) != (r["link_id"] in revoked_links or r["client_id"] in revoked_clients)
                     or (not v.valid and v.reason not in ("link_revoked", "client_revoked"))]
            part.check(not wrong, f"the server refuses exactly the links the audit log revoked; wrong: {wrong[:5]}")
            return f"a server verified all {len(everything)} links against the audit log's revocations"
        finally:
            server.kill()

    staff_part("staff: revoke link", links, kills // 2, link_budget, write_budget)
    staff_part("staff: revoke client", clients, kills - kills // 2, client_budget, write_budget, over_the_wire)


# ---------------------------------------------------------------------------------------------------------------
# Part 2: kill -9 of the server under registration load


class Registrations:
    """What the load threads learnt: answered with success, refused with nothing done, or no answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok: Set[str] = set()
        self.refused: Set[str] = set()      # RESOURCE_EXHAUSTED: nothing was done
        self.in_doubt: Set[str] = set()     # the connection dropped: may or may not be there
        self.unexpected: Set[str] = set()

    def add(self, kind: Set[str], email: str) -> None:
        with self.lock:
            kind.add(email)


def register_until_gone(server: Server, key: str, token: str, prefix: str, out: Registrations,
                        stop: threading.Event) -> None:
    try:
        client = server.client(key)
    except portal_links.PortalLinksError:
        return
    n = 0
    with client:
        while not stop.is_set():
            n += 1
            email = f"{prefix}-{n}@load.example"
            try:
                client.register(token, email, PASSWORD)
                out.add(out.ok, email)
            except portal_links.ResourceExhausted:
                out.add(out.refused, email)
                time.sleep(0.01)
            except (portal_links.Unavailable, portal_links.DeadlineExceeded):
                out.add(out.in_doubt, email)
                return
            except portal_links.PortalLinksError as e:
                out.add(out.unexpected, f"{email}: {e!r}")
                return


def server_kills(rounds: int, threads: int = 8) -> None:
    part = Part("server: kill -9 under Accounts.Register")
    home = os.path.join(WORK, "accounts")
    must(home, "keys", "rotate")
    key = must(home, "callers", "add", "join-page", "--scopes", "verify,accounts").strip()
    link = json.loads(must(home, "issue", "--client", "register-load", "--format", "json"))  # no account cap
    server = Server(home, "accounts-serve")
    every = Registrations()   # over all rounds: an account must survive later kills too
    lines = []
    try:
        server.start()
        for r in range(rounds):
            now = Registrations()
            stop = threading.Event()
            load = [threading.Thread(target=register_until_gone,
                                     args=(server, key, link["token"], f"r{r}-t{t}", now, stop))
                    for t in range(threads)]
            for t in load:
                t.start()
            delay = rng.uniform(0.3, 2.0)
            time.sleep(delay)
            server.kill()
            stop.set()
            for t in load:
                t.join(timeout=30)
            part.check(not any(t.is_alive() for t in load), f"round {r + 1}: a load thread hung after the kill")
            part.check(not now.unexpected, f"round {r + 1}: unexpected answers: {sorted(now.unexpected)[:3]}")
            restart = server.start()

            accounts = must_json(home, "accounts", "list")
            emails = [a["email"] for a in accounts]
            present = set(emails)
            every.ok |= now.ok
            every.refused |= now.refused
            every.in_doubt |= now.in_doubt
            lost = every.ok - present
            part.check(not lost, f"round {r + 1} (kill at {delay:.2f} s): {len(lost)} registrations answered with "
                                 f"success are missing: {sorted(lost)[:5]}")
            part.check(len(emails) == len(present), f"round {r + 1}: {len(emails) - len(present)} emails twice")
            part.check(not (every.refused & present), f"round {r + 1}: refused registrations created accounts")
            known = every.ok | every.in_doubt | every.refused
            part.check(present <= known, f"round {r + 1}: accounts nobody registered: {sorted(present - known)[:5]}")
            wrong = [a["email"] for a in accounts if (a["client_id"], a["link_id"]) !=
                     ("register-load", link["link_id"])]
            part.check(not wrong, f"round {r + 1}: accounts with the wrong client or link: {wrong[:5]}")
            through = must_json(home, "links", "show", link["link_id"])["accounts"]
            through_emails = sorted(a if isinstance(a, str) else a["email"] for a in through)
            part.check(through_emails == sorted(emails),
                       f"round {r + 1}: links show lists {len(through_emails)} accounts, accounts list {len(emails)}")
            verified = cli(home, "audit", "verify")
            part.check(verified.returncode == 0, f"round {r + 1}: audit verify: {verified.stderr.strip()}")
            activity = must_json(home, "audit", "--client", "register-load")
            registered = collections.Counter(e["account"] for e in activity
                                             if e["event"] == "account.register" and e["result"].startswith("ok"))
            part.check(set(registered) == present and max(registered.values(), default=1) == 1,
                       f"round {r + 1}: {len(present)} accounts, {sum(registered.values())} registrations in the "
                       f"activity log; without one: {sorted(present - set(registered))[:3]}, "
                       f"logged without an account: {sorted(set(registered) - present)[:3]}")

            # A front-end retrying the calls that got no answer: taken emails are ALREADY_EXISTS, the rest register.
            kept = now.in_doubt & present
            retried = []
            with server.client(key) as c:
                for email in sorted(now.in_doubt):
                    try:
                        c.register(link["token"], email, PASSWORD)
                        retried.append((email, "ok"))
                        every.ok.add(email)
                    except portal_links.AlreadyExists:
                        retried.append((email, "exists"))
                    except portal_links.PortalLinksError as e:
                        retried.append((email, repr(e)))
            wrong_retry = [(e, got) for e, got in retried if got != ("exists" if e in kept else "ok")]
            part.check(not wrong_retry, f"round {r + 1}: retries of unanswered registrations: {wrong_retry[:3]}")
            lines.append(f"round {r + 1}: killed at {delay:.2f} s, {len(now.ok)} answered ok, {len(now.refused)} "
                         f"refused (queue full), {len(now.in_doubt)} unanswered ({len(kept)} of them stored), "
                         f"restart {restart * 1000:.0f} ms")
    except PartStopped as stop_:
        print(stop_)
    finally:
        server.kill()
    for line in lines:
        print("      " + line)
    part.summary(f"{len(lines)} rounds, {threads} connections registering; {len(every.ok)} registrations answered "
                 f"with success in all, each looked for after every restart")


def all_threads_traced(pid: int) -> bool:
    tasks = os.listdir(f"/proc/{pid}/task")
    for task in tasks:
        with open(f"/proc/{pid}/task/{task}/status") as f:
            if re.search(r"^TracerPid:\s+0$", f.read(), re.M):
                return False
    return True


def count_syncs(trace: str) -> int:
    with open(trace) as f:
        return sum(1 for line in f if re.search(r"\b(fsync|fdatasync)\(", line))


def commits_synced(count: int = 10) -> None:
    """`kill -9` keeps the kernel's page cache, so it cannot tell a commit that reached the disk from one that is
    still in memory; a power cut can. The store runs SQLite with synchronous = FULL, which syncs the WAL at every
    commit before the commit returns. strace counts fsync and fdatasync calls: a server answering `count`
    registrations one after the other makes at least `count`, and a staff command run beside a server (which
    keeps the store open, so the command's close does not checkpoint) makes at least one before it exits."""
    part = Part("server: commits synced before they are answered")
    if not STRACE:
        print(f"skip  {part.name}: no usable strace", flush=True)
        return
    home = os.path.join(WORK, "synced")
    must(home, "keys", "rotate")
    key = must(home, "callers", "add", "join-page", "--scopes", "accounts").strip()
    token = must(home, "issue", "--client", "synced", "--format", "token").strip()
    server = Server(home, "synced-serve")
    server_trace, staff_trace = os.path.join(WORK, "server-syncs.trace"), os.path.join(WORK, "staff-syncs.trace")
    server_syncs = staff_syncs = -1
    try:
        server.start()
        assert server.process is not None
        tracer = spawn(["strace", "-f", "-qq", "-p", str(server.process.pid), "-e", "trace=fsync,fdatasync",
                        "-o", server_trace], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not all_threads_traced(server.process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        with server.client(key) as c:
            for i in range(count):
                c.register(token, f"synced-{i}@load.example", PASSWORD)
        tracer.send_signal(signal.SIGINT)   # strace detaches and leaves the server running
        tracer.wait(timeout=30)
        processes.remove(tracer)
        server_syncs = count_syncs(server_trace)
        part.check(server_syncs >= count, f"{count} registrations answered with success while the server made "
                                          f"{server_syncs} fsync/fdatasync calls: answered registrations were not on "
                                          f"disk yet (a power cut would lose them; SQLite's synchronous is not FULL)")
        rotated = subprocess.run(["strace", "-f", "-qq", "-o", staff_trace, "-e", "trace=fsync,fdatasync", BIN,
                                  "keys", "rotate", "--home", home], env=ENV, capture_output=True, text=True,
                                 timeout=60)
        staff_syncs = count_syncs(staff_trace)
        part.check(rotated.returncode == 0 and staff_syncs >= 1,
                   f"keys rotate beside a running server exited {rotated.returncode} after {staff_syncs} "
                   f"fsync/fdatasync calls: the new primary was not on disk yet when it said so")
    except PartStopped as stop:
        print(stop)
    finally:
        server.kill()
    part.summary(f"{count} registrations answered while the server made {server_syncs} fsync/fdatasync calls; "
                 f"keys rotate beside it made {staff_syncs}")


# ---------------------------------------------------------------------------------------------------------------
# Part 3: disk full


def fill(path: str) -> int:
    """Writes `path` until the file system has not a byte left; the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 16, 4096, 512, 1):
            chunk = b"\0" * size
            while True:
                try:
                    written += f.write(chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return written


def integrity(home: str) -> str:
    db = sqlite3.connect(f"file:{os.path.join(home, 'portal-links.sqlite')}?mode=ro", uri=True, timeout=30)
    try:
        return "; ".join(row[0] for row in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()


def one_clear_error(done: subprocess.CompletedProcess) -> Optional[str]:
    """Why `done` is not a clean failure (exit 1, exactly one line on stderr, no crash), or None."""
    lines = done.stderr.splitlines()
    if done.returncode != 1:
        return f"exit {done.returncode}"
    if len(lines) != 1 or not lines[0].strip():
        return f"{len(lines)} lines on stderr: {lines[:4]}"
    if re.search(r"Fatal error|Stack dump|backtrace|Segmentation|Illegal instruction|Abort", done.stderr, re.I):
        return f"a crash: {lines[0]}"
    if "plk_" in done.stdout:
        return "an API key on stdout"
    return None


def wire_error(call: Callable[[], object]) -> Optional[portal_links.PortalLinksError]:
    try:
        call()
    except portal_links.PortalLinksError as e:
        return e
    return None


def disk_full() -> None:
    part = Part("disk full")
    mount_point = os.path.join(WORK, "tmpfs")
    os.makedirs(mount_point)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount_point],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        print(f"skip  disk full: cannot mount a tmpfs here ({(mounted.stderr or mounted.stdout).strip()}; "
              f"running as uid {os.getuid()})", flush=True)
        return
    mounts.append(mount_point)
    home = os.path.join(mount_point, "home")
    filler = os.path.join(mount_point, "filler")
    server = Server(home, "disk-serve")
    small_csv, out = os.path.join(WORK, "disk-small.csv"), os.path.join(WORK, "disk-small-links.csv")
    big_csv, big_out = os.path.join(WORK, "disk-big.csv"), os.path.join(WORK, "disk-big-links.csv")
    write_csv(small_csv, "disk-bulk", 3)
    write_csv(big_csv, "disk-bulk-big", 3000)
    notes = []
    filled = 0
    staff_ops: List[Tuple[str, List[str]]] = []
    try:
        must(home, "keys", "rotate")
        key = must(home, "callers", "add", "disk-frontend", "--scopes", "verify,issue,accounts").strip()
        link = json.loads(must(home, "issue", "--client", "disk-acme", "--format", "json"))
        target = json.loads(must(home, "issue", "--client", "disk-target", "--format", "json"))
        must(home, "issue", "--client", "disk-victim")   # a client with a link, for `revoke client`
        server.start()
        front = server.client(key)
        front.register(link["token"], "before@disk.example", PASSWORD)
        ring_before = must_json(home, "keys", "list", "--all")
        audit_before = must_json(home, "audit")
        ledger_before = must_json(home, "links", "list")

        filled = fill(filler)
        free = shutil.disk_usage(mount_point).free
        part.check(free == 0, f"the filler left {free} bytes free")
        staff_ops = [
            ("keys rotate", ["keys", "rotate"]),
            ("callers add", ["callers", "add", "disk-caller", "--scopes", "verify"]),
            ("issue --csv", ["issue", "--csv", small_csv, "--output", out]),
            ("revoke link", ["revoke", "link", target["link_id"]]),
            ("revoke client", ["revoke", "client", "disk-victim"]),
        ]
        for label, arguments in staff_ops:
            done = cli(home, *arguments)
            problem = one_clear_error(done)
            part.check(problem is None, f"{label} on a full disk: {problem}")
            notes.append(f"{label}: exit {done.returncode}, {done.stderr.strip()!r}")
        for label, arguments in [("keys list", ["keys", "list"]), ("audit verify", ["audit", "verify"])]:
            done = cli(home, *arguments)
            part.check(done.returncode == 0, f"{label} (reading) on a full disk: exit {done.returncode} "
                                             f"{done.stderr.strip()}")
        for label, call in [("Accounts.Register", lambda: front.register(link["token"], "full@disk.example", PASSWORD)),
                            ("Links.Issue", lambda: front.issue("disk-wire"))]:
            e = wire_error(call)
            # INTERNAL is the protocol's status for a storage failure; the message is one line for people.
            part.check(e is not None and e.status == portal_links.StatusCode.INTERNAL and e.message.strip() != ""
                       and "\n" not in e.message, f"{label} on a full disk: {'succeeded' if e is None else repr(e)}")
            notes.append(f"{label}: {'OK' if e is None else f'{e.status.name} {e.message!r}'}")
        verdict = wire_error(lambda: part.check(front.verify(link["token"]).valid, "Links.Verify on a full disk"))
        part.check(verdict is None, f"Links.Verify on a full disk: {verdict!r}")
        health = wire_error(lambda: part.check(front.health() == portal_links.ServingStatus.SERVING,
                                               "Health on a full disk says SERVING"))
        part.check(health is None and server.alive(), f"the server is up on a full disk: {health!r}")
        part.check(must_json(home, "keys", "list", "--all") == ring_before and must_json(home, "audit") == audit_before
                   and must_json(home, "links", "list") == ledger_before,
                   "the ring, the audit log and the ledger are unchanged by the failures")

        # Space for a few hundred rows: the bulk issue commits whole batches, then stops with one error.
        with open(filler, "r+b") as f:
            f.truncate(filled - 300 * 1024)
        done = cli(home, "issue", "--csv", big_csv, "--output", big_out)
        ledger = must_json(home, "links", "list", "--client", "disk-bulk-big")
        n = len(ledger)
        logged = [e for e in must_json(home, "audit") if " client disk-bulk-big " in e["subject"]]
        written = read_links_csv(big_out)
        if done.returncode == 0:
            notes.append("issue --csv of 3,000 rows with 300 KiB free: succeeded (the WAL had room)")
        else:
            problem = one_clear_error(done)
            part.check(problem is None, f"issue --csv running out of space midway: {problem}")
            notes.append(f"issue --csv of 3,000 rows with 300 KiB free: exit {done.returncode}, {n} links "
                         f"committed, {len(written)} written, {done.stderr.strip()!r}")
        part.check(n % BULK_BATCH == 0 or n == 3000, f"issue --csv running out of space: {n} links in the ledger")
        part.check(len(logged) == n and {r["link_id"] for r in written} <= {x["link_id"] for x in ledger},
                   f"issue --csv running out of space: {n} links, {len(logged)} audit entries, "
                   f"{len(written)} written")

        # Space returns: nothing is damaged, and the same operations succeed on the same server.
        os.remove(filler)
        check_text = integrity(home)
        part.check(check_text == "ok", f"PRAGMA integrity_check after the disk was full: {check_text}")
        store_after_crash(part, home, "after the disk was full")
        for label, arguments in staff_ops:
            done = cli(home, *arguments)
            part.check(done.returncode == 0,
                       f"{label} once space is back: exit {done.returncode} {done.stderr.strip()}")
            if label == "revoke link":
                part.check("already" not in done.stdout, f"revoke link on a full disk left a revocation: {done.stdout}")
            if label == "callers add" and done.returncode == 0:
                with server.client(done.stdout.strip()) as c:
                    part.check(c.caller.name == "disk-caller", f"the new caller's key says Hello as {c.caller}")
        problems = []
        for label, call in [("Accounts.Register", lambda: front.register(link["token"], "full@disk.example", PASSWORD)),
                            ("Links.Issue", lambda: front.issue("disk-wire"))]:
            e = wire_error(call)
            if e is not None:
                problems.append(f"{label}: {e!r}")
        part.check(must_json(home, "accounts", "show", "full@disk.example")["email"] == "full@disk.example",
                   "the account registered once space was back is listed")
        part.check(not problems, f"over the wire once space is back, without a restart: {problems}")
        part.check(server.alive(), "the same server process is still running")
        part.check(integrity(home) == "ok", "PRAGMA integrity_check at the end")
        store_after_crash(part, home, "at the end of the disk-full part")
        front.close()
    except PartStopped as stop:
        print(stop)
    finally:
        server.kill()
    for line in notes:
        print("      " + line)
    part.summary(f"{len(staff_ops)} staff commands and 2 wire calls on a full disk ({filled // 1024} KiB of filler), "
                 f"reads, Verify and Health meanwhile, a bulk issue running out of space, then integrity and the same "
                 f"operations once space returned")


# ---------------------------------------------------------------------------------------------------------------


def timed(run: Callable[[], object]) -> float:
    started = time.monotonic()
    run()
    return time.monotonic() - started


def cleanup() -> None:
    for p in list(processes):
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)
    processes.clear()
    for point in mounts:
        for _ in range(20):
            if subprocess.run(["umount", point], capture_output=True).returncode == 0:
                break
            time.sleep(0.25)
        else:
            subprocess.run(["umount", "-l", point], capture_output=True)
            print(f"crash-test: {point} was busy; detached it lazily")
    shutil.rmtree(WORK, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="staff,server,disk")
    parser.add_argument("--kills", type=int, default=100, help="kills per staff command")
    parser.add_argument("--rounds", type=int, default=5, help="server kills under registration load")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    rng.seed(seed)
    parts = set(args.parts.split(","))
    print(f"crash-test: {BIN}, seed {seed} (--seed {seed} repeats the same delays), work in {WORK}", flush=True)
    # SIGTERM cleans up like an interrupt does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    global STARTUP, STRACE
    STARTUP = statistics.median(timed(lambda: subprocess.run([BIN, "keys", "rotate", "--help"], capture_output=True))
                                for _ in range(WARM_UPS))
    STRACE = shutil.which("strace") is not None and \
        subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True).returncode == 0
    if not STRACE:
        print("note  strace is missing or cannot trace here: no kills at each WAL write, no check that commits "
              "are synced to disk before they are answered", flush=True)
    kills = args.kills
    plan: List[Tuple[str, str, Callable[[], None]]] = [
        ("staff", "keys rotate on a new home", lambda: staff_first_run(max(kills // 5, 1))),
        ("staff", "keys rotate", lambda: staff_keys_rotate(kills)),
        ("staff", "revoke", lambda: staff_revoke(kills)),
        ("staff", "callers add", lambda: staff_callers_add(kills)),
        ("staff", "issue --csv", lambda: staff_bulk_issue(kills)),
        ("server", "server kills", lambda: server_kills(args.rounds)),
        ("server", "commits synced", commits_synced),
        ("disk", "disk full", disk_full),
    ]
    started = time.monotonic()
    try:
        for group, name, run in plan:
            if group not in parts:
                continue
            try:
                run()
            except Exception as e:  # a step the checks rely on failed: a failure too, and the next part goes on
                failures.append(f"{group}: {name}: {type(e).__name__}: {e}")
                print(f"FAIL  {failures[-1]}", flush=True)
    finally:
        cleanup()
        print(f"crash-test: {time.monotonic() - started:.0f} s", flush=True)
    if failures:
        print(f"crash-test FAILED: {len(failures)} check(s); first: {failures[0]}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
