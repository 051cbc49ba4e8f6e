#!/usr/bin/env bash
# The server's CPU time per Links.Verify of two release binaries, for a change's note:
# Benchmarks/bench-cpu-per-call.sh OLD NEW [BATCHES] (BENCH_DEPTH: calls in flight per connection, default 16;
# BENCH_CALLS: calls per batch, default 500,000). Both servers run at once (one event-loop thread each) and
# one load generator (NEW's bench, with each server's home for its tokens; 50 connections) sends them alternate batches of calls, so that
# a machine whose speed drifts (shared with other work) slows both alike. Prints each batch's nanoseconds of
# server CPU (user + system, from /proc) per call, then the medians.
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2") batches=${3:-8}
depth=${BENCH_DEPTH:-16} calls=${BENCH_CALLS:-500000}
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
declare -A port key pid
for side in old new; do
  bin=${!side}
  export PORTAL_LINKS_HOME="$work/$side"
  key[$side]=$("$bin" callers add bench --scopes verify)
  port[$side]=$(free_port)
  extra=(); "$bin" serve --help 2>/dev/null | grep -q -- '--http ' && extra=(--http none)  # two servers: no shared HTTP port
  "$bin" serve --listen "127.0.0.1:${port[$side]}" --threads 1 --log-level warning "${extra[@]}" 2>"$work/serve-$side.log" &
  pid[$side]=$!
  pids+=("$!")
  for _ in $(seq 50); do grep -q listening "$work/serve-$side.log" 2>/dev/null && break; sleep 0.1; done
done
declare -A figures
for batch in $(seq "$batches"); do
  for side in old new; do
    before=$(cpu_ticks "${pid[$side]}")
    PORTAL_LINKS_HOME="$work/$side" "$new" bench --connect "127.0.0.1:${port[$side]}" --api-key "${key[$side]}" -c 50 -P "$depth" -n "$calls" --warmup 0s \
        --threads 1 --format json >/dev/null 2>&1
    ns=$(( ($(cpu_ticks "${pid[$side]}") - before) * 1000000000 / $(getconf CLK_TCK) / calls ))
    figures[$side]+="$ns "
    echo "batch $batch $side: $ns ns of server CPU per Verify"
  done
done
for side in old new; do
  echo "$side median: $(tr ' ' '\n' <<<"${figures[$side]}" | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }') ns (${figures[$side]% })"
done
