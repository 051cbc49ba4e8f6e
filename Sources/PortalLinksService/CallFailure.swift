import PortalLinksCore
import PortalLinksWire

/// A refused call: the status, a one-line message for the Error payload, and a machine-readable reason
/// where the status is not enough.
package struct CallFailure: Error, Sendable {
    package let status: StatusCode
    package let message: String
    package var reason: String? = nil

    static let deadlinePassed = CallFailure(status: .deadlineExceeded, message: "the deadline passed before the call started")

    /// The wire status for an error from below; storage details stay in the server's log.
    static func from(_ error: any Error) -> CallFailure {
        if let failure = error as? CallFailure { return failure }  // already the call's answer (Issue's own refusals)
        guard let error = error as? PortalLinksError else { return CallFailure(status: .internal, message: "storage error") }
        let status: StatusCode
        switch error.code {
        case .invalidInput: status = .invalidArgument
        case .notFound: status = .notFound
        case .conflict: status = .failedPrecondition
        case .alreadyExists: status = .alreadyExists
        case .unauthenticated: status = .unauthenticated
        case .busy: status = .resourceExhausted
        // Which server could not be reached is for the server's log, not for callers.
        case .unavailable: return CallFailure(status: .unavailable, message: "the store is unavailable")
        default: return CallFailure(status: .internal, message: "internal error")
        }
        return CallFailure(status: status, message: error.message, reason: error.reason)
    }
}
