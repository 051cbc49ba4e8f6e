import NIOSSL

/// The TLS every `serve` listener speaks, whatever configuration it was given: TLS 1.2 or 1.3, and in TLS 1.2
/// only ECDHE key exchange with AEAD ciphers (forward secrecy; no RSA key exchange, no CBC). TLS 1.3's suites
/// all have both. swift-nio-ssl's default minimum is TLS 1.0.
public enum TLSPolicy {
    /// Mozilla's "intermediate" TLS 1.2 suites without the DHE ones.
    public static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    public static func applied(to configuration: TLSConfiguration) -> TLSConfiguration {
        var configuration = configuration
        configuration.minimumTLSVersion = .tlsv12
        if configuration.maximumTLSVersion.map({ [.tlsv1, .tlsv11].contains($0) }) == true { configuration.maximumTLSVersion = .tlsv12 }
        configuration.cipherSuites = tls12CipherSuites
        return configuration
    }
}
