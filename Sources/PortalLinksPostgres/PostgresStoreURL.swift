import PortalLinksCore

/// Where a PostgreSQL store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE[&sslrootcert=FILE]]`, also spelled
/// `postgresql://`, with percent-encoding in the user, password and database. Without a password in the URL,
/// `$PGPASSWORD` is used, as libpq does.
///
/// The password never appears in `description` nor in any error: messages name the host, port, database and user
/// only, and a malformed URL is refused without quoting it.
public struct PostgresStoreURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    /// With `verify-full`: the PEM file of the certificate authorities to check the server's certificate against
    /// (libpq's `sslrootcert`), instead of the system's.
    public var rootCertificateFile: String?

    /// How the connection is encrypted, after libpq's `sslmode`.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS when the server offers it, unverified; the default, as in libpq.
        case prefer
        /// TLS or no connection, but the certificate is not checked (libpq's meaning): it encrypts, and does
        /// not tell who answers. Use `verify-full` where the network is not trusted.
        case require
        /// TLS with the certificate checked against `sslrootcert` (or the system's trusted roots) and the host
        /// name. The recommended mode.
        case verifyFull = "verify-full"
    }

    public static let defaultPort = 5432
    static let schemes = ["postgres://", "postgresql://"]
    static let usage = "a PostgreSQL store URL looks like postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"

    public static func isPostgresURL(_ text: String) -> Bool {
        schemes.contains { text.lowercased().hasPrefix($0) }
    }

    /// Parses `text`; a malformed URL is `invalidInput` with one line saying what is wrong.
    public init(parsing text: String, environment: [String: String] = [:]) throws {
        guard let scheme = Self.schemes.first(where: { text.lowercased().hasPrefix($0) }) else {
            throw Self.invalid("the store URL must start with postgres:// or postgresql://")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw Self.invalid("the store URL names no database") }
        let authority = rest[..<slash]
        // The last "@" ends the user information, so that an unencoded "@" in a password still parses.
        guard let at = authority.lastIndex(of: "@") else { throw Self.invalid("the store URL names no user") }
        let userInformation = authority[..<at]
        let hostAndPort = authority[authority.index(after: at)...]

        let userPart: Substring
        if let colon = userInformation.firstIndex(of: ":") {
            userPart = userInformation[..<colon]
            guard let decoded = Self.percentDecoded(userInformation[userInformation.index(after: colon)...]) else {
                throw Self.invalid("the store URL's password has a malformed percent-encoding")
            }
            password = decoded
        } else {
            userPart = userInformation
            password = environment["PGPASSWORD"]
        }
        guard let decodedUser = Self.percentDecoded(userPart), !decodedUser.isEmpty else {
            throw Self.invalid("the store URL names no user")
        }
        user = decodedUser
        (host, port) = try Self.parseHostAndPort(hostAndPort)

        guard let name = Self.percentDecoded(rest[rest.index(after: slash)...]), !name.isEmpty, !name.contains("/") else {
            throw Self.invalid("the store URL names no database, or more than one path segment")
        }
        database = name
        (sslMode, rootCertificateFile) = try Self.parseParameters(query)
    }

    public init(user: String, password: String?, host: String, port: Int = defaultPort, database: String, sslMode: SSLMode = .prefer,
                rootCertificateFile: String? = nil) {
        self.rootCertificateFile = rootCertificateFile
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
    }

    /// The same server and credentials, another database.
    public func with(database: String) -> PostgresStoreURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL without its password, for messages and logs.
    public var description: String { "postgres://\(user)@\(serverDescription)" }

    /// "HOST:PORT/DATABASE", as error messages name the store.
    public var serverDescription: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "\(hostText):\(port)/\(database)"
    }

    private static func parseHostAndPort(_ text: Substring) throws -> (String, Int) {
        var hostText = text
        var portText: Substring?
        if hostText.hasPrefix("[") {
            guard let close = hostText.firstIndex(of: "]") else { throw invalid("the store URL's IPv6 host lacks its ']'") }
            let after = hostText[hostText.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("the store URL's host is malformed") }
                portText = after.dropFirst()
            }
            hostText = hostText[hostText.index(after: hostText.startIndex)..<close]
        } else if let colon = hostText.lastIndex(of: ":") {
            portText = hostText[hostText.index(after: colon)...]
            hostText = hostText[..<colon]
        }
        guard !hostText.isEmpty else { throw invalid("the store URL names no host") }
        guard let portText else { return (String(hostText), defaultPort) }
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw invalid("the store URL's port must be a number from 1 to 65535")
        }
        return (String(hostText), port)
    }

    private static func parseParameters(_ query: Substring) throws -> (SSLMode, String?) {
        var mode = SSLMode.prefer
        var rootCertificateFile: String?
        for parameter in query.split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            switch pair[0] {
            case "sslmode":
                guard pair.count == 2, let parsed = SSLMode(rawValue: String(pair[1])) else {
                    throw invalid("sslmode takes " + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                mode = parsed
            case "sslrootcert":
                guard pair.count == 2, let path = percentDecoded(pair[1]), !path.isEmpty else {
                    throw invalid("sslrootcert takes the path of a PEM file")
                }
                rootCertificateFile = path
            default:
                throw invalid("the store URL takes only the sslmode and sslrootcert parameters")
            }
        }
        if rootCertificateFile != nil, mode != .verifyFull {
            throw invalid("sslrootcert is for sslmode=verify-full, the only mode that checks the certificate")
        }
        return (mode, rootCertificateFile)
    }

    /// Decodes %XX escapes as UTF-8; nil for a malformed escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.popFirst().flatMap(hexValue), let low = utf8.popFirst().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func invalid(_ problem: String) -> PortalLinksError {
        PortalLinksError(.invalidInput, "\(problem) (\(usage))")
    }
}
