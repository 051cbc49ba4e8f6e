import Foundation
import NIOSSL
import PortalLinksCore
import PostgresNIO

/// A failure reported by the PostgreSQL server that is not one of the store's own refusals: one line with the
/// server's message and SQLSTATE, never the statement or its values (PostgresNIO keeps those in its error).
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    public let sqlState: String
    public let message: String

    public var description: String { "storage error: \(message) (SQLSTATE \(sqlState))" }
}

/// SQLSTATE values the store acts on.
enum SQLState {
    static let uniqueViolation = "23505"
    static let lockNotAvailable = "55P03"
    static let invalidCatalogName = "3D000"
    static let invalidPassword = "28P01"
    static let invalidAuthorization = "28000"

    /// Classes that mean the server cannot serve right now rather than that the statement was wrong: connection
    /// exceptions (08), insufficient resources such as too many connections (53), and a shutdown or restart
    /// under way (57P).
    static func meansUnavailable(_ state: String) -> Bool {
        state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P")
    }
}

extension PostgresLinkStore {
    /// What the store throws for an error from PostgresNIO. Its own errors pass through; server errors become
    /// `PostgresStoreError`; a connection that cannot be made or was lost becomes `unavailable`, naming the
    /// server and database (never the password).
    static func translated(_ error: any Error, location: PostgresStoreURL) -> any Error {
        switch error {
        case is PortalLinksError, is PostgresStoreError, is CancellationError:
            return error
        case let error as PSQLError:
            if error.code == .server, let state = error.serverInfo?[.sqlState], !SQLState.meansUnavailable(state) {
                return PostgresStoreError(sqlState: state, message: error.serverInfo?[.message] ?? "no message")
            }
            return PortalLinksError(.unavailable, "PostgreSQL at \(location.serverDescription) is unavailable: \(reason(error))")
        case let error as PostgresDecodingError:
            // Its description would show the stored bytes.
            return PortalLinksError(.corrupt, "the stored column \(error.columnName) does not hold the expected type")
        default:
            return PortalLinksError(.unavailable, "PostgreSQL at \(location.serverDescription) is unavailable: \(reason(error))")
        }
    }

    /// Why a connection could not be made, in words a person can act on.
    static func connectFailure(_ error: any Error, location: PostgresStoreURL) -> PortalLinksError {
        let server = "PostgreSQL at \(location.serverDescription)"
        if let file = location.rootCertificateFile,
           let error = error as? NIOSSLError, error == .noSuchFilesystemObject || error == .failedToLoadCertificate {
            return PortalLinksError(.unavailable, "cannot connect to \(server): sslrootcert \(file) holds no readable PEM certificate")
        }
        guard let error = error as? PSQLError else { return PortalLinksError(.unavailable, "cannot connect to \(server): \(reason(error))") }
        switch error.serverInfo?[.sqlState] {
        case SQLState.invalidCatalogName?:
            return PortalLinksError(.unavailable, "\(server): the database '\(location.database)' does not exist")
        case SQLState.invalidPassword?, SQLState.invalidAuthorization?:
            return PortalLinksError(.unavailable, "\(server) refused user '\(location.user)': \(error.serverInfo?[.message] ?? "authentication failed")")
        default:
            return PortalLinksError(.unavailable, "cannot connect to \(server): \(reason(error))")
        }
    }

    /// The one-line cause of a failure below the store, without NIO's structure around it. PostgresNIO's own
    /// description is deliberately generic, and its debug description holds the statement and bound values,
    /// so neither is used.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return reason(underlying) }
            switch error.code {
            case .serverClosedConnection: return "the server closed the connection"
            case .sslUnsupported: return "the server does not offer TLS (sslmode=require)"
            case .authMechanismRequiresPassword: return "the server asks for a password; put it in the URL or $PGPASSWORD"
            case .poolClosed: return "the store was closed"
            default: return "\(error.code)"
            }
        case let error as NIOConnectionError:
            if let attempt = error.connectionErrors.last { return reason(attempt.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "the host name does not resolve" }
            return "no address to connect to"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case ChannelError.connectTimeout:
            return "no answer within \(connectTimeoutSeconds) seconds"
        // sslmode=verify-full's two refusals, in words rather than BoringSSL's.
        case NIOSSLError.handshakeFailed(let failure) where "\(failure)".contains("CERTIFICATE_VERIFY_FAILED"):
            return "the server's certificate is not signed by a trusted CA (sslrootcert, or the system's roots without it)"
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return "the server's certificate does not name the host connected to"
        default:
            return "\(error)"
        }
    }
}
