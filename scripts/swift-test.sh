#!/usr/bin/env bash
# The Swift suites in three runs: the store suites, the live-server suites whose clients and timeouts run in
# real time, and the rest. In one run (tried: `swift test --skip-build`) they pass most times, but about one run
# in three a wall-clock bound in a store or live-server test is missed, because every suite then shares two
# cores and Swift concurrency's two threads (password hashes, PostgreSQL, CLI processes). The connection's
# own timeouts need no wall clock any more (ConnectionHandlerTests, on an EmbeddedChannel).
set -euo pipefail
real_time='LifecycleTests|VerifyOverTheWireTests|AuthenticationTests|ClientReconnectTests|SnapshotReloaderTests'
swift test --skip-build --filter PortalLinksStoreTests "$@"
swift test --skip-build --skip "PortalLinksStoreTests|$real_time" "$@"
swift test --skip-build --filter "$real_time" "$@"
