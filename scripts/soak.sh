#!/usr/bin/env bash
# Full load on Links.Verify for SOAK_SECONDS (default 600) against a release portal-links serve on a free
# loopback port, sampling the server's resident memory every 30 s; prints the samples and the growth from
# the first minute to the end. Bounded in time; the server is stopped at the end.
set -euo pipefail
pl="${PORTAL_LINKS_BIN:?set PORTAL_LINKS_BIN to a release build of portal-links}"
seconds="${SOAK_SECONDS:-600}"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { kill ${serve_pid:-} ${bench_pid:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export PORTAL_LINKS_HOME="$work/home"
key=$("$pl" callers add soak --scopes verify)
"$pl" serve --listen "127.0.0.1:$port" --threads 1 --log-level warning 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 50); do grep -q listening "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
"$pl" bench --connect "127.0.0.1:$port" --api-key "$key" -c 50 -P 16 -z "${seconds}s" --warmup 0 --threads 1 \
    --mix valid=90,expired=5,forged=5 >"$work/bench.txt" 2>/dev/null &
bench_pid=$!
rss() { awk '/VmRSS/ {print $2}' "/proc/$serve_pid/status"; }
samples=()
for ((t = 30; t <= seconds; t += 30)); do
    sleep 30
    samples+=("$(rss)")
    echo "t=${t}s server RSS $(( ${samples[-1]} / 1024 )) MiB"
done
wait "$bench_pid" || true
cat "$work/bench.txt"
first=${samples[1]:-${samples[0]}}
last=${samples[-1]}
echo "RSS from the first minute to the end: $(( first / 1024 )) MiB -> $(( last / 1024 )) MiB ($(( (last - first) / 1024 )) MiB)"
