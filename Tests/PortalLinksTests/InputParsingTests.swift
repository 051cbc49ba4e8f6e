import Foundation
import PortalLinks
import PortalLinksCore
import Testing

@Suite struct InputParsingTests {
    static let token = "AQoLDA1rSdIAa8B5AAEPj61b2ctGn6FlcIZ3KJUOBv5d5ptb1zHQCxfsVfAKRQ"

    @Test(arguments: [
        token, " \(token) ", "<\(token)>", "\(token).", "\"\(token)\"", "(\(token)),",
        "https://portal.example.com/join?token=\(token)", "<https://portal.example.com/join?token=\(token)>.",
        "https://portal.example.com/join?lang=en&token=\(token)&utm=x", "https://portal.example.com/join?token=\(token)#top",
        "https://portal.example.com/join?auth_token=abc&token=\(token)", "token=\(token)",
    ])
    func extractsTheTokenFromPastedText(_ pasted: String) {
        #expect(TokenInput.extract(pasted) == Self.token)
    }

    @Test func neverRepairsAChangedToken() {
        // Characters inside the token are never dropped or replaced.
        let changed = String(Self.token.prefix(20)) + " " + String(Self.token.dropFirst(20))
        #expect(TokenInput.extract(changed) == changed)
        #expect(TokenInput.extract(Self.token + "-") == Self.token + "-")
    }

    @Test func times() {
        #expect(TimeText.parseTime("2027-03-01T12:00:00Z") == 1_803_902_400)
        #expect(TimeText.parseTime("2027-03-01T14:00:00+02:00") == 1_803_902_400)
        #expect(TimeText.parseTime("2027-03-01") == 1_803_859_200)
        #expect(TimeText.parseTime("1803902400") == 1_803_902_400)
        #expect(TimeText.parseTime("yesterday") == nil)
        #expect(TimeText.parseTime("2027-13-01") == nil)
        #expect(TimeText.format(1_803_902_400) == "2027-03-01T12:00:00Z")
    }

    /// The same text as Foundation's RFC 3339 formatter, and as its formatter for HTTP's IMF-fixdate, across
    /// leap days, centuries, every weekday and the limits of links, and 2,000 random times: `format` and
    /// `formatHTTP` compute the date themselves, without a formatter per call.
    @Test func timesFormatAsFoundationDoes() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = .withInternetDateTime
        formatter.timeZone = TimeZone(identifier: "UTC")
        let http = DateFormatter()
        http.locale = Locale(identifier: "en_US_POSIX")
        http.timeZone = TimeZone(identifier: "UTC")
        http.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var seconds: [Int64] = [0, 1, 59, 86_399, 86_400, 951_782_400, 951_868_800, 4_107_542_400, 4_107_628_800, 253_402_300_799]
        seconds += (0..<7).map { 1_803_902_400 + $0 * 86_400 }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { seconds.append(Int64.random(in: 0...253_402_300_799, using: &generator)) }
        for value in seconds {
            let date = Date(timeIntervalSince1970: TimeInterval(value))
            #expect(TimeText.format(value) == formatter.string(from: date), "\(value)")
            #expect(TimeText.formatHTTP(value) == http.string(from: date), "\(value)")
        }
    }

    @Test func durations() {
        #expect(TimeText.parseDuration("90d") == 7_776_000)
        #expect(TimeText.parseDuration("24h") == 86_400)
        #expect(TimeText.parseDuration("2w") == 1_209_600)
        #expect(TimeText.parseDuration("0d") == nil)
        #expect(TimeText.parseDuration("-1d") == nil)
        #expect(TimeText.parseDuration("d") == nil)
        #expect(TimeText.parseDuration("9999999999999999999d") == nil)
        #expect(TimeText.parseExpiry("7d", now: 100) == 604_900)
        #expect(TimeText.parseExpiry("1d", now: Int64.max - 10) == nil)
    }
}
