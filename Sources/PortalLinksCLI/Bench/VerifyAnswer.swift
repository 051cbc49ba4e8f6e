import PortalLinksCore

/// What a VerifyResponse said, read from its bytes without decoding the message: the load generator counts
/// every answer by it and must not become what it measures.
enum VerifyAnswer {
    /// The count slot for an answer that is neither valid nor carries a known reason.
    static let unreadable = 15

    /// 0 for valid, else the reason's wire value (field 7), else `unreadable`.
    static func reason(_ payload: UnsafeRawBufferPointer) -> Int {
        var position = 0, valid = false
        func varint() -> UInt64? {
            var value: UInt64 = 0, shift: UInt64 = 0
            while position < payload.count, shift < 64 {
                let byte = payload[position]
                position += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        while position < payload.count {
            guard let key = varint() else { return unreadable }
            switch key & 7 {
            case 0:
                guard let value = varint() else { return unreadable }
                if key >> 3 == 7 { return value < UInt64(unreadable) ? slot(wireValue: Int(value)) : unreadable }
                if key >> 3 == 1 { valid = value != 0 }
            case 2:
                guard let length = varint(), length <= UInt64(payload.count - position) else { return unreadable }
                position += Int(length)
            default:
                return unreadable
            }
        }
        return valid ? 0 : unreadable
    }

    /// A reason's count slot: its wire value when known, else `unreadable`.
    static func slot(wireValue: Int) -> Int {
        wireValue > 0 && wireValue < unreadable ? wireValue : unreadable
    }

    static func name(_ slot: Int) -> String {
        if slot == 0 { return "valid" }
        return VerifyReason(wireValue: slot)?.rawValue ?? "unreadable"
    }
}
