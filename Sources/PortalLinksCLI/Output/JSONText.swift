import Foundation

/// JSON objects with their keys in a fixed, documented order (JSONSerialization would sort or shuffle them).
enum JSONText {
    static func object(_ fields: [(String, Any?)]) -> String {
        "{" + fields.map { "\(string($0.0)):\(value($0.1))" }.joined(separator: ",") + "}"
    }

    static func array(_ objects: [String]) -> String { "[" + objects.joined(separator: ",") + "]" }

    static func value(_ value: Any?) -> String {
        switch value {
        case nil: "null"
        case let text as String: string(text)
        case let flag as Bool: flag ? "true" : "false"
        case let number as Int64: String(number)
        case let number as Int: String(number)
        case let number as UInt64: String(number)
        case let number as Double: String(number)
        case let list as [String]: "[" + list.map(string).joined(separator: ",") + "]"
        case let raw as RawJSON: raw.text
        default: string("\(value!)")
        }
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Already-encoded JSON, nested inside another object.
struct RawJSON {
    let text: String
}
