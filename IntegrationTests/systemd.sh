#!/usr/bin/env bash
# serve under systemd, without systemd as PID 1: `systemd-analyze verify` on dist/portal-links.service (Debian's
# systemd; ExecStart pointed at the binary under test, which verify requires to exist), and the notify protocol
# against a datagram socket the test listens on (IntegrationTests/systemd/test_notify.py).
# PORTAL_LINKS_BIN is the binary (default .build/debug/portal-links).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_LINKS_BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
./scripts/apt-install-missing.sh systemd procps   # procps: /bin/kill, for ExecReload=
python=$(./scripts/python-integration-env.sh)
exec "$python" -m pytest -q -p no:cacheprovider IntegrationTests/systemd "$@"
