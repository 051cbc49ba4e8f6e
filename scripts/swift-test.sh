#!/usr/bin/env bash
# The Swift suites, in one run. Timeouts and limits are tested on an EmbeddedChannel with time moved by the
# test (ConnectionHandlerTests), so no suite needs the machine to itself; the live-server suites wait for
# outcomes with generous upper bounds only.
set -euo pipefail
exec swift test --skip-build "$@"
