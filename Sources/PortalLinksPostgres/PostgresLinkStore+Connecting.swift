import PostgresNIO

extension PostgresLinkStore {
    /// A connection of its own, outside the pool (migrations, listening), made within the connect timeout.
    static func connect(_ location: PostgresStoreURL) async throws -> PostgresConnection {
        do {
            var configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: try connectionTLS(location))
            configuration.options.connectTimeout = .seconds(Int64(connectTimeoutSeconds))
            return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: quiet)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw connectFailure(error, location: location)
        }
    }

    /// libpq's meaning of each sslmode: only verify-full checks the certificate; prefer and require encrypt
    /// against eavesdropping alone.
    /// With verify-full, the server's certificate is checked against `sslrootcert` when the URL names one.
    static func tlsConfiguration(_ location: PostgresStoreURL) -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            if let file = location.rootCertificateFile { configuration.trustRoots = .file(file) }
        }
        return configuration
    }

    /// For the pool.
    static func clientTLS(_ location: PostgresStoreURL) -> PostgresClient.Configuration.TLS {
        guard let configuration = tlsConfiguration(location) else { return .disable }
        return location.sslMode == .prefer ? .prefer(configuration) : .require(configuration)
    }

    /// For connections of the store's own (migrations, listening).
    static func connectionTLS(_ location: PostgresStoreURL) throws -> PostgresConnection.Configuration.TLS {
        guard let configuration = tlsConfiguration(location) else { return .disable }
        let context = try NIOSSLContext(configuration: configuration)
        return location.sslMode == .prefer ? .prefer(context) : .require(context)
    }
}
