#!/usr/bin/env bash
# The HTTP gateway against the floor for an HTTP/1.1 answer on this machine, side by side: wrk (one thread,
# 50 connections) against Debian's nginx answering `return 200` (one worker), against forward auth
# (GET /auth/link, a valid link in X-Portal-Link) and against Connect JSON Links/Verify, served by
# portal-links serve with one event-loop thread. Rounds alternate between the three; medians. Then the
# server's CPU per call (utime + stime from /proc) for forward auth and for binary Links.Verify at the same
# 50 connections, depth 1. Everything on free loopback ports in a throw-away folder, stopped at the end.
set -euo pipefail
pl="${PORTAL_LINKS_BIN:?set PORTAL_LINKS_BIN to a release build of portal-links}"
duration="${BENCH_SECONDS:-8}"
rounds="${BENCH_ROUNDS:-3}"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cleanup() { kill ${nginx_pid:-} ${serve_pid:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export PORTAL_LINKS_HOME="$work/home"
key=$("$pl" callers add bench --scopes verify,accounts)
token=$("$pl" issue --client portal-links-bench --name "Bench Client" --expires 1h --format token)

nginx_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy; fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
    server { listen 127.0.0.1:$nginx_port; location / { return 200 "ok\n"; } }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>"$work/nginx/stderr.log" &
nginx_pid=$!
serve_port=$(free_port)
http_port=$(free_port)
"$pl" serve --listen "127.0.0.1:$serve_port" --http "127.0.0.1:$http_port" --threads 1 --log-level warning \
    --max-connections-per-address 20000 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.1; done

cat >"$work/connect.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"token": "$token"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA

wrk_run() {  # name url [wrk options] -> appends "requests/s p99_ms" to $work/NAME
    local name=$1 url=$2
    wrk -t1 -c50 -d"${duration}s" --latency "${@:3}" "$url" >"$work/wrk.out" 2>&1
    python3 - "$work/wrk.out" >>"$work/result-$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", text).groups()
p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
if non2xx: sys.exit(f"{sys.argv[1]}: {non2xx.group(1)} answers were not 2xx")
print(rps, p99)
PY
}
median() { python3 -c "import statistics,sys; print(statistics.median(float(l.split()[int(sys.argv[1])]) for l in open(sys.argv[2])))" "$1" "$2"; }

for _ in $(seq "$rounds"); do
    wrk_run nginx "http://127.0.0.1:$nginx_port/"
    wrk_run forward "http://127.0.0.1:$http_port/auth/link" -H "X-Portal-Api-Key: $key" -H "X-Portal-Link: $token"
    wrk_run connect "http://127.0.0.1:$http_port/portal_links.v1.Links/Verify" -s "$work/connect.lua"
done
floor=$(median 0 "$work/result-nginx")
printf '%-52s %12s %10s %12s\n' "wrk -t1 -c50, ${duration} s, median of $rounds" "requests/s" "p99 ms" "of nginx"
for name in nginx forward connect; do
    case $name in
        nginx) label="nginx return 200 (1 worker)" ;;
        forward) label="forward auth GET /auth/link (1 thread)" ;;
        connect) label="Connect JSON Links/Verify (1 thread)" ;;
    esac
    r=$(median 0 "$work/result-$name")
    printf '%-52s %12.0f %10.2f %11.2fx\n' "$label" "$r" "$(median 1 "$work/result-$name")" "$(python3 -c "print($r / $floor)")"
done

cpu() { awk '{ print $14 + $15 }' "/proc/$serve_pid/stat"; }  # utime + stime, in clock ticks
ticks=$(getconf CLK_TCK)
before=$(cpu)
wrk -t1 -c50 -d"${duration}s" -H "X-Portal-Api-Key: $key" -H "X-Portal-Link: $token" "http://127.0.0.1:$http_port/auth/link" >"$work/cpu.out"
after=$(cpu)
http_calls=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/cpu.out")
before_binary=$(cpu)
binary_calls=$("$pl" bench --connect "127.0.0.1:$serve_port" --api-key "$key" -c 50 -P 1 -n 200000 --threads 1 --format json 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])")
after_binary=$(cpu)
python3 - "$http_calls" "$((after - before))" "$binary_calls" "$((after_binary - before_binary))" "$ticks" <<'PY'
import sys
http_calls, http_ticks, binary_calls, binary_ticks, ticks = map(float, sys.argv[1:])
http_ns = http_ticks / ticks / http_calls * 1e9
binary_ns = binary_ticks / ticks / binary_calls * 1e9
print(f"server CPU per call, 50 connections, depth 1:  forward auth {http_ns:,.0f} ns   binary Links.Verify {binary_ns:,.0f} ns   ({http_ns / binary_ns:.1f}x)")
PY
