#!/usr/bin/env bash
# The Swift suites in two runs: the stores' (many PostgreSQL servers and connections at once) first, then the
# rest, whose servers and timeouts run in real time. Together in one run, the store tests' bursts starve the
# servers' event loops on a 2-core machine for long enough to trip their timeouts.
set -euo pipefail
swift test --skip-build --filter PortalLinksStoreTests
swift test --skip-build --skip PortalLinksStoreTests
