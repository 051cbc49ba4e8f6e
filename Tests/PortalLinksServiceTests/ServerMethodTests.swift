import Foundation
import PortalLinks
import PortalLinksMessages
import PortalLinksService
import PortalLinksWire
import SwiftProtobuf
import Testing

/// The server's method table says what the protocol says (Protos/portal_links/v1/wire.proto: each method id,
/// its request and response messages, and the scope it needs), for every method and nothing else.
@Suite struct ServerMethodTests {
    struct Declared {
        let id: UInt16
        let request: String
        let response: String
        let scope: String?
    }

    /// The methods as wire.proto's enum and comments declare them. A comment's `scope "x"` holds for the
    /// methods after it until another; "before authentication" and "Authenticates" mean no scope.
    static func declared() throws -> [Declared] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let proto = try String(contentsOf: root.appendingPathComponent("Protos/portal_links/v1/wire.proto"), encoding: .utf8)
        var methods: [Declared] = []
        var scope: String?
        var messages: (String, String)?
        var beforeHello = false
        for line in proto.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("//") {
                if let match = line.firstMatch(of: /[Ss]cope "(\w+)"/) { scope = String(match.1) }
                if let match = line.firstMatch(of: /(\w+Request) -> (\w+Response)/) { messages = (String(match.1), String(match.2)) }
                if line.contains("before authentication") || line.contains("Authenticates") { beforeHello = true }
            } else if let match = line.firstMatch(of: /^METHOD_\w+ = (\d+);/), let id = UInt16(match.1), id != 0 {
                let (request, response) = try #require(messages, "wire.proto names the messages of method \(id)")
                methods.append(Declared(id: id, request: request, response: response, scope: beforeHello ? nil : scope))
                messages = nil
                beforeHello = false
            }
        }
        return methods
    }

    @Test func theTableServesExactlyTheDeclaredMethodsWithTheirMessagesAndScopes() throws {
        let declared = try Self.declared()
        #expect(declared.count == 11)
        #expect(ServerMethod.all.map(\.id.rawValue) == declared.map(\.id), "one entry per method, in id order")
        for method in declared {
            let served = try #require(ServerMethod.method(id: method.id), "method \(method.id)")
            #expect(served.requestType.protoMessageName == "portal_links.v1.\(method.request)", "\(served.name)")
            #expect(served.responseType.protoMessageName == "portal_links.v1.\(method.response)", "\(served.name)")
            #expect(served.scope?.rawValue == method.scope, "\(served.name)")
            #expect(!served.name.hasPrefix("method "), "\(method.id) has a name")
        }
        #expect(ServerMethod.method(id: 0) == nil && ServerMethod.method(id: 12) == nil && ServerMethod.method(id: .max) == nil)
    }

    /// Secrets are named by the request's JSON field names: each must be a string field of the request (JSON
    /// decoding refuses an unknown field).
    @Test func everySecretFieldIsAFieldOfItsRequest() throws {
        for method in ServerMethod.all {
            for field in method.secretFields {
                #expect(throws: Never.self, "\(method.name): \(field)") {
                    _ = try method.requestType.init(jsonString: "{\"\(field)\": \"a-secret-value\"}")
                }
            }
            #expect(throws: (any Error).self) { _ = try method.requestType.init(jsonString: "{\"notAField\": \"x\"}") }
        }
        #expect(ServerMethod.method(id: MethodID.linksVerify.rawValue)?.secretFields == ["token"])
    }
}
