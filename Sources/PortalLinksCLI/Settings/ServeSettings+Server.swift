import NIOCore
import NIOSSL
import PortalLinks
import PortalLinksCore
import PortalLinksService
import PortalLinksStore

extension ServeSettings {
    /// The server's configuration, but for the account emails (`ServeCommand.accountMail`). Reads the TLS files;
    /// a key that is not the certificate's shows when the server makes its context (`namingTLSFiles`).
    func serverConfiguration() throws -> ServerConfiguration {
        var configuration = try reloadableConfiguration()
        (configuration.host, configuration.port) = ServeSetting.hostAndPort(self["listen"]!)!
        configuration.baseURL = self["links.base_url"]
        if let threads = number("hashing.threads") { configuration.hashThreads = threads }
        configuration.maximumWaitingHashes = number("hashing.queue")!
        configuration.hashPriority = HashingPool.Priority(rawValue: self["hashing.priority"]!)!
        return configuration
    }

    /// What `PortalLinksServer.reload` applies: limits, timeouts and TLS (the rest left at its defaults).
    func reloadableConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.maximumConnections = number("limits.max_connections")!
        configuration.maximumConnectionsPerAddress = number("limits.max_connections_per_address")!
        configuration.maximumInFlight = number("limits.max_in_flight")!
        configuration.maximumPayload = number("limits.max_frame_bytes")!
        configuration.idleTimeout = .seconds(seconds("timeouts.idle")!)
        configuration.partialFrameTimeout = .seconds(seconds("timeouts.frame")!)
        configuration.drainTimeout = .seconds(seconds("timeouts.drain")!)
        configuration.tls = try tlsConfiguration()
        return configuration
    }

    func tlsConfiguration() throws -> TLSConfiguration? {
        guard let certificate = self["tls.cert_file"], let key = self["tls.key_file"] else { return nil }
        return try namingTLSFiles {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            if let clientCA = self["tls.client_ca_file"] {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
            }
            return configuration
        }
    }

    /// Runs `body`, which reads the TLS files or makes a context of them (where a key that is not the
    /// certificate's fails), naming the files in what swift-nio-ssl throws: its errors name neither the files
    /// nor, rightly, the key's bytes.
    func namingTLSFiles<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error where error is NIOSSLError || error is BoringSSLError {
            let files = ["tls.cert_file", "tls.key_file", "tls.client_ca_file"].compactMap { self[$0].map(TerminalText.field) }
            throw PortalLinksError(.invalidInput, "cannot load the TLS files \(files.joined(separator: ", ")): \(error)")
        }
    }

    var accountPolicy: AccountPolicy {
        var policy = AccountPolicy()
        policy.passwords.minimumLength = number("accounts.min_password_length")!
        policy.lockout = LockoutPolicy(maximumFailures: number("accounts.lockout_attempts")!, lockSeconds: seconds("accounts.lockout_duration")!)
        return policy
    }

    /// The settings a reload cannot apply whose value differs in `other`.
    func needingRestart(against other: ServeSettings) -> [String] {
        ServeSetting.all.filter { !$0.reloads && self[$0.key] != other[$0.key] }.map(\.key)
    }

    /// The settings a reload applies whose value differs in `other`.
    func reloadable(against other: ServeSettings) -> [String] {
        ServeSetting.all.filter { $0.reloads && self[$0.key] != other[$0.key] }.map(\.key)
    }
}
