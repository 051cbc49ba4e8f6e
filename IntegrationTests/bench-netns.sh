#!/usr/bin/env bash
# bench as load-testers use it: from a machine of its own, with only a tokens file and an API key. The server
# runs in one network namespace with the staff home; bench runs in another, with a home directory that does
# not exist, joined by a veth pair whose link-local addresses (169.254.N.1 and .2) this script assigns; no
# traffic goes anywhere else, and the namespaces are removed at the end. Where namespaces cannot be made (no
# root, no CAP_SYS_ADMIN), the same run happens on loopback with two separate homes, and the output says so.
# PORTAL_LINKS_NO_NETNS=1 takes the loopback way. A few seconds. PORTAL_LINKS_BIN is the binary (default .build/debug/portal-links).
set -euo pipefail
cd "$(dirname "$0")/.."
pl="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
./scripts/apt-install-missing.sh iproute2
work=$(mktemp -d)
id=$$
server_ns="pl-srv-$id" bench_ns="pl-gen-$id"
cleanup() {
    [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    ip netns del "$server_ns" 2>/dev/null || true  # removes its end of the veth pair, and with it the other
    ip netns del "$bench_ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The staff side: a home, a caller for the load-testers, and the tokens file.
export PORTAL_LINKS_HOME="$work/staff-home"
key=$("$pl" callers add loadtest --scopes verify)
"$pl" bench tokens --out "$work/tokens.json" --count 64 --sessions 0 2>/dev/null
[ "$(stat -c %a "$work/tokens.json")" = 600 ] || { echo "bench-netns: the tokens file is not 0600" >&2; exit 1; }
mkdir "$work/generator" && cp "$work/tokens.json" "$work/generator/"  # all the generator gets, with the key

subnet=$((id % 250 + 1))
if [ -z "${PORTAL_LINKS_NO_NETNS:-}" ] && ip netns add "$server_ns" 2>/dev/null && ip netns add "$bench_ns" &&
   ip link add "plsv$id" type veth peer name "plgn$id" && ip link set "plsv$id" netns "$server_ns" &&
   ip link set "plgn$id" netns "$bench_ns" &&
   ip -n "$server_ns" addr add "169.254.$subnet.1/30" dev "plsv$id" && ip -n "$bench_ns" addr add "169.254.$subnet.2/30" dev "plgn$id" &&
   ip -n "$server_ns" link set "plsv$id" up && ip -n "$bench_ns" link set "plgn$id" up && ip -n "$server_ns" link set lo up; then
    mode="network namespaces: serve in $server_ns at 169.254.$subnet.1, bench in $bench_ns at 169.254.$subnet.2"
    address="169.254.$subnet.1"
    in_server=(ip netns exec "$server_ns") in_bench=(ip netns exec "$bench_ns")
else
    mode="network namespaces unavailable here: two separate homes on loopback instead"
    address="127.0.0.1"
    in_server=() in_bench=()
fi
echo "bench-netns: $mode"

port=7420 metrics=9420 http=7421
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
[ -z "${in_server[*]}" ] && port=$(free_port) && metrics=$(free_port) && http=$(free_port)
"${in_server[@]}" "$pl" serve --listen "$address:$port" --metrics "127.0.0.1:$metrics" --http "$address:$http" --log-level warning \
    2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done

# The generator: no home, no store, no master key; only the key and the file.
(cd "$work/generator" && env -u PORTAL_LINKS_HOME -u PORTAL_LINKS_STORE -u PORTAL_LINKS_MASTER_KEY HOME="$work/generator" \
    PORTAL_LINKS_HOME="$work/generator/no-home" "${in_bench[@]}" "$pl" bench --connect "$address:$port" --api-key "$key" \
    --tokens tokens.json -c 4 -n 4000 --warmup 0s --threads 1 --mix valid=70,expired=10,forged=10,malformed=10 --format json \
    >"$work/run.json" 2>"$work/bench.err") || { echo "bench-netns: bench failed: $(cat "$work/bench.err")" >&2; exit 1; }
metrics_text=$("${in_server[@]}" curl -s "http://127.0.0.1:$metrics/metrics")
# And the HTTP gateway's forward auth, the way a reverse proxy elsewhere asks it.
(cd "$work/generator" && env -u PORTAL_LINKS_HOME -u PORTAL_LINKS_STORE -u PORTAL_LINKS_MASTER_KEY HOME="$work/generator" \
    PORTAL_LINKS_HOME="$work/generator/no-home" "${in_bench[@]}" "$pl" bench --http "http://$address:$http/auth/link" --api-key "$key" \
    --tokens tokens.json -c 4 -P 2 -n 1000 --warmup 0s --threads 1 --mix valid=70,expired=10,forged=10,malformed=10 --format json \
    >"$work/http.json" 2>"$work/bench.err") || { echo "bench-netns: bench --http failed: $(cat "$work/bench.err")" >&2; exit 1; }

python3 - "$work/run.json" "$work/generator" "$work/http.json" <<PY
import json, os, re, sys
run = json.load(open(sys.argv[1]))
http = json.load(open(sys.argv[3]))
sent = http["sent_by_kind"]
metrics = """$metrics_text"""
results = {m.group(1): int(float(m.group(2))) for m in re.finditer(r'portal_links_verify_results_total\{result="([a-z_]+)"\} (\S+)', metrics)}
checks = [
    (run["requests"] == 4000 and run["errors"] == 0, f"4000 calls answered OK: {run['requests']}, {run['errors']} errors"),
    (not os.path.exists(os.path.join(sys.argv[2], "no-home")), "the generator needed no home (none was made)"),
    (run["target"].startswith("$address"), f"the load went to {run['target']}"),
    (250 <= results.get("expired", 0) <= 550, f"the staff side's expired links were expired at the server: {results}"),
    (250 <= results.get("bad_signature", 0) <= 550 and 150 <= results.get("malformed", 0) <= 550, "forged and malformed too"),
    (2_500 <= results.get("valid", 0) <= 3_200, "and the valid ones valid"),
    (http["requests"] == 1000 and http["errors"] == 0 and http["target"] == "http://$address:$http/auth/link",
     f"forward auth through the gateway: {http['requests']} calls to {http['target']}, {http['errors']} errors"),
    (http["answers"] == {"valid": sent["valid"], "expired": sent["expired"], "bad_signature": sent["forged"], "malformed": sent["malformed"]},
     f"each kind sent came back as its reason: sent {sent}, answered {http['answers']}"),
]
for ok, what in checks:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
PY
echo "bench-netns: a generator with only the tokens file and the key loaded the server ($mode)"
