#!/usr/bin/env bash
# The man page, made from the commands' definitions by swift-argument-parser's generate-manual plugin (on the
# debug build). Without arguments it writes dist/man/portal-links.1 (`make man`); with --check (make test) it
# fails when the committed page no longer matches the commands, its date line aside.
set -euo pipefail
cd "$(dirname "$0")/.."
generated=.build/plugins/GenerateManual/outputs/PortalLinksCLI/portal-links.1
committed=dist/man/portal-links.1
rm -f "$generated"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift package plugin generate-manual --configuration debug >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
[[ -s $generated ]] || { cat "$log" >&2; echo "man-page.sh: the plugin made no $generated" >&2; exit 1; }
if [[ ${1:-} == --check ]]; then
    if ! diff -u <(grep -v '^\.Dd ' "$committed") <(grep -v '^\.Dd ' "$generated") >&2; then
        echo "man-page.sh: $committed does not match the commands: run make man and commit it" >&2
        exit 1
    fi
    echo "man-page.sh: $committed is current"
else
    mkdir -p "$(dirname "$committed")"
    cp "$generated" "$committed"
    echo "man-page.sh: wrote $committed"
fi
