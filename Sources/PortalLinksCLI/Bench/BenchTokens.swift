import Foundation
import PortalLinks
import PortalLinksClient
import PortalLinksCore
import PortalLinksMessages

/// The tokens a load test sends, by kind, and where they came from: the server's home (staff side), a file
/// `bench tokens` wrote there (a generator elsewhere), or the server itself through Links.Issue.
struct BenchTokens {
    /// Links by mix kind: valid, expired, forged, malformed.
    var links: [String: [String]]
    /// Session tokens, for Sessions.Verify.
    var sessions: [String] = []
    /// An account to sign in as, for Accounts.SignIn.
    var signIn: (email: String, password: String)?
    /// Where they came from, for the one error that says what is missing.
    var source: String

    static let client = ClientID.text("portal-links-bench")
    static let fileFormat = "portal-links bench tokens 1"

    /// Signed with the home's keys: every kind. Valid ones are issued (ledger, audit log) for an hour.
    static func fromHome(_ installation: Installation, count: Int, client: ClientID = client, lifetime: Int64 = 3_600) async throws -> BenchTokens {
        let prepared = try await installation.loadTestTokens(count: count, client: client, lifetime: lifetime)
        return BenchTokens(links: derived(valid: prepared.valid).merging(["expired": prepared.expired]) { $1 }, source: "the home")
    }

    /// Valid links from the server (the key needs the issue scope); forged and malformed ones made from them.
    /// Expired links cannot be had this way: only the staff side signs past times.
    static func fromServer(host: String, port: Int, apiKey: String, count: Int) async throws -> BenchTokens {
        let client = try PortalLinksClient(configuration: .init(host: host, port: port, apiKey: apiKey))
        defer { Task { await client.close() } }
        var valid: [String] = []
        do {
            for _ in 0..<count {
                var request = PortalLinks_V1_IssueRequest()
                request.clientID = "portal-links-bench"
                request.expiresAt = Int64(Date().timeIntervalSince1970) + 3_600
                valid.append(try await client.issue(request).token)
            }
        } catch let error as PortalLinksClientError {
            throw BenchError("without --tokens or a home, bench asks \(host):\(port) for links (Links.Issue), which refused: "
                             + "\(error.message) (give --tokens FILE from portal-links bench tokens, or a key with the issue scope)")
        }
        return BenchTokens(links: derived(valid: valid), source: "the server (Links.Issue)")
    }

    /// Forged (a flipped tag bit) and malformed (cut short) from valid links: anyone can make those.
    static func derived(valid: [String]) -> [String: [String]] {
        let forged = valid.map { token -> String in
            var bytes = Array(token.utf8)
            bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            return String(decoding: bytes, as: UTF8.self)
        }
        return ["valid": valid, "forged": forged, "malformed": valid.map { String($0.dropLast(3)) }]
    }

    /// Every kind the mix asks for, or one error naming what is missing and where it can be had.
    func require(_ kinds: [String]) throws {
        let missing = kinds.filter { links[$0]?.isEmpty ?? true }
        guard missing.isEmpty else {
            throw BenchError("the mix asks for \(missing.joined(separator: " and ")) links, which \(source) cannot give: "
                             + "portal-links bench tokens, where the server's home is, writes every kind (then --tokens FILE)")
        }
    }

    // MARK: The file

    /// What `bench tokens` writes: secret material (valid links and sessions let their bearer in), so 0600.
    func write(to path: String, clientID: String, expiresAt: Int64) throws {
        var object: [String: Any] = ["format": Self.fileFormat, "client_id": clientID, "expires_at": TimeText.format(expiresAt),
                                     "sessions": sessions]
        for (kind, tokens) in links { object[kind] = tokens }
        if let signIn { object["sign_in"] = ["email": signIn.email, "password": signIn.password] }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        try PrivateFile.write(data, to: path)
    }

    static func read(from path: String) throws -> BenchTokens {
        let shown = TerminalText.field(path)
        guard let data = FileManager.default.contents(atPath: path) else { throw BenchError("\(shown): cannot be read") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              object["format"] as? String == fileFormat else {
            throw BenchError("\(shown) is not a tokens file written by portal-links bench tokens")
        }
        var tokens = BenchTokens(links: [:], source: shown)
        for kind in BenchRunCommand.kinds { tokens.links[kind] = object[kind] as? [String] ?? [] }
        tokens.sessions = object["sessions"] as? [String] ?? []
        if let signIn = object["sign_in"] as? [String: String], let email = signIn["email"], let password = signIn["password"] {
            tokens.signIn = (email, password)
        }
        return tokens
    }
}

/// A file only its owner can read, written whole or not at all: to a private temporary file, then renamed.
enum PrivateFile {
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".new-" + Hex.encode(SecureRandom.bytes(8))
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BenchError("\(TerminalText.field(path)): cannot be written (\(String(cString: strerror(errno))))") }
        defer { unlink(temporary) }
        let written = data.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) } == data.count && fsync(descriptor) == 0
        close(descriptor)
        guard written, rename(temporary, path) == 0 else {
            throw BenchError("\(TerminalText.field(path)): cannot be written (\(String(cString: strerror(errno))))")
        }
    }
}
