#!/usr/bin/env bash
# Hostile clients against a live portal-links serve on loopback (IntegrationTests/hostile-clients.py): slow senders,
# a connection flood, a caller that never reads, API key and password brute force, token scanning. About a
# minute; at most four. Arguments pick scenarios by number (default: all). PORTAL_LINKS_BIN is the binary
# (default .build/debug/portal-links); HOSTILE_STRICT=1 counts the known gaps as failures.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_LINKS_BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
python=$(./scripts/python-env.sh)
exec "$python" IntegrationTests/hostile-clients.py "$@"
