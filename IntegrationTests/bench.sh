#!/usr/bin/env bash
# bench's JSON read by HdrHistogram's reference Python implementation (IntegrationTests/bench/test_histograms.py),
# and its HTML reports rendered by headless Chromium and checked from the screenshot (test_report_in_a_browser.py),
# in the integration tests' environment (scripts/python-integration-env.sh). PORTAL_LINKS_BIN is the binary
# (default .build/debug/portal-links).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_LINKS_BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
python=$(./scripts/python-integration-env.sh)
./scripts/apt-install-missing.sh chromium
exec "$python" -m pytest -q -p no:cacheprovider IntegrationTests/bench "$@"
