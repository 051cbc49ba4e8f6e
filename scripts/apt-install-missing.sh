#!/usr/bin/env bash
# apt-install-missing.sh PACKAGE...: installs those of the Debian packages that are not installed yet (with sudo
# when not root), quietly, and says which. The one place the Makefile and the scripts install from.
set -euo pipefail
missing=()
for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=$([ "$(id -u)" = 0 ] || echo sudo)
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
