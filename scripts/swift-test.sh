#!/usr/bin/env bash
# Every Swift suite in one run. Tests that depend on the wall clock were the reason for three separate runs
# before: the connection's and the HTTP gateway's timeouts are now tested on EmbeddedChannels whose clock the
# test moves (ConnectionHandlerTests, ConnectionGuardTests), and tests that assumed which of several
# connections the server admits first no longer do.
set -euo pipefail
swift test --skip-build "$@"
