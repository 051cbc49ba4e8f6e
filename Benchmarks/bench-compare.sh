#!/usr/bin/env bash
# Two release binaries side by side, for a change's note: Benchmarks/bench-compare.sh OLD NEW [ROUNDS]. Alternating
# rounds of each: in-process verify (ns), Verify at depth 1 and 16 (requests/s and p99 ms; 50 connections, one
# server thread, one load-generator thread), the server's CPU time per Verify at depth 16 (ns, from /proc: the
# figure least moved by a noisy machine), and 10,000 idle authenticated connections (bytes each). One load
# generator drives both servers (NEW's bench, or BENCH_LOAD_BIN), so that the differences are the servers'.
set -uo pipefail
old=$(realpath "$1") new=$(realpath "$2") rounds=${3:-3}
load=$(realpath "${BENCH_LOAD_BIN:-$new}")
work=$(mktemp -d)
# The memory measurements build their frames with the Python client's codec (IntegrationTests/harness.py).
harness_python=$("$(dirname "$0")/../scripts/python-env.sh")
# A process's user and system CPU time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for round in $(seq "$rounds"); do
  for side in old new; do
    bin=${!side}
    export PORTAL_LINKS_HOME="$work/$side-$round"
    key=$("$bin" callers add bench --scopes verify,issue,accounts)
    token=$("$bin" issue --client portal-links-bench --expires 1h --format token)
    inproc=$("$bin" bench --in-process --json 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('verify_ns', d))" 2>/dev/null)
    port=$(free_port)
    extra=(); "$bin" serve --help 2>/dev/null | grep -q max-connections-per-address && extra=(--max-connections-per-address 20000)
    "$bin" serve --help 2>/dev/null | grep -q -- '--http ' && extra+=(--http none)  # two servers: no shared HTTP port
    "$bin" serve --listen "127.0.0.1:$port" --threads 1 --log-level warning "${extra[@]}" 2>"$work/serve-$side.log" &
    pid=$!
    for _ in $(seq 50); do grep -q listening "$work/serve-$side.log" 2>/dev/null && break; sleep 0.1; done
    d1=$("$load" bench --connect "127.0.0.1:$port" --api-key "$key" -c 50 -P 1 -n 400000 --warmup 1s --threads 1 --format json 2>/dev/null |
         python3 -c "import json,sys; d=json.load(sys.stdin); print(round(d['requests_per_second']), d['latency_us']['p99'] / 1000)")
    d16=$("$load" bench --connect "127.0.0.1:$port" --api-key "$key" -c 50 -P 16 -n 3000000 --warmup 1s --threads 1 --format json 2>/dev/null |
         python3 -c "import json,sys; d=json.load(sys.stdin); print(round(d['requests_per_second']), d['latency_us']['p99'] / 1000)")
    before=$(cpu_ticks "$pid")
    "$load" bench --connect "127.0.0.1:$port" --api-key "$key" -c 50 -P 16 -n 1000000 --warmup 0s --threads 1 --format json >/dev/null 2>&1
    cpu=$(( ($(cpu_ticks "$pid") - before) * 1000000000 / $(getconf CLK_TCK) / 1000000 ))
    idle=$("$harness_python" "$(dirname "$0")/bench-idle-connections.py" "$port" "$pid" "$key" 10000 | sed -E 's/.* ([0-9]+) bytes per connection/\1/')
    kill $pid; wait $pid 2>/dev/null
    echo "$round $side in-process-verify-ns=$inproc depth1=[$d1] depth16=[$d16] cpu-ns-per-verify=$cpu idle-bytes-per-conn=$idle"
  done
done
rm -rf "$work"
