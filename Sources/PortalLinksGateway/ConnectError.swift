import Foundation
import HTTPTypes
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// A Connect error (connectrpc.com, "Connect Protocol Reference", unary errors): an HTTP status from the
/// spec's table, and a JSON body with the code's name, the message and, when the failure has a
/// machine-readable reason, a `portal_links.v1.Error` detail carrying it.
struct ConnectError: Error {
    let status: StatusCode
    let message: String
    var reason: String? = nil

    /// The code's name as Connect spells it ("canceled", not gRPC's "CANCELLED").
    var code: String {
        status == StatusCode(rawValue: 1) ? "canceled" : status.description.lowercased()
    }

    /// The spec's HTTP status for each code.
    var httpStatus: HTTPResponse.Status {
        switch status.rawValue {
        case 1: .init(code: 499, reasonPhrase: "Client Closed Request")
        case 3, 9, 11: .badRequest  // invalid_argument, failed_precondition, out_of_range
        case 4: .gatewayTimeout
        case 5: .notFound
        case 6, 10: .conflict  // already_exists, aborted
        case 7: .forbidden
        case 8: .tooManyRequests
        case 12: .notImplemented
        case 14: .serviceUnavailable
        case 16: .unauthorized
        default: .internalServerError  // unknown, internal, data_loss
        }
    }

    /// The JSON body; `value` is the detail's binary message in unpadded base64, as the spec asks.
    var body: [UInt8] {
        var object: [String: Any] = ["code": code, "message": message]
        if let reason, !reason.isEmpty {
            var detail = PortalLinks_V1_Error()
            detail.message = message
            detail.reason = reason
            let value = (try? detail.serializedBytes() as [UInt8]).map { Data($0).base64EncodedString() } ?? ""
            object["details"] = [["type": PortalLinks_V1_Error.protoMessageName,
                                  "value": String(value.reversed().drop { $0 == "=" }.reversed())]]
        }
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{\"code\":\"internal\"}".utf8))
    }
}
