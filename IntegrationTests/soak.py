#!/usr/bin/env python3
"""make soak: mixed load on one release `portal-links serve` for SOAK_MINUTES (default 10) minutes.

Verify traffic comes from `portal-links bench` in one-minute runs (open loop at SOAK_VERIFY_RPS, default
40,000/s, mix valid 90 / expired 5 / forged 5), so that each minute has its own throughput and p99.
Account traffic comes from SOAK_ACCOUNT_THREADS (default 2) threads of the Python client, each repeating
register (a new email through a shared link) -> sign-in -> refresh -> refresh. The server's resident memory
is sampled every 5 s. Prints one line per minute and a verdict: memory flat (the last minute's average
within 5% of the second minute's, the first being warm-up), verify p99 stable (no minute above three times
the median minute), no unexpected error (every account call answered OK, every verify answered OK).
Exit status 1 when a goal is missed. Loopback only; the server and home are removed at the end.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Clients", "python", "src"))
import harness  # noqa: E402
from portal_links import Client  # noqa: E402

BIN = harness.BIN
MINUTES = int(os.environ.get("SOAK_MINUTES") or 10)
VERIFY_RPS = int(os.environ.get("SOAK_VERIFY_RPS") or 40_000)
ACCOUNT_THREADS = int(os.environ.get("SOAK_ACCOUNT_THREADS") or 2)
PASSWORD = "soak test password, long enough"


def run(*args, env, stdin=None):
    return harness.staff(env, *args, stdin=stdin)


class AccountLoad:
    """Threads registering, signing in and refreshing; latencies and errors per minute."""

    def __init__(self, port, api_key, link):
        self.port, self.api_key, self.link = port, api_key, link
        self.lock = threading.Lock()
        self.latencies = {}  # minute -> [seconds]
        self.errors = {}  # minute -> [text]
        self.stopping = threading.Event()
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self.work, args=(n,), daemon=True) for n in range(ACCOUNT_THREADS)]

    def minute(self):
        return int((time.monotonic() - self.started) // 60)

    def timed(self, call):
        begun = time.monotonic()
        try:
            result = call()
        except Exception as error:  # every failure counts; the text names the status, never a secret
            with self.lock:
                self.errors.setdefault(self.minute(), []).append(f"{type(error).__name__}: {error}")
            return None
        with self.lock:
            self.latencies.setdefault(self.minute(), []).append(time.monotonic() - begun)
        return result

    def work(self, number):
        with Client("127.0.0.1", self.port, api_key=self.api_key) as client:
            count = 0
            while not self.stopping.is_set():
                count += 1
                email = f"soak-{number}-{count}@example.com"
                if self.timed(lambda: client.register(self.link, email, PASSWORD)) is None:
                    continue
                signed_in = self.timed(lambda: client.sign_in(email, PASSWORD))
                if signed_in is None:
                    continue
                session = self.timed(lambda: client.refresh_session(signed_in.session.token))
                if session is not None:
                    self.timed(lambda: client.refresh_session(session.token))

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def main():
    work = tempfile.mkdtemp(prefix="portal-links-soak-")
    env = dict(os.environ, PORTAL_LINKS_HOME=os.path.join(work, "home"), PORTAL_LINKS_ACTOR="soak")
    api_key = run("callers", "add", "soak", "--scopes", "verify,accounts", env=env)
    link = run("issue", "--client", "soak-client", "--name", "Soak Ltd", "--format", "token", env=env)
    server = harness.Serve(env, os.path.join(work, "serve.log"), "--log-level", "warning")
    port = server.port
    samples = {}  # minute -> [MiB]
    sampling = threading.Event()
    try:
        server.start(within=30)
        accounts = AccountLoad(port, api_key, link)
        accounts.start()

        def sample():
            while not sampling.wait(5):
                samples.setdefault(accounts.minute(), []).append(harness.rss_mib(server.pid))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        print(f"soak: {MINUTES} min; verify open loop {VERIFY_RPS}/s (valid 90, expired 5, forged 5); "
              f"{ACCOUNT_THREADS} account threads (register, sign-in, 2 refreshes)")
        print(f"{'minute':>6} {'verify/s':>9} {'p99 ms':>7} {'errors':>6} {'accounts/s':>10} {'acct p99 ms':>11} "
              f"{'acct errors':>11} {'RSS MiB':>8}")
        minutes = []
        for minute in range(MINUTES):
            bench = subprocess.run(
                [BIN, "bench", "--connect", f"127.0.0.1:{port}", "--api-key", api_key, "-c", "16", "-P", "16",
                 "-z", "60s", "--rps", str(VERIFY_RPS), "--warmup", "0s", "--threads", "1",
                 "--mix", "valid=90,expired=5,forged=5", "--format", "json"],
                env=env, capture_output=True, text=True)
            if bench.returncode != 0:
                raise SystemExit(f"soak: bench failed in minute {minute + 1}: {bench.stderr.strip().splitlines()[-1:]}")
            report = json.loads(bench.stdout)
            with accounts.lock:
                latencies = accounts.latencies.get(minute, [])
                errors = accounts.errors.get(minute, [])
            rss = statistics.mean(samples.get(minute, [harness.rss_mib(server.pid)]))
            row = {
                "verify_rps": report["requests_per_second"], "verify_p99_ms": report["latency_us"]["p99"] / 1000,
                "verify_errors": report["errors"], "account_rps": len(latencies) / 60,
                "account_p99_ms": (sorted(latencies)[int(len(latencies) * 0.99)] * 1000) if latencies else 0.0,
                "account_errors": len(errors), "rss_mib": rss, "error_texts": sorted(set(errors))[:3],
            }
            minutes.append(row)
            print(f"{minute + 1:>6} {row['verify_rps']:>9.0f} {row['verify_p99_ms']:>7.2f} {row['verify_errors']:>6} "
                  f"{row['account_rps']:>10.1f} {row['account_p99_ms']:>11.1f} {row['account_errors']:>11} {rss:>8.1f}",
                  flush=True)
        accounts.stop()
    finally:
        sampling.set()
        server.stop(within=20)
        subprocess.run(["rm", "-rf", work])

    failures = []
    baseline = minutes[1]["rss_mib"] if len(minutes) > 1 else minutes[0]["rss_mib"]
    growth = (minutes[-1]["rss_mib"] - baseline) / baseline * 100
    p99s = [row["verify_p99_ms"] for row in minutes]
    median_p99 = statistics.median(p99s)
    unexpected = sum(row["verify_errors"] + row["account_errors"] for row in minutes)
    print(f"memory: {baseline:.1f} MiB in minute {min(2, len(minutes))} -> {minutes[-1]['rss_mib']:.1f} MiB in minute {len(minutes)} "
          f"({growth:+.1f}%)")
    print(f"verify p99: median {median_p99:.2f} ms, highest {max(p99s):.2f} ms, lowest {min(p99s):.2f} ms")
    print(f"unexpected errors: {unexpected}")
    for row in minutes:
        for text in row["error_texts"]:
            print(f"  {text}")
    if growth > 5:
        failures.append(f"memory grew {growth:.1f}% (goal: at most 5%)")
    if max(p99s) > 3 * median_p99:
        failures.append(f"verify p99 reached {max(p99s):.2f} ms, over three times the median {median_p99:.2f} ms")
    if unexpected:
        failures.append(f"{unexpected} unexpected errors")
    for failure in failures:
        print(f"soak: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
