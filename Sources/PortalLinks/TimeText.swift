import Foundation

/// Times and durations as staff type and read them. Times: ISO 8601 (`2027-03-01T12:00:00Z`, with an offset
/// or fractional seconds, or a bare date meaning midnight UTC) or Unix seconds. Durations: a number and a
/// unit, `90d`, `24h`, `30m`, `45s`, `2w`.
public enum TimeText {
    /// Unix seconds, or nil when `text` is neither form.
    public static func parseTime(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.allSatisfy(\.isASCII), trimmed.allSatisfy(\.isNumber) {
            return Int64(trimmed)
        }
        for options in [ISO8601DateFormatter.Options.withInternetDateTime,
                        [.withInternetDateTime, .withFractionalSeconds],
                        [.withFullDate]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            formatter.timeZone = TimeZone(identifier: "UTC")
            if let date = formatter.date(from: trimmed) { return Int64(date.timeIntervalSince1970.rounded(.down)) }
        }
        return nil
    }

    /// Seconds, or nil when `text` is not a positive duration.
    public static func parseDuration(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = trimmed.last, let count = Int64(trimmed.dropLast()), count > 0 else { return nil }
        let size: Int64
        switch unit {
        case "s": size = 1
        case "m": size = 60
        case "h": size = 3_600
        case "d": size = 86_400
        case "w": size = 7 * 86_400
        default: return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: size)
        return overflow ? nil : seconds
    }

    /// A duration from now, or a time: what `--expires` takes.
    public static func parseExpiry(_ text: String, now: Int64) -> Int64? {
        if let duration = parseDuration(text) {
            let (time, overflow) = now.addingReportingOverflow(duration)
            return overflow ? nil : time
        }
        return parseTime(text)
    }

    /// `2027-03-01T12:00:00Z`.
    public static func format(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = .withInternetDateTime
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// `1 March 2027`, for people.
    public static func formatDay(_ seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMMM yyyy"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
