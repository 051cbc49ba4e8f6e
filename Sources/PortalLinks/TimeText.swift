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

    /// `2027-03-01T12:00:00Z` (RFC 3339 in UTC), without a date formatter per call: the HTTP gateway writes
    /// one into every forward-auth answer.
    public static func format(_ seconds: Int64) -> String {
        let date = CivilTime(seconds)
        return "\(digits(date.year, 4))-\(digits(date.month, 2))-\(digits(date.day, 2))T\(date.clock)Z"
    }

    /// `Mon, 01 Mar 2027 12:00:00 GMT`, HTTP's `Date` (RFC 9110's IMF-fixdate), the same way.
    public static func formatHTTP(_ seconds: Int64) -> String {
        let date = CivilTime(seconds)
        return "\(weekdays[date.weekday]), \(digits(date.day, 2)) \(months[Int(date.month) - 1]) \(digits(date.year, 4)) \(date.clock) GMT"
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func digits(_ value: Int64, _ count: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }

    /// A UTC date and time of day from seconds since 1970.
    private struct CivilTime {
        let year, month, day: Int64
        /// 0 is Sunday.
        let weekday: Int
        /// `HH:MM:SS`.
        let clock: String

        init(_ seconds: Int64) {
            let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
            let secondOfDay = seconds - days * 86_400
            // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-compatible low-level date algorithms").
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let dayOfEra = z - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let monthIndex = (5 * dayOfYear + 2) / 153
            day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
            month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
            year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
            weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday
            clock = "\(TimeText.digits(secondOfDay / 3_600, 2)):\(TimeText.digits(secondOfDay / 60 % 60, 2)):\(TimeText.digits(secondOfDay % 60, 2))"
        }
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
