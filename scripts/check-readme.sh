#!/usr/bin/env bash
# check-readme.sh: runs the README's five-minute walk-through (its first sh block) as a new user would, in a
# throw-away home, with PORTAL_LINKS_BIN's folder first on PATH; fails on the first command that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PORTAL_LINKS_BIN:?set PORTAL_LINKS_BIN to a portal-links binary}"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
block=$(awk '/^## Five minutes/ { section = 1 } section && /^```sh$/ { inside = 1; next } inside && /^```$/ { exit } inside' README.md)
[ -n "$block" ] || { echo "check-readme: no sh block after '## Five minutes' in README.md" >&2; exit 1; }
# The block's own home and binary folder, swapped for the throw-away home and the binary under test.
block=${block//\/tmp\/portal-links-tour/$home/home}
block=${block//\$PWD\/.build\/debug/$(dirname "$PORTAL_LINKS_BIN")}
if ! output=$(bash -euo pipefail -c "$block" 2>&1); then
    printf '%s\n' "$output" | tail -20 >&2
    echo "check-readme: the README's walk-through failed (above)" >&2
    exit 1
fi
echo "check-readme: the README's walk-through ran, $(printf '%s\n' "$block" | grep -c '^portal-links') portal-links commands"
