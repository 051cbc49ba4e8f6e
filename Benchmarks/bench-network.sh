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
# The memory measurements build their frames with the Python client's codec (IntegrationTests/harness.py).
harness_python=$("$(dirname "$0")/../scripts/python-env.sh")
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
"$pl" serve --listen "127.0.0.1:$serve_port" --http 127.0.0.1:0 --threads 1 --log-level warning --max-connections-per-address 20000 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" set token "$token" >/dev/null
for _ in $(seq 50); do grep -q "listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done

redis_run() {  # depth -> "requests/s p99_ms" of one run
    redis-benchmark -p "$redis_port" -c 50 -n "$requests" -P "$1" --csv get token 2>/dev/null | tail -1 | tr -d '"' | cut -d, -f2,7 | tr , ' '
}
verify_run() {  # depth [--batches] -> "requests/s p99_ms" of one run
    "$pl" bench --connect "127.0.0.1:$serve_port" --api-key "$key" -c 50 -P "$1" -n "$requests" --warmup 1s --threads 1 --format json "${@:2}" 2>/dev/null |
        python3 -c "import json,sys; d=json.load(sys.stdin); print(d['requests_per_second'], d['latency_us']['p99'] / 1000)"
}
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }
median() {  # column, file
    python3 -c "import statistics,sys; print(statistics.median(float(l.split()[int(sys.argv[1])]) for l in open(sys.argv[2])))" "$1" "$2"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
rounds="${BENCH_ROUNDS:-3}"

# Each server with its own load generator. redis-benchmark -P writes a batch, waits for all its answers and
# writes the next on its event loop's next turn, timing each call from its batch's write; bench --batches
# loads the same way. Plain bench keeps -P calls in flight and times each from the moment its slot freed.
# Runs vary by a fifth on these shared cores, so rounds alternate between the servers; medians.
printf '%-44s %14s %14s %10s\n' "50 connections, $rounds rounds" "requests/s" "p99 ms" "ratio"
for depth in 1 16; do
    : >"$work/redis.rounds"; : >"$work/batches.rounds"; : >"$work/plain.rounds"
    for _ in $(seq "$rounds"); do
        redis_run "$depth" >>"$work/redis.rounds"
        verify_run "$depth" --batches >>"$work/batches.rounds"
        verify_run "$depth" >>"$work/plain.rounds"
    done
    r=$(median 0 "$work/redis.rounds")
    printf '%-44s %14.0f %14.3f %10s\n' "redis GET, depth $depth" "$r" "$(median 1 "$work/redis.rounds")" ""
    for mode in batches plain; do
        v=$(median 0 "$work/$mode.rounds")
        label="portal-links Verify, depth $depth"
        if [ "$mode" = batches ]; then label="$label, batches"; fi
        printf '%-44s %14.0f %14.3f %10s\n' "$label" "$v" "$(median 1 "$work/$mode.rounds")" "$(ratio "$v" "$r")"
    done
done

# The same comparison with one load generator for both servers (Benchmarks/pipelined-load.c), so that neither
# side's figures depend on how much CPU its own load generator takes from the server on these shared cores.
# Closed loop: batches like redis-benchmark -P, every call timed from its batch's write to the read that
# completed its answer. Open loop: both servers offered the same calls per second, every call timed from its
# intended send time. Rounds alternate between the servers; medians.
open_seconds="${BENCH_OPEN_SECONDS:-4}"
compiler=$(command -v cc || command -v clang)
"$compiler" -O2 -o "$work/pipelined-load" "$(dirname "$0")/pipelined-load.c"
same_client() {  # requests, then pipelined-load options; prints "requests/s p50_us p99_us p999_us"
    local n=$1; shift
    "$work/pipelined-load" -c 50 -n "$n" --warmup $((n / 10)) "$@" |
        python3 -c "import json,sys; d=json.load(sys.stdin); print(d['requests_per_second'], d['p50_us'], d['p99_us'], d['p999_us'])"
}
ms() { python3 -c "print(f'{$1 / 1000:.3f}')"; }
latencies() {  # rounds file -> its median p50, p99 and p99.9 in ms
    printf '%9s %9s %9s' "$(ms "$(median 1 "$1")")" "$(ms "$(median 2 "$1")")" "$(ms "$(median 3 "$1")")"
}
same_client_rows() {  # label, requests, pipelined-load options shared by both servers
    local label=$1 n=$2; shift 2
    : >"$work/redis.rounds"; : >"$work/verify.rounds"
    for _ in $(seq "$rounds"); do
        same_client "$n" "$@" --port "$redis_port" --redis-get token >>"$work/redis.rounds"
        same_client "$n" "$@" --port "$serve_port" --verify "$token" --api-key "$key" >>"$work/verify.rounds"
    done
    local r v
    r=$(median 0 "$work/redis.rounds"); v=$(median 0 "$work/verify.rounds")
    printf '%-44s %12.0f %s\n' "redis GET, $label" "$r" "$(latencies "$work/redis.rounds")"
    printf '%-44s %12.0f %s %8s\n' "portal-links Verify, $label" "$v" "$(latencies "$work/verify.rounds")" "$(ratio "$v" "$r")"
}
echo
printf '%-44s %12s %9s %9s %9s %8s\n' "50 connections, same client, $rounds rounds" "requests/s" "p50 ms" "p99 ms" "p99.9 ms" "ratio"
for depth in 1 16; do same_client_rows "depth $depth" "$requests" -P "$depth"; done
for rate in 50000 100000; do
    same_client_rows "open loop, $rate/s" $((rate * open_seconds)) -P 16 --rate "$rate"
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
"$harness_python" "$(dirname "$0")/bench-idle-connections.py" "$serve_port" "$serve_pid" "$key" 10000
"$harness_python" "$(dirname "$0")/bench-non-reading.py" "$serve_port" "$serve_pid" "$key" "$token" 200
