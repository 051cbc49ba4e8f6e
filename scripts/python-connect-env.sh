#!/usr/bin/env bash
# Makes .build-python-connect/, a virtual environment with Connect's official Python client (connect-python
# 0.9.0, which needs protobuf 5, hence apart from the Python client's .build-python/) and its code generator,
# and prints its python. For the HTTP gateway's tests (IntegrationTests/connect) and make protos.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.build-python-connect"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv" >&2; fi
"$venv/bin/pip" install -q --disable-pip-version-check 'connect-python==0.9.0' 'protoc-gen-connect-python==0.9.0' \
    'protobuf>=5.28,<6' pytest >&2
echo "$venv/bin/python"
