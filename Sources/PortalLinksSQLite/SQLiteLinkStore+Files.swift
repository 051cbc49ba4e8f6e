import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    /// The store holds password hashes and API-key hashes: its file is its owner's alone, whatever the umask and
    /// wherever `--store sqlite:PATH` puts it. A new file is created 0600 (SQLite gives its -wal and -shm files the
    /// database file's mode); an existing one open to other users is refused, as the master key file is.
    static func preparePrivateFile(at path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            defer { _ = Glibc.close(descriptor) }
            guard fchmod(descriptor, 0o600) == 0 else { throw PortalLinksError(.invalidInput, "cannot set the mode of \(path)") }
        } else if errno != EEXIST {
            throw PortalLinksError(.invalidInput, "cannot create the store file \(path)")
        }
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0 else { continue }
            guard info.st_mode & 0o077 == 0 else {
                throw PortalLinksError(.invalidInput, """
                    the store file \(file) is open to other users (mode \(String(info.st_mode & 0o777, radix: 8))); \
                    run: chmod 600 \(path) \(path)-wal \(path)-shm
                    """)
            }
        }
    }
}
