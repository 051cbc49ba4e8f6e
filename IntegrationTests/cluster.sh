#!/usr/bin/env bash
# cluster.sh test|bench: three portal-links serve nodes, one PostgreSQL and HAProxy on loopback
# (IntegrationTests/cluster.py). Installs HAProxy and PostgreSQL from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PORTAL_LINKS_BIN:?set PORTAL_LINKS_BIN to a portal-links binary}"
./scripts/apt-install-missing.sh haproxy
python=$(./scripts/python-env.sh)
exec ./scripts/with-postgres.sh "$python" IntegrationTests/cluster.py "$1"
