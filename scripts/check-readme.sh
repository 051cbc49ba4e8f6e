#!/usr/bin/env bash
# check-readme.sh: runs the README's five-minute walk-through (its first sh block) as a new user would, in a
# throw-away home, with PORTAL_LINKS_BIN's folder first on PATH; fails on the first command that fails. Then its
# curl line (the second block) against a server started in another home.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PORTAL_LINKS_BIN:?set PORTAL_LINKS_BIN to a portal-links binary}"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
block=$(awk '/^## Five minutes/ { section = 1 } section && /^```sh$/ { inside = 1; next } inside && /^```$/ { exit } inside' README.md)
[ -n "$block" ] || { echo "check-readme: no sh block after '## Five minutes' in README.md" >&2; exit 1; }
# The block's own home and binary folder, swapped for the throw-away home and the binary under test.
block=${block//\/tmp\/portal-links-tour/$home/home}
block=${block//\$PWD\/.build\/debug/$(dirname "$PORTAL_LINKS_BIN")}
if ! output=$(bash -euo pipefail -c "$block" 2>&1); then
    printf '%s\n' "$output" | tail -20 >&2
    echo "check-readme: the README's walk-through failed (above)" >&2
    exit 1
fi

# The second block: curl against the HTTP gateway of a server started as `make serve` starts one, in a new home
# of its own, on free ports; KEY and LINK from what it printed.
curl_block=$(awk '/^## Five minutes/ { section = 1 } section && /^```sh$/ { n++; if (n == 2) { inside = 1; next } } inside && /^```$/ { exit } inside' README.md)
[ -n "$curl_block" ] || { echo "check-readme: no second sh block (curl) after '## Five minutes' in README.md" >&2; exit 1; }
ports=($(python3 -c 'import socket
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'))
PORTAL_LINKS_HOME="$home/served" "$PORTAL_LINKS_BIN" serve --listen "127.0.0.1:${ports[0]}" --http "127.0.0.1:${ports[1]}" \
    >"$home/serve.out" 2>"$home/serve.err" &
served=$!
trap 'kill $served 2>/dev/null; wait $served 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$home/serve.err" 2>/dev/null && break; sleep 0.1; done
KEY=$(sed -n 's/.*API key (shown once): //p' "$home/serve.out")
LINK=$(sed -n 's/.*sample link to verify: //p' "$home/serve.out")
[ -n "$KEY" ] && [ -n "$LINK" ] || { cat "$home/serve.err" >&2; echo "check-readme: serve printed no key and link" >&2; exit 1; }
curl_block=${curl_block//127.0.0.1:7421/127.0.0.1:${ports[1]}}
answer=$(KEY=$KEY LINK=$LINK bash -euo pipefail -c "$curl_block" 2>&1) || true
case $answer in
    *'"valid":true'*'"clientId":"demo"'*) ;;
    *) printf '%s\n' "$answer" >&2; echo "check-readme: the README's curl line did not verify the sample link" >&2; exit 1 ;;
esac
echo "check-readme: the README's walk-through ran, $(printf '%s\n' "$block" | grep -c '^portal-links') portal-links commands, and its curl line verified a link"
