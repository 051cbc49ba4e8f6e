import GRDB

/// One line for failures from below the staff operations, without SQL text or bound values.
enum StorageErrorText {
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as DatabaseError:
            "storage error: \(error.message ?? "SQLite code \(error.resultCode.rawValue)")"
        default:
            "\(error)"
        }
    }
}
