import PortalLinksCore
import Testing
@testable import PortalLinksCore

@Suite struct ClientIDTests {
    @Test func uuidTextIsAlwaysTheUUID() throws {
        let lower = try ClientID(parsing: "0f8fad5b-d9cb-469f-a165-70867728950e")
        let upper = try ClientID(parsing: "0F8FAD5B-D9CB-469F-A165-70867728950E")
        #expect(lower == upper)
        guard case .uuid = lower else { Issue.record("expected a UUID client"); return }
        #expect(lower.description == "0f8fad5b-d9cb-469f-a165-70867728950e")
    }

    @Test(arguments: ["acme", "acme-corp.eu", "客户-42", String(repeating: "a", count: 64)])
    func acceptsTextIDs(_ text: String) throws {
        #expect(try ClientID(parsing: text) == .text(text))
    }

    @Test(arguments: ["", "acme corp", " acme", "acme\n", "a\u{0}b", String(repeating: "a", count: 65), String(repeating: "é", count: 33)])
    func refusesBadTextIDs(_ text: String) {
        #expect(throws: PortalLinksError.self) { try ClientID(parsing: text) }
    }

    @Test func displayNamesFollowTheSameLimits() throws {
        let client = ClientID.text("acme")
        let key = KeyID(rawValue: 1)
        _ = try LinkClaims(keyID: key, issuedAt: 10, expiresAt: 20, clientID: client, displayName: "Acme Corp")
        for bad in ["", " Acme", "Acme\tCorp", String(repeating: "x", count: 65)] {
            #expect(throws: PortalLinksError.self) {
                try LinkClaims(keyID: key, issuedAt: 10, expiresAt: 20, clientID: client, displayName: bad)
            }
        }
        #expect(throws: PortalLinksError.self) { try LinkClaims(keyID: key, issuedAt: 20, expiresAt: 20, clientID: client) }
        #expect(throws: PortalLinksError.self) {
            try LinkClaims(keyID: key, issuedAt: 10, expiresAt: Int64(UInt32.max) + 1, clientID: client)
        }
    }
}
