#!/usr/bin/env bash
# Makes .build-python-integration/, the integration tests' Python environment, and prints its python: Connect's
# official client (connect-python 0.9.0, which needs protobuf 5, hence apart from the Python client's
# .build-python/) and its code generator, for the HTTP gateway's tests (IntegrationTests/connect) and make protos;
# HdrHistogram_py, the reference reader of the histograms bench writes, and Pillow, to read the screenshots
# of its reports (IntegrationTests/bench); aiosmtpd, the SMTP server the email tests send to (IntegrationTests/email).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.build-python-integration"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv" >&2; fi
"$venv/bin/pip" install -q --disable-pip-version-check 'connect-python==0.9.0' 'protoc-gen-connect-python==0.9.0' \
    'protobuf>=5.28,<6' 'hdrhistogram==0.10.8' 'pillow==11.3.0' 'aiosmtpd==1.4.6' pytest >&2
echo "$venv/bin/python"
