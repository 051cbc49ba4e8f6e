#!/usr/bin/env bash
# Forward auth through Debian's nginx and Caddy, configured exactly as docs/http.md shows, in front of an echoing
# upstream (IntegrationTests/proxies.py). About half a minute. PORTAL_LINKS_BIN is the binary (default
# .build/debug/portal-links).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_LINKS_BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
./scripts/apt-install-missing.sh nginx caddy
python=$(./scripts/python-env.sh)
exec "$python" IntegrationTests/proxies.py "$@"
