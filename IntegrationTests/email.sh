#!/usr/bin/env bash
# Sending invitations over SMTP against a real SMTP server: aiosmtpd (PyPI) on a free loopback port, with
# STARTTLS required and AUTH, its certificate made by openssl for the test (IntegrationTests/email/test_send.py).
# PORTAL_LINKS_BIN is the binary (default .build/debug/portal-links).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_LINKS_BIN="${PORTAL_LINKS_BIN:-$PWD/.build/debug/portal-links}"
python=$(./scripts/python-integration-env.sh)
exec "$python" -m pytest -q -p no:cacheprovider IntegrationTests/email "$@"
