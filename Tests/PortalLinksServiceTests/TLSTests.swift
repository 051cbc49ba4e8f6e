import Foundation
import PortalLinksTesting
import NIOSSL
import PortalLinksClient
import Testing

/// TLS and mutual TLS with certificates made for the test by the openssl command.
@Suite(.timeLimit(.minutes(1))) struct TLSTests {
    struct Certificates {
        let directory: String
        var ca: String { directory + "/ca.pem" }
        var serverCertificate: String { directory + "/server.pem" }
        var serverKey: String { directory + "/server.key" }
        var clientCertificate: String { directory + "/client.pem" }
        var clientKey: String { directory + "/client.key" }
    }

    /// The server's key type: RSA makes RSA key exchange possible, which the policy must refuse.
    static func makeCertificates(rsa: Bool = false) async throws -> Certificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(directory)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem 2>/dev/null
            for name in server client; do
              if [ \(rsa) = true ] && [ $name = server ]; then key='rsa:2048'; else key='ec -pkeyopt ec_paramgen_curve:P-256'; fi
              openssl req -newkey $key -nodes -subj /CN=localhost -keyout $name.key -out $name.csr 2>/dev/null
              printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > $name.ext
              openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $name.ext -out $name.pem 2>/dev/null
            done
            """
        guard try await Subprocess.run("/bin/sh", ["-c", script]).status == 0 else { throw CocoaError(.fileWriteUnknown) }
        return Certificates(directory: directory)
    }

    static func serverTLS(_ certificates: Certificates, mutual: Bool) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.serverKey, format: .pem)))
        if mutual {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .file(certificates.ca)
        }
        return configuration
    }

    static func clientTLS(_ certificates: Certificates, withCertificate: Bool) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(certificates.ca)
        if withCertificate {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificates.clientCertificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: certificates.clientKey, format: .pem))
        }
        return configuration
    }

    @Test func tls() async throws {
        let certificates = try await Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let tls = try Self.serverTLS(certificates, mutual: false)
        let server = try await LiveServer.start { $0.tls = tls }
        defer { Task { await server.stop() } }
        let client = try server.client(apiKey: server.verifierKey, tls: try Self.clientTLS(certificates, withCertificate: false))
        #expect(try await client.health() == .serving)
        #expect(try await client.hello().caller == "frontend")
        await client.close()
        // A client speaking plain TCP to a TLS port gets nowhere.
        let plain = try server.client()
        await #expect(throws: PortalLinksClientError.self) { _ = try await plain.health() }
        // The HTTP gateway serves HTTPS with the same certificate, and nothing in plain HTTP.
        let https = try await Subprocess.run("/usr/bin/env", ["curl", "-s", "--cacert", certificates.ca, "-o", "/dev/null", "-w", "%{http_code}",
                                                              "https://127.0.0.1:\(server.gatewayPort)/healthz"])
        #expect(String(decoding: https.stdout, as: UTF8.self) == "200")
        let http = try await Subprocess.run("/usr/bin/env", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                             "http://127.0.0.1:\(server.gatewayPort)/healthz"])
        #expect(String(decoding: http.stdout, as: UTF8.self) != "200")
    }

    @Test func mutualTLSNeedsAClientCertificate() async throws {
        let certificates = try await Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let tls = try Self.serverTLS(certificates, mutual: true)
        let server = try await LiveServer.start { $0.tls = tls }
        defer { Task { await server.stop() } }
        let withCertificate = try server.client(apiKey: server.verifierKey, tls: try Self.clientTLS(certificates, withCertificate: true))
        #expect(try await withCertificate.health() == .serving)
        await withCertificate.close()
        let without = try server.client(apiKey: server.verifierKey, tls: try Self.clientTLS(certificates, withCertificate: false))
        await #expect(throws: PortalLinksClientError.self) { _ = try await without.health() }
    }

    /// The policy, tried with OpenSSL's own client against an RSA certificate: TLS 1.0 and 1.1 and RSA key exchange
    /// are refused even when the client offers nothing else (security level 0), TLS 1.2 comes with ECDHE and an
    /// AEAD cipher, TLS 1.3 works. Both sides of the policy: the Swift client still connects.
    @Test func onlyTLS12AndNewerWithForwardSecrecy() async throws {
        let certificates = try await Self.makeCertificates(rsa: true)
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let tls = try Self.serverTLS(certificates, mutual: false)
        let server = try await LiveServer.start { $0.tls = tls }
        defer { Task { await server.stop() } }
        func handshake(_ options: [String], port: Int? = nil) async throws -> (ok: Bool, output: String) {
            let result = try await Subprocess.run("/usr/bin/env", ["openssl", "s_client", "-connect", "127.0.0.1:\(port ?? server.port)",
                                                                   "-brief"] + options, mergeStderr: true)
            let text = String(decoding: result.stdout, as: UTF8.self)
            return (result.status == 0 && text.contains("Protocol version"), text)
        }
        // Both listeners: the binary port and the HTTP gateway.
        for port in [server.port, server.gatewayPort] {
            for refused in [["-tls1", "-cipher", "ALL@SECLEVEL=0"], ["-tls1_1", "-cipher", "ALL@SECLEVEL=0"],
                            ["-tls1_2", "-cipher", "AES128-GCM-SHA256@SECLEVEL=0"], ["-tls1_2", "-cipher", "AES256-SHA@SECLEVEL=0"],
                            ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA@SECLEVEL=0"], ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"]] {
                #expect(try await !handshake(refused, port: port).ok, "\(refused) was accepted on \(port)")
            }
            #expect(try await handshake(["-tls1_3"], port: port).ok)
        }
        let tls12 = try await handshake(["-tls1_2"])
        #expect(tls12.ok && tls12.output.contains("Protocol version: TLSv1.2") && tls12.output.contains("Ciphersuite: ECDHE-RSA-"),
                "\(tls12.output)")
        let tls13 = try await handshake(["-tls1_3"])
        #expect(tls13.ok && tls13.output.contains("Protocol version: TLSv1.3"), "\(tls13.output)")
        let client = try server.client(apiKey: server.verifierKey, tls: try Self.clientTLS(certificates, withCertificate: false))
        #expect(try await client.health() == .serving)
        await client.close()
    }
}
