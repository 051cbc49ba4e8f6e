#!/usr/bin/env bash
# Makes .build-python/, a virtual environment with the Python client (from Clients/python), protobuf 4.x and
# pytest from PyPI, and prints its python. Reinstalls the client every time, so it is always the working copy.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.build-python"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv" >&2; fi
"$venv/bin/pip" install -q --disable-pip-version-check 'protobuf>=4.21,<5' pytest >&2
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall ./Clients/python >&2
echo "$venv/bin/python"
