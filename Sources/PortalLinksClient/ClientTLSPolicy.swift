import NIOSSL

/// What the client asks of a server's TLS, whatever configuration it was given: what `serve` speaks (TLS 1.2 or
/// 1.3, ECDHE with AEAD ciphers in TLS 1.2), so that a downgraded or misconfigured peer is refused, as the C
/// and Python clients do.
enum ClientTLSPolicy {
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    static func applied(to configuration: TLSConfiguration) -> TLSConfiguration {
        var configuration = configuration
        configuration.minimumTLSVersion = .tlsv12
        if configuration.maximumTLSVersion.map({ [.tlsv1, .tlsv11].contains($0) }) == true { configuration.maximumTLSVersion = .tlsv12 }
        configuration.cipherSuites = tls12CipherSuites
        return configuration
    }
}
