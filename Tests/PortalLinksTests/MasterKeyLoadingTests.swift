import Foundation
import PortalLinks
import PortalLinksCore
import Testing

@Suite struct MasterKeyLoadingTests {
    @Test func firstRunCreatesAPrivateKeyFile() async throws {
        let home = try TestHome()
        defer { home.remove() }
        _ = try await home.open()
        let path = home.directory + "/master.key"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // The second run reads the same key and can open the ring.
        let installation = try await home.open()
        _ = try await installation.issue(IssueRequest(clientID: .text("acme")))
        _ = try await home.open().loadVerifier()
    }

    /// A first run killed while writing the key leaves a temporary file with key material: a later run
    /// removes it once it is a minute old, and leaves a fresh one (a first run still at work) alone.
    @Test func abandonedKeyFilesAreRemoved() async throws {
        let home = try TestHome()
        defer { home.remove() }
        _ = try await home.open()
        let abandoned = home.directory + "/master.key.new-0011223344556677"
        let fresh = home.directory + "/master.key.new-8899aabbccddeeff"
        for path in [abandoned, fresh] { FileManager.default.createFile(atPath: path, contents: Data("00\n".utf8)) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -120)], ofItemAtPath: abandoned)
        _ = try await home.open()
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: fresh))
    }

    @Test func wrongKeyFromTheEnvironmentIsOneClearErrorWithoutTheKey() async throws {
        let home = try TestHome()
        defer { home.remove() }
        _ = try await home.open().issue(IssueRequest(clientID: .text("acme")))
        let wrong = MasterKey.generate().hexEncoded
        do {
            _ = try await home.open(environment: ["PORTAL_LINKS_MASTER_KEY": wrong])
            Issue.record("a wrong master key was accepted")
        } catch let error as PortalLinksError {
            #expect(error.code == .masterKey)
            #expect(!error.message.contains(wrong) && !error.message.contains("\n"))
        }
    }

    @Test(arguments: ["", "xyz", String(repeating: "a", count: 63), String(repeating: "g", count: 64)])
    func malformedEnvironmentKeyIsRefused(_ value: String) async throws {
        let home = try TestHome()
        defer { home.remove() }
        await #expect(throws: PortalLinksError.self) { _ = try await home.open(environment: ["PORTAL_LINKS_MASTER_KEY": value]) }
    }

    @Test func environmentKeyWorksWithoutAFile() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let key = MasterKey.generate().hexEncoded
        let link = try await home.open(environment: ["PORTAL_LINKS_MASTER_KEY": key]).issue(IssueRequest(clientID: .text("acme")))
        #expect(!FileManager.default.fileExists(atPath: home.directory + "/master.key"))
        let verifier = try await home.open(environment: ["PORTAL_LINKS_MASTER_KEY": key]).loadVerifier()
        #expect(verifier.verify(link.token, at: home.clock.now).isValid)
    }

    @Test func missingKeyFileForASealedRingIsRefusedNotReplaced() async throws {
        let home = try TestHome()
        defer { home.remove() }
        _ = try await home.open().issue(IssueRequest(clientID: .text("acme")))
        try FileManager.default.removeItem(atPath: home.directory + "/master.key")
        await #expect(throws: PortalLinksError.self) { _ = try await home.open() }
        #expect(!FileManager.default.fileExists(atPath: home.directory + "/master.key"))
    }

    @Test func keyFileOpenToOthersIsRefused() async throws {
        let home = try TestHome()
        defer { home.remove() }
        _ = try await home.open()
        let path = home.directory + "/master.key"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try await home.open()
            Issue.record("a world-readable key file was used")
        } catch let error as PortalLinksError {
            #expect(error.message.contains("chmod 600"))
        }
    }
}
