import Foundation
import PortalLinksCore
import PortalLinksStore

/// Finds the master key: `PORTAL_LINKS_MASTER_KEY` (64 hex digits) or the `master.key` file in the home
/// directory, which the first run creates with mode 0600. The key must open the store's check value, so a
/// wrong key is refused before it can seal anything.
public enum MasterKeyLoader {
    public static let environmentVariable = "PORTAL_LINKS_MASTER_KEY"
    static let fileName = "master.key"
    private static let checkPlaintext = Array("portal-links master key check v1".utf8)
    private static let checkContext = Array("portal-links master key check".utf8)

    static func load(home: String, environment: [String: String], store: some LinkStore) async throws -> MasterKey {
        let path = (home as NSString).appendingPathComponent(fileName)
        let key: MasterKey
        let source: String
        if let text = environment[environmentVariable] {
            guard let parsed = parse(text) else {
                throw PortalLinksError(.masterKey, "\(environmentVariable) must be 64 hex digits (32 bytes)")
            }
            key = parsed
            source = environmentVariable
        } else if FileManager.default.fileExists(atPath: path) {
            key = try readFile(at: path)
            source = path
            removeAbandonedTemporaries(of: path)
        } else if try await store.masterKeyCheck(storingIfAbsent: nil) != nil {
            throw PortalLinksError(.masterKey,
                "no master key: this ring is sealed, but \(environmentVariable) is not set and \(path) is missing")
        } else {
            key = try createFile(at: path)
            source = path
        }
        let proposed = key.seal(checkPlaintext, context: checkContext)
        guard let check = try await store.masterKeyCheck(storingIfAbsent: proposed),
              key.open(check, context: checkContext) == checkPlaintext
        else {
            throw PortalLinksError(.masterKey, "the master key from \(source) is not the one this ring is sealed under")
        }
        return key
    }

    static func parse(_ text: String) -> MasterKey? {
        Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap(MasterKey.init(bytes:))
    }

    private static func readFile(at path: String) throws -> MasterKey {
        var info = stat()
        guard stat(path, &info) == 0 else { throw PortalLinksError(.masterKey, "cannot read the master key file \(path)") }
        guard info.st_mode & 0o077 == 0 else {
            throw PortalLinksError(.masterKey,
                "the master key file \(path) is open to other users (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path),
              let key = parse(String(decoding: data, as: UTF8.self))
        else { throw PortalLinksError(.masterKey, "the master key file \(path) does not hold 64 hex digits") }
        return key
    }

    /// A first run killed while writing the key leaves its temporary file, key material included; a later
    /// run removes such files once they are a minute old (a first run still writing takes milliseconds).
    private static func removeAbandonedTemporaries(of path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".new-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            let file = (folder as NSString).appendingPathComponent(name)
            var info = stat()
            guard stat(file, &info) == 0, time(nil) - info.st_mtim.tv_sec > 60 else { continue }
            unlink(file)
        }
    }

    /// Writes the key to a private temporary file, then links it into place, which fails if the file exists:
    /// the key file is never seen half-written, and two first runs at once end up sharing one key.
    private static func createFile(at path: String) throws -> MasterKey {
        let key = MasterKey.generate()
        let temporary = path + ".new-" + Hex.encode(SecureRandom.bytes(8))
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw PortalLinksError(.masterKey, "cannot create the master key file \(path)") }
        defer { unlink(temporary) }
        let text = Array((key.hexEncoded + "\n").utf8)
        let written = write(descriptor, text, text.count) == text.count && fsync(descriptor) == 0
        close(descriptor)
        guard written else { throw PortalLinksError(.masterKey, "cannot write the master key file \(path)") }
        if link(temporary, path) != 0 {
            if errno == EEXIST { return try readFile(at: path) }
            throw PortalLinksError(.masterKey, "cannot create the master key file \(path)")
        }
        return key
    }
}
