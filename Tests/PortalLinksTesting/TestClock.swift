import Foundation
import Synchronization

/// A clock the test moves, in Unix seconds; by default it starts at the real time, so that links issued by a
/// server look current.
public final class TestClock: Sendable {
    private let value: Mutex<Int64>

    public init(_ start: Int64 = Int64(Date().timeIntervalSince1970)) { value = Mutex(start) }

    public var now: Int64 { value.withLock { $0 } }

    public func advance(by seconds: Int64) { value.withLock { $0 += seconds } }
}
