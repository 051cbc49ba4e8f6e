import Foundation
import PortalLinksCore

/// The installation's home directory: the master key file lives there, and the SQLite store by default.
public enum InstallationHome {
    /// Creates `home` (mode 0700: it holds the master key) when it does not exist; refuses a path that is not a
    /// directory.
    public static func createIfMissing(_ home: String) throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: home, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw PortalLinksError(.invalidInput, "cannot create the home directory \(home)")
            }
        } else if !isDirectory.boolValue {
            throw PortalLinksError(.invalidInput, "the home \(home) is not a directory")
        }
    }
}
