import Foundation
import NIOCore
import PortalLinksMessages
import PortalLinksTesting
import SwiftProtobuf
import Testing
@testable import PortalLinks
@testable import PortalLinksCore
@testable import PortalLinksGateway
@testable import PortalLinksService

/// Connect calls through the HTTP gateway, as a front-end with no client library makes them (curl, fetch):
/// every method, JSON and binary bodies, the Connect error codes and statuses.
@Suite(.timeLimit(.minutes(2))) struct ConnectGatewayTests {
    static let policy = AccountPolicy(hasher: PasswordHasher(memoryKiB: 256, iterations: 1, parallelism: 1))

    @Test func verifyAnswersInJSONAndProtobufAndAnInvalidLinkIsAnAnswer() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme"), displayName: "Zoë & Co"))
        let valid = try await HTTPRequests.connect(port: server.gatewayPort, "/portal_links.v1.Links/Verify",
                                                   apiKey: server.verifierKey, json: ["token": link.token])
        #expect(valid.status == 200 && valid.header("content-type") == "application/json")
        #expect(valid.json["valid"] as? Bool == true && valid.json["clientId"] as? String == "acme")
        #expect(valid.json["displayName"] as? String == "Zoë & Co" && valid.json["linkId"] as? String == link.linkID.description)
        #expect(valid.json["expiresAt"] as? String == String(link.claims.expiresAt), "int64 is a decimal string in proto3 JSON")

        let forged = try await HTTPRequests.connect(port: server.gatewayPort, "/portal_links.v1.Links/Verify",
                                                    apiKey: server.verifierKey, json: ["token": "garbage", "unknownField": 1])
        #expect(forged.status == 200, "an invalid link is an answer; unknown JSON fields are ignored")
        #expect(forged.json["valid"] == nil && forged.json["reason"] as? String == "REASON_MALFORMED")

        var request = PortalLinks_V1_VerifyRequest()
        request.token = link.token
        let binary = try await HTTPRequests.send("POST", port: server.gatewayPort, "/portal_links.v1.Links/Verify",
                                                 headers: ["Content-Type": "application/proto", "Authorization": "Bearer \(server.verifierKey)",
                                                           "Connect-Protocol-Version": "1", "Connect-Timeout-Ms": "5000"],
                                                 body: Data(try request.serializedBytes() as [UInt8]))
        #expect(binary.status == 200 && binary.header("content-type") == "application/proto")
        let decoded = try PortalLinks_V1_VerifyResponse(serializedBytes: Array(binary.body))
        // Byte for byte the binary port's answer.
        var wire = ByteBuffer()
        VerifyCodec.writeResponse(server.state.snapshot.verifier.verify(link.token, at: server.installation.clock()), to: &wire)
        #expect(decoded == (try PortalLinks_V1_VerifyResponse(serializedBytes: Array(wire.readableBytesView))))
    }

    @Test func everyMethodOfTheAccountsAndSessionsServicesInJSON() async throws {
        let server = try await LiveServer.start(accountPolicy: Self.policy)
        defer { Task { await server.stop() } }
        let port = server.gatewayPort, key = server.accountsKey
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        let password = "correct horse battery"
        let registered = try await HTTPRequests.connect(port: port, "/portal_links.v1.Accounts/Register", apiKey: key,
                                                        json: ["token": link.token, "email": "Ana@Example.com", "password": password])
        #expect(registered.status == 200, "\(registered.text)")
        #expect((registered.json["account"] as? [String: Any])?["email"] as? String == "ana@example.com")

        let again = try await HTTPRequests.connect(port: port, "/portal_links.v1.Accounts/Register", apiKey: key,
                                                   json: ["token": "garbage", "email": "bo@example.com", "password": password])
        #expect(again.status == 400 && again.json["code"] as? String == "failed_precondition")
        // The reason travels as a portal_links.v1.Error detail, its value unpadded base64 of the binary message.
        let detail = try #require((again.json["details"] as? [[String: Any]])?.first)
        #expect(detail["type"] as? String == "portal_links.v1.Error")
        let value = try #require(detail["value"] as? String)
        #expect(!value.hasSuffix("="))
        let padded = value + String(repeating: "=", count: (4 - value.count % 4) % 4)
        let error = try PortalLinks_V1_Error(serializedBytes: Array(try #require(Data(base64Encoded: padded))))
        #expect(error.reason == "malformed")

        let signedIn = try await HTTPRequests.connect(port: port, "/portal_links.v1.Accounts/SignIn", apiKey: key,
                                                      json: ["email": "ana@example.com", "password": password])
        let session = try #require(signedIn.json["session"] as? [String: Any])
        let token = try #require(session["token"] as? String)
        let checked = try await HTTPRequests.connect(port: port, "/portal_links.v1.Sessions/Verify", apiKey: key, json: ["token": token])
        #expect(checked.json["valid"] as? Bool == true && checked.json["clientId"] as? String == "acme")
        let refreshed = try await HTTPRequests.connect(port: port, "/portal_links.v1.Sessions/Refresh", apiKey: key, json: ["token": token])
        let newToken = try #require((refreshed.json["session"] as? [String: Any])?["token"] as? String)
        let signedOut = try await HTTPRequests.connect(port: port, "/portal_links.v1.Sessions/SignOut", apiKey: key, json: ["token": newToken])
        #expect(signedOut.status == 200 && signedOut.text == "{}")
        let ended = await eventually {
            (try? await HTTPRequests.connect(port: port, "/portal_links.v1.Sessions/Verify", apiKey: key,
                                             json: ["token": newToken]).json["reason"] as? String) == "ended"
        }
        #expect(ended)

        let reset = try await HTTPRequests.connect(port: port, "/portal_links.v1.Accounts/RequestPasswordReset", apiKey: key,
                                                   json: ["email": "ana@example.com"])
        let resetToken = try #require(reset.json["resetToken"] as? String)
        let changed = try await HTTPRequests.connect(port: port, "/portal_links.v1.Accounts/ResetPassword", apiKey: key,
                                                     json: ["resetToken": resetToken, "newPassword": "another long passphrase"])
        #expect(changed.status == 200)
        let withNew = try await HTTPRequests.connect(port: port, "/portal_links.v1.Accounts/SignIn", apiKey: key,
                                                     json: ["email": "ana@example.com", "password": "another long passphrase"])
        #expect(withNew.status == 200)
        let withOld = try await HTTPRequests.connect(port: port, "/portal_links.v1.Accounts/SignIn", apiKey: key,
                                                     json: ["email": "ana@example.com", "password": password])
        #expect(withOld.status == 401 && withOld.json["code"] as? String == "unauthenticated")
    }

    @Test func issueAndHealthAndTheirScopes() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let port = server.gatewayPort
        let issued = try await HTTPRequests.connect(port: port, "/portal_links.v1.Links/Issue", apiKey: server.issuerKey,
                                                    json: ["clientId": "acme", "displayName": "Acme"])
        #expect(issued.status == 200, "\(issued.text)")
        #expect((issued.json["url"] as? String)?.hasPrefix("https://portal.example.com/join") == true)
        let refused = try await HTTPRequests.connect(port: port, "/portal_links.v1.Links/Issue", apiKey: server.verifierKey,
                                                     json: ["clientId": "acme"])
        #expect(refused.status == 403 && refused.json["code"] as? String == "permission_denied")
        // Health needs no key, as on the binary port before a Hello.
        let health = try await HTTPRequests.connect(port: port, "/portal_links.v1.Health/Check", apiKey: nil, json: [:])
        #expect(health.status == 200 && health.json["status"] as? String == "SERVING", "\(health.text)")
    }

    @Test func refusalsHaveTheSpecsCodesAndStatuses() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let port = server.gatewayPort, path = "/portal_links.v1.Links/Verify", key = server.verifierKey
        func expect(_ answer: HTTPAnswer, _ status: Int, _ code: String?, _ note: Comment) {
            #expect(answer.status == status, note)
            if let code {
                #expect(answer.json["code"] as? String == code && answer.header("content-type") == "application/json", note)
            }
        }
        expect(try await HTTPRequests.connect(port: port, path, apiKey: nil, json: ["token": "x"]), 401, "unauthenticated", "no key")
        expect(try await HTTPRequests.connect(port: port, path, apiKey: "plk_unknown", json: ["token": "x"]), 401, "unauthenticated", "unknown key")
        expect(try await HTTPRequests.send("POST", port: port, path, headers: ["Content-Type": "application/json",
                                                                              "Authorization": "Bearer \(key)"], body: Data("{".utf8)),
               400, "invalid_argument", "not JSON")
        expect(try await HTTPRequests.send("POST", port: port, path, headers: ["Content-Type": "text/plain", "Authorization": "Bearer \(key)"],
                                           body: Data("x".utf8)), 415, nil, "unsupported codec")
        expect(try await HTTPRequests.connect(port: port, path, apiKey: key, json: ["token": "x"], headers: ["Connect-Protocol-Version": "2"]),
               400, "invalid_argument", "protocol version")
        expect(try await HTTPRequests.connect(port: port, path, apiKey: key, json: ["token": "x"], headers: ["Content-Encoding": "br"]),
               501, "unimplemented", "an encoding other than gzip")
        expect(try await HTTPRequests.connect(port: port, path, apiKey: key, json: ["token": "x"], headers: ["Content-Encoding": "gzip"]),
               400, "invalid_argument", "not gzip")
        let gzipped = try await Self.gzip(Data(#"{"token": "garbage"}"#.utf8))
        let inflated = try await HTTPRequests.send("POST", port: port, path, headers: ["Content-Type": "application/json", "Content-Encoding": "gzip",
                                                                                      "Authorization": "Bearer \(key)"], body: gzipped)
        #expect(inflated.status == 200 && inflated.json["reason"] as? String == "REASON_MALFORMED", "a gzipped body")
        // 10 MB of spaces gzip to about 10 KB: under the body limit, over it once inflated.
        let spaces = Data(repeating: 0x20, count: 10_000_000)
        let bomb = try await Self.gzip(Data("{\"token\": ".utf8) + spaces + Data("\"x\"}".utf8))
        #expect(bomb.count < 65_536)
        expect(try await HTTPRequests.send("POST", port: port, path, headers: ["Content-Type": "application/json", "Content-Encoding": "gzip",
                                                                              "Authorization": "Bearer \(key)"], body: bomb),
               429, "resource_exhausted", "a body that inflates past the limit")
        for timeout in ["0", "-5", "12345678901", "1.5", "soon"] {
            expect(try await HTTPRequests.connect(port: port, path, apiKey: key, json: ["token": "x"], headers: ["Connect-Timeout-Ms": timeout]),
                   400, "invalid_argument", "Connect-Timeout-Ms \(timeout)")
        }
        expect(try await HTTPRequests.connect(port: port, path, apiKey: key, json: ["token": String(repeating: "x", count: 70_000)]),
               429, "resource_exhausted", "body over the limit")
        let get = try await HTTPRequests.send("GET", port: port, path)
        #expect(get.status == 405 && get.header("allow") == "POST")
        #expect(try await HTTPRequests.connect(port: port, "/portal_links.v1.Auth/Hello", apiKey: key, json: [:]).status == 404)
        #expect(try await HTTPRequests.connect(port: port, "/portal_links.v1.links/verify", apiKey: key, json: [:]).status == 404,
                "paths are case-sensitive")
    }

    /// gzip by the system's gzip command.
    static func gzip(_ data: Data) async throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(UUID().uuidString)").path
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path + ".gz") }
        _ = try await Subprocess.run("/usr/bin/env", ["gzip", "-1", path])
        return try Data(contentsOf: URL(fileURLWithPath: path + ".gz"))
    }

    @Test func failedKeysAreThrottledPerAddressAcrossDoors() async throws {
        let server = try await LiveServer.start { $0.failedHelloBurst = 3; $0.failedHellosPerSecond = 0.01 }
        defer { Task { await server.stop() } }
        var codes: [String] = []
        for attempt in 0..<5 {
            let answer = try await HTTPRequests.connect(port: server.gatewayPort, "/portal_links.v1.Links/Verify",
                                                        apiKey: "plk_guess\(attempt)", json: ["token": "x"])
            codes.append(answer.json["code"] as? String ?? "\(answer.status)")
        }
        #expect(codes == ["unauthenticated", "unauthenticated", "unauthenticated", "resource_exhausted", "resource_exhausted"])
        let good = try await HTTPRequests.connect(port: server.gatewayPort, "/portal_links.v1.Links/Verify",
                                                  apiKey: server.verifierKey, json: ["token": "x"])
        #expect(good.status == 200, "a valid key is accepted from a throttled address")
    }

    /// Every method of services.proto is served, with the table's message types, and nothing else.
    @Test func theServicesInTheProtosAreTheTable() throws {
        let source = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/PortalLinksServiceTests/ConnectGatewayTests.swift",
                                                                                 with: "Protos/portal_links/v1/services.proto"), encoding: .utf8)
        var declared: Set<String> = []
        var service = ""
        for line in source.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("service ") { service = String(line.split(separator: " ")[1]) }
            if line.hasPrefix("rpc ") {
                let words = line.split(whereSeparator: { " ()".contains($0) })
                declared.insert("/portal_links.v1.\(service)/\(words[1]) \(words[2]) \(words[4])")
            }
        }
        let served = Set(ServerMethod.all.compactMap { method in
            method.connectPath.map { "\($0) \(method.requestType.protoMessageName.dropFirst("portal_links.v1.".count)) "
                + "\(method.responseType.protoMessageName.dropFirst("portal_links.v1.".count))" }
        })
        #expect(declared.count == 10 && declared == served)
    }
}
