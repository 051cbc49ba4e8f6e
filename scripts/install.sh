#!/usr/bin/env bash
# `make install`: the binary, the man page, bash/zsh/fish completions (written by the binary itself), the systemd
# unit (its ExecStart= pointed at the installed binary) and the annotated settings file, under DESTDIR/PREFIX.
# Usage: scripts/install.sh DESTDIR PREFIX BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
destdir=$1 prefix=$2 binary=$3
root="$destdir$prefix"
install -D -m 0755 "$binary" "$root/bin/portal-links"
install -D -m 0644 dist/man/portal-links.1 "$root/share/man/man1/portal-links.1"
completions=$(mktemp -d)
trap 'rm -rf "$completions"' EXIT
for shell in bash zsh fish; do
    "$binary" --generate-completion-script "$shell" >"$completions/$shell"
done
install -D -m 0644 "$completions/bash" "$root/share/bash-completion/completions/portal-links"
install -D -m 0644 "$completions/zsh" "$root/share/zsh/site-functions/_portal-links"
install -D -m 0644 "$completions/fish" "$root/share/fish/vendor_completions.d/portal-links.fish"
sed "s|/usr/local/bin/portal-links|$prefix/bin/portal-links|g" dist/portal-links.service >"$completions/unit"
install -D -m 0644 "$completions/unit" "$root/lib/systemd/system/portal-links.service"
install -D -m 0644 docs/portal-links.example.yaml "$root/share/doc/portal-links/portal-links.example.yaml"
echo "installed portal-links under $root"
