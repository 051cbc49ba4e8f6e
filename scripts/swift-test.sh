#!/usr/bin/env bash
# The Swift suites in three runs, so that the ones whose servers, clients and timeouts run in real time do not
# share the machine with the rest: on 2 cores, other suites' bursts (many PostgreSQL connections, password
# hashes on the test process's own threads, dozens of CLI processes) stall a test's client or timers for
# seconds, longer than the timeouts under test.
set -euo pipefail
real_time='LifecycleTests|VerifyOverTheWireTests|AuthenticationTests|SnapshotReloaderTests'
swift test --skip-build --filter PortalLinksStoreTests
swift test --skip-build --skip "PortalLinksStoreTests|$real_time"
swift test --skip-build --filter "$real_time"
