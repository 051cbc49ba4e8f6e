#!/usr/bin/env bash
# The C and Python clients against a conformance server (portal-links conformance-server) on free loopback
# ports, with TLS, mutual TLS and without: the language-neutral cases and each client's own tests. Then the
# Node.js example against a live server's HTTP gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    # make test's scan for secrets (scripts/scan-secrets.py): the server's log, and the API keys it handed out.
    if [ -n "${PORTAL_LINKS_CAPTURE:-}" ] && [ -f "$WORK/manifest.json" ]; then
        mkdir -p "$PORTAL_LINKS_CAPTURE/output" "$PORTAL_LINKS_CAPTURE/secrets"
        cp "$WORK/server.log" "$PORTAL_LINKS_CAPTURE/output/conformance-server.log"
        python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["api_keys"].values()))' \
            "$WORK/manifest.json" > "$PORTAL_LINKS_CAPTURE/secrets/conformance-server"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Certificates for the TLS ports, valid two days: a CA, the server (localhost, 127.0.0.1) and a client.
(
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=portal-links-test-ca \
        -keyout ca.key -out ca.pem 2>/dev/null
    for name in server client; do
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -keyout $name.key -out $name.csr 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > $name.ext
        openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $name.ext -out $name.pem 2>/dev/null
    done
)

"$BIN" conformance-server --vectors Protos/testdata/golden_tokens.json --manifest "$WORK/manifest.json" --tls-dir "$WORK" \
    2> "$WORK/server.log" &
SERVER=$!
for _ in $(seq 150); do
    [ -f "$WORK/manifest.json" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log"; echo "the conformance server did not start"; exit 1; }
    sleep 0.2
done
[ -f "$WORK/manifest.json" ] || { cat "$WORK/server.log"; echo "the conformance server did not start in 30 s"; exit 1; }

echo "== C client (Clients/c), under valgrind"
make -s -C Clients/c all
make -s -C Clients/c check MANIFEST="$WORK/manifest.json"

echo "== Python client (Clients/python)"
python=$(./scripts/python-env.sh)
(cd Clients/python && PORTAL_LINKS_CONFORMANCE="$WORK/manifest.json" "$python" -m pytest -q -p no:cacheprovider tests)

echo "== Node.js over the HTTP gateway (Clients/node)"
./scripts/apt-install-missing.sh nodejs
(cd Clients/node && PORTAL_LINKS_BIN="$BIN" node --test test/)
