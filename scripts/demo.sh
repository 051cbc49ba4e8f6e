#!/usr/bin/env bash
# A five-minute tour on the embedded default: issue a link, verify it, rotate keys, revoke.
set -euo pipefail
pl="${PORTAL_LINKS_BIN:-portal-links}"
export PORTAL_LINKS_HOME="${PORTAL_LINKS_HOME:-$(mktemp -d)/portal-links}"
step() { printf '\n\033[1m$ portal-links %s\033[0m\n' "$*"; "$pl" "$@"; }

echo "home: $PORTAL_LINKS_HOME"
link=$("$pl" issue --client acme --name "Acme Corp" --base-url https://portal.example.com/join --sent-to ops@acme.example)
printf '\n\033[1m$ portal-links issue --client acme --name "Acme Corp" --base-url https://portal.example.com/join\033[0m\n%s\n' "$link"
step verify "$link"
step keys rotate
step verify "$link"
link_id=$("$pl" verify --json "$link" | sed -E 's/.*"link_id":"([0-9a-f]+)".*/\1/')
step revoke link "$link_id"
step verify "$link" || echo "(exit status $?: the link is refused)"
step inspect "$link"
step keys list
step audit
step audit verify
