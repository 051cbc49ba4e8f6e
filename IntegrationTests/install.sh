#!/usr/bin/env bash
# `make install` into a throw-away DESTDIR, as a package build would: every file where docs/deploying.md says,
# the binary runs, the man page renders without a warning (groff's mdoc macros, Debian's groff-base), the bash
# completion completes subcommands and options, and the unit points at the installed binary and reloads with
# SIGHUP. Uses the debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/apt-install-missing.sh groff-base
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
fail() { echo "install.sh: $*" >&2; exit 1; }

make --no-print-directory install INSTALL_CONFIGURATION=debug PREFIX=/usr DESTDIR="$stage" >/dev/null 2>&1 \
    || make --no-print-directory install INSTALL_CONFIGURATION=debug PREFIX=/usr DESTDIR="$stage"
root=$stage/usr
for file in bin/portal-links share/man/man1/portal-links.1 share/bash-completion/completions/portal-links \
            share/zsh/site-functions/_portal-links share/fish/vendor_completions.d/portal-links.fish \
            lib/systemd/system/portal-links.service share/doc/portal-links/portal-links.example.yaml; do
    [[ -s $root/$file ]] || fail "missing $file"
done
[[ $(stat -c %a "$root/bin/portal-links") == 755 ]] || fail "the binary is not mode 0755"
"$root/bin/portal-links" --version >/dev/null || fail "the installed binary does not run"

# The man page: valid mdoc, and it documents the commands (serve's --config, config check).
# (Blank lines between a command's paragraphs are the generator's way: that warning alone is allowed.)
rendered=$(groff -mdoc -Tutf8 -ww -z "$root/share/man/man1/portal-links.1" 2>&1) || fail "groff failed: $rendered"
rendered=$(grep -v '^mdoc warning: Empty input line' <<<"$rendered" || true)
[[ -z $rendered ]] || fail "groff warns about the man page: $rendered"
page=$(groff -mdoc -Tascii "$root/share/man/man1/portal-links.1" 2>/dev/null | sed 's/.\x08//g')
for pattern in '^     serve +Run the verify service' '^     config +Check serve' '^     issue ' '--config FILE' '--tls-cert'; do
    grep -qE -- "$pattern" <<<"$page" || fail "the man page does not show '$pattern'"
done

# bash: the completion function offers the subcommands and serve's options.
complete() {
    bash --norc --noprofile -c "source '$root/share/bash-completion/completions/portal-links'
        COMP_WORDS=($1); COMP_CWORD=$2; COMP_LINE='$1'; COMP_POINT=\${#COMP_LINE}
        _portal-links portal-links \"\${COMP_WORDS[COMP_CWORD]}\" \"\${COMP_WORDS[COMP_CWORD-1]}\"
        printf '%s\n' \"\${COMPREPLY[@]}\""
}
complete "portal-links con" 1 | grep -qx config || fail "bash does not complete 'con' to config"
complete "portal-links serve --conf" 2 | grep -qx -- --config || fail "bash does not complete serve's --config"
head -1 "$root/share/zsh/site-functions/_portal-links" | grep -q '^#compdef portal-links' || fail "the zsh completion has no #compdef"
grep -q "complete -c 'portal-links'\|complete -c portal-links" "$root/share/fish/vendor_completions.d/portal-links.fish" \
    || fail "the fish completion completes nothing for portal-links"

unit=$root/lib/systemd/system/portal-links.service
grep -qx 'ExecStart=/usr/bin/portal-links serve --config /etc/portal-links/portal-links.yaml --log-format json' "$unit" \
    || fail "the unit does not start the installed binary: $(grep ExecStart= "$unit")"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail "the unit does not reload with SIGHUP"
echo "install.sh: make install put everything in place under $stage/usr"
