#!/usr/bin/env bash
# Every Swift suite in one run, at most four tests at a time. Tests that depend on the wall clock were the reason
# for three separate runs before: the connection's and the HTTP gateway's timeouts are now tested on
# EmbeddedChannels whose clock the test moves (ConnectionHandlerTests, ConnectionGuardTests), and tests that
# assumed which of several connections the server admits first no longer do. The cap keeps the CPU-heavy suites
# (the verifier's and the one-spelling tests over Unicode's data) from starving the live-server tests, whose
# clients still wait in real time, on a 2-core machine; without it the run took as long and missed a live
# server's 20 s window in 2 runs of 6.
set -euo pipefail
swift test --skip-build --experimental-maximum-parallelization-width 4 "$@"
