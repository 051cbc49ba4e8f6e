import Foundation
import NIOCore
import PortalLinksClient
import PortalLinksMessages
import PortalLinksSQLite
import PortalLinksTesting
import PortalLinksWire
import Testing
@testable import PortalLinks
@testable import PortalLinksCore

@Suite(.timeLimit(.minutes(1))) struct VerifyOverTheWireTests {
    @Test func validAndEveryInvalidReason() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let client = try server.client(apiKey: server.verifierKey)
        let installation = server.installation
        let now = Int64(Date().timeIntervalSince1970)

        let link = try await installation.issue(IssueRequest(clientID: .text("acme"), displayName: "Acme Corp"))
        _ = try await eventually { try await client.verify(token: link.token).valid }
        let valid = try await client.verify(token: link.token)
        #expect(valid.valid && valid.reason == .unspecified)
        #expect(valid.clientID == "acme" && valid.displayName == "Acme Corp")
        #expect(valid.linkID == link.linkID.description && valid.keyID == link.claims.keyID.description)
        #expect(valid.expiresAt == link.claims.expiresAt && valid.issuedAt == link.claims.issuedAt)

        var bytes = Base64URL.decode(link.token)!
        bytes[bytes.count - 1] ^= 1
        var wrongVersion = Base64URL.decode(link.token)!
        wrongVersion[0] = 2
        var unknownKey = Base64URL.decode(link.token)!
        unknownKey[1] ^= 0xff
        let cases: [(String, PortalLinks_V1_Reason)] = [
            ("not a token", .malformed),
            (String(repeating: "A", count: 600), .malformed),
            (Base64URL.encode(wrongVersion), .unsupportedVersion),
            (Base64URL.encode(unknownKey), .unknownKey),
            (Base64URL.encode(bytes), .badSignature),
            (try await server.sign(issuedAt: now - 7_200, expiresAt: now - 3_600), .expired),
            (try await server.sign(issuedAt: now + 3_600, expiresAt: now + 7_200), .notYetValid),
        ]
        for (token, reason) in cases {
            let answer = try await client.verify(token: token)
            #expect(!answer.valid && answer.reason == reason, "\(reason)")
        }

        // Revocations and key changes made through the store reach the server through its reloader.
        let second = try await installation.issue(IssueRequest(clientID: .text("globex")))
        try await installation.revokeLink(second.linkID)
        #expect(try await eventually { try await client.verify(token: second.token).reason == .linkRevoked })
        let third = try await installation.issue(IssueRequest(clientID: .text("initech")))
        try await installation.setClient(.text("initech"), disabled: true)
        #expect(try await eventually { try await client.verify(token: third.token).reason == .clientDisabled })
        try await Task.sleep(for: .seconds(1))
        try await installation.revokeClient(.text("acme"))
        #expect(try await eventually { try await client.verify(token: link.token).reason == .clientRevoked })
        try await installation.rotateKeys(emergency: true)
        #expect(try await eventually { try await client.verify(token: third.token).reason == .keyDisabled })
        await client.close()
    }

    @Test func aKeyTheServerHasNotSeenTriggersAReload() async throws {
        // A reloader too slow to matter: only the reload on an unknown key can make this link verify.
        let server = try await LiveServer.start(reloadInterval: .seconds(3_600))
        defer { Task { await server.stop() } }
        let client = try server.client(apiKey: server.verifierKey)
        _ = try await client.hello()
        try await Task.sleep(for: .milliseconds(300))
        let other = try await Installation.open(store: try SQLiteLinkStore(home: server.home), home: server.home, environment: [:], actor: "other")
        try await other.rotateKeys()
        let link = try await other.issue(IssueRequest(clientID: .text("acme")))
        #expect(try await client.verify(token: link.token).valid)
        await client.close()
    }

    @Test func thousandPipelinedCallsOnOneConnection() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        _ = try await eventually { try await server.client(apiKey: server.verifierKey).verify(token: link.token).valid }
        let raw = try await RawConnection(port: server.port)
        var frames = [Frame.request(.authHello, callID: 0, payload: Payload.hello(server.verifierKey))]
        frames += (1...1_000).map { Frame.request(.linksVerify, callID: UInt32($0), payload: Payload.verify($0 % 2 == 0 ? link.token : "bad")) }
        try await raw.send(frames)
        let answers = await raw.receive(1_001)
        #expect(answers.count == 1_001)
        #expect(Set(answers.map(\.header.callID)) == Set(0...1_000))
        for answer in answers where answer.header.callID > 0 {
            let response: PortalLinks_V1_VerifyResponse = try Payload.decode(answer)
            #expect(response.valid == (answer.header.callID % 2 == 0))
        }
        await raw.close()
    }

    @Test func badBytesCloseOnlyTheirConnection() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let healthy = try server.client()
        #expect(try await healthy.health() == .serving)

        let garbage = try await RawConnection(port: server.port)
        try await garbage.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(await garbage.closesWithin(2))

        let wrongVersion = try await RawConnection(port: server.port)
        try await wrongVersion.send([0x02] + Array(repeating: 0, count: 15))
        #expect(await wrongVersion.closesWithin(2))

        let oversize = try await RawConnection(port: server.port)
        try await oversize.send([0x01, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff])
        #expect(await oversize.closesWithin(2), "closed on the header alone, no payload sent")

        let unknown = try await RawConnection(port: server.port)
        try await unknown.send([Frame.request(MethodID(rawValue: 99), callID: 7, payload: ByteBuffer()),
                                Frame.request(.healthCheck, callID: 8, payload: ByteBuffer())])
        let answers = await unknown.receive(2)
        #expect(answers.map { StatusCode(rawValue: $0.header.code) } == [.unimplemented, .ok], "the connection stays")

        #expect(try await healthy.health() == .serving)
        await healthy.close()
        await unknown.close()
    }



}
