#!/usr/bin/env bash
# Side by side on this machine: Redis answering GET of a stored token (redis-benchmark), and portal-links
# serve answering Links.Verify (portal-links bench), at 50 connections without pipelining and at depth 16.
# Like Redis and redis-benchmark, server and load generator each run one event-loop thread, so that on a
# 2-core machine neither starves the other. Both servers run on free loopback ports in throw-away
# directories and are stopped at the end.
set -euo pipefail
pl="${PORTAL_LINKS_BIN:?set PORTAL_LINKS_BIN to a release build of portal-links}"
requests="${BENCH_REQUESTS:-200000}"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cleanup() { kill ${redis_pid:-} ${serve_pid:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export PORTAL_LINKS_HOME="$work/home"
key=$("$pl" callers add bench --scopes verify,issue,accounts)
token=$("$pl" issue --client portal-links-bench --expires 1h --format token)

redis_port=$(free_port)
redis-server --port "$redis_port" --save '' --appendonly no --daemonize no --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
serve_port=$(free_port)
"$pl" serve --listen "127.0.0.1:$serve_port" --threads 1 --log-level warning 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" set token "$token" >/dev/null
for _ in $(seq 50); do grep -q "listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done

redis_csv() {  # depth -> "requests/s,p99 ms" of one run
    redis-benchmark -p "$redis_port" -c 50 -n "$requests" -P "$1" --csv get token 2>/dev/null | tail -1 | tr -d '"' | cut -d, -f2,7
}
verify_json() {  # depth [--batches]
    "$pl" bench --connect "127.0.0.1:$serve_port" --api-key "$key" -c 50 -P "$1" -n "$requests" --warmup 1s --threads 1 --format json "${@:2}" 2>/dev/null
}
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }

# redis-benchmark -P writes a batch, waits for all its answers and writes the next on its event loop's next
# turn, timing each call from its batch's write; bench --batches loads the same way. Plain bench keeps -P
# calls in flight and times each from the moment its slot freed.
printf '%-44s %14s %14s %10s\n' "50 connections" "requests/s" "p99 ms" "ratio"
for depth in 1 16; do
    redis=$(redis_csv "$depth"); r=${redis%,*}; rp=${redis#*,}
    printf '%-44s %14.0f %14s %10s\n' "redis GET, depth $depth" "$r" "$rp" ""
    for mode in --batches ""; do
        v=$(verify_json "$depth" $mode)
        vr=$(field "$v" "d['requests_per_second']"); vp=$(field "$v" "round(d['latency_us']['p99']/1000, 3)")
        label="portal-links Verify, depth $depth${mode:+, batches}"
        printf '%-44s %14.0f %14s %10s\n' "$label" "$vr" "$vp" "$(python3 -c "print(f'{$vr/$r:.2f}x')")"
    done
done

# Sign-ins next to Verify: each one costs the server an Argon2id hash (password_hash_ms above), run on
# hashing threads below the event loop's priority. Same Verify load, for a fixed time, without and with them.
signin_seconds="${BENCH_SIGNIN_SECONDS:-10}"
verify_for() {  # extra bench arguments
    "$pl" bench --connect "127.0.0.1:$serve_port" --api-key "$key" -c 50 -P 16 -z "${signin_seconds}s" --warmup 1s --threads 1 --format json "$@" 2>/dev/null
}
echo
printf '%-34s %14s %14s %14s\n' "Verify with sign-ins, depth 16" "verify/s" "sign-ins/s" "sign-in p99 ms"
alone=$(verify_for)
va=$(field "$alone" "d['requests_per_second']")
printf '%-34s %14.0f %14s %14s\n' "no sign-ins" "$va" "" ""
for rate in 20 100; do
    with=$(verify_for --sign-ins "$rate")
    vw=$(field "$with" "d['requests_per_second']")
    printf '%-34s %14.0f %14s %14s   verify %s of alone; refused: %s\n' "asking $rate sign-ins/s" "$vw" \
        "$(field "$with" "d['sign_ins']['per_second']")" "$(field "$with" "round(d['sign_ins']['latency_ms']['p99'])")" \
        "$(python3 -c "print(f'{$vw/$va:.0%}')")" "$(field "$with" "d['sign_ins']['failed'] or 'none'")"
done

# What sign-ins alone can reach: 100/s asked while Verify runs a light open-loop 1,000/s.
light=$("$pl" bench --connect "127.0.0.1:$serve_port" --api-key "$key" -c 1 -z "${signin_seconds}s" --rps 1000 --warmup 0s --threads 1 --format json --sign-ins 100 2>/dev/null)
printf '%-34s %14.0f %14s %14s   refused: %s\n' "light Verify load, asking 100/s" "$(field "$light" "d['requests_per_second']")" \
    "$(field "$light" "d['sign_ins']['per_second']")" "$(field "$light" "round(d['sign_ins']['latency_ms']['p99'])")" \
    "$(field "$light" "d['sign_ins']['failed'] or 'none'")"

echo
python3 "$(dirname "$0")/bench-idle-connections.py" "$serve_port" "$serve_pid" "$key" 10000
