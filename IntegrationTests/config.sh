#!/usr/bin/env bash
# serve's configuration file and its reloads (IntegrationTests/config/test_config.py): `config check` on the
# annotated example and on broken files, the precedence of flags, environment, file and defaults, secrets kept
# out of files others can read and out of every output, and SIGHUP or a changed file replacing the TLS
# certificate, the log level and the limits while an established client keeps verifying (openssl s_client).
# PORTAL_LINKS_BIN is the binary (default .build/debug/portal-links).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_LINKS_BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
python=$(./scripts/python-integration-env.sh)
exec "$python" -m pytest -q -p no:cacheprovider IntegrationTests/config "$@"
