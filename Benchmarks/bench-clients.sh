#!/usr/bin/env bash
# The clients' verify_many against portal-links bench, each on one connection at the same pipeline depth,
# 100,000 verifies of a valid link each, against one server (one event-loop thread) on a free loopback port.
# The goal: every client reaches at least half of portal-links bench's rate at the same depth.
set -euo pipefail
cd "$(dirname "$0")/.."
pl="${PORTAL_LINKS_BIN:?set PORTAL_LINKS_BIN to a release build of portal-links}"
count="${BENCH_CLIENT_COUNT:-100000}"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cleanup() { kill ${serve_pid:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

make -s -C Clients/c all >/dev/null
python=$(./scripts/python-env.sh)

export PORTAL_LINKS_HOME="$work/home"
key=$("$pl" callers add bench --scopes verify)
token=$("$pl" issue --client portal-links-bench --expires 1h --format token)
port=$(free_port)
"$pl" serve --listen "127.0.0.1:$port" --http 127.0.0.1:0 --threads 1 --log-level warning 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 50); do grep -q "listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done

rate() { grep -o '[0-9,]*/s' | tail -1 | tr -d ',/s'; }
printf '%-8s %16s %12s %12s %12s %12s\n' "depth" "portal-links/s" "C/s" "Python/s" "asyncio/s" "worst ratio"
for depth in 1 16 64; do
    swift=$("$pl" bench --connect "127.0.0.1:$port" --api-key "$key" -c 1 -P "$depth" -n "$count" --warmup 1s --threads 1 \
        --format json 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["requests_per_second"]))')
    c=$(PORTAL_LINKS_API_KEY="$key" Clients/c/build/plbench "127.0.0.1:$port" "$token" "$count" "$depth" | rate)
    py=$("$python" -m portal_links.bench "127.0.0.1:$port" --api-key "$key" --token "$token" --count "$count" --depth "$depth" | rate)
    aio=$("$python" -m portal_links.bench "127.0.0.1:$port" --api-key "$key" --token "$token" --count "$count" --depth "$depth" --async | rate)
    worst=$(python3 -c "print(f'{min($c, $py, $aio) / $swift:.2f}')")
    printf '%-8s %16s %12s %12s %12s %12s\n' "$depth" "$swift" "$c" "$py" "$aio" "$worst"
done
echo "(each: $count verifies on one connection; ratio = slowest client / portal-links bench; the goal is 0.5 or more)"
