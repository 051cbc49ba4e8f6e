#!/usr/bin/env bash
# Crashes and faults (IntegrationTests/crash-test.py): kill -9 of staff commands and of the server, and a full disk.
# PORTAL_LINKS_BIN is the binary under test (default: the debug build); arguments go to crash-test.py
# (--parts staff,server,disk --kills 100 --rounds 5 --seed N). The disk-full part needs root for mount.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_LINKS_BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
python=$(./scripts/python-env.sh)
exec "$python" IntegrationTests/crash-test.py "$@"
