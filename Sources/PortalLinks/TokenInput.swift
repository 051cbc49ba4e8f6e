/// Pulls a token out of what staff paste: a bare token, a whole link URL, or either wrapped in the debris of
/// copying (spaces, quotes, angle brackets, a trailing full stop).
///
/// Only characters outside the base64url alphabet are ever removed, and only around the token, so a
/// changed token is never turned back into a valid one.
public enum TokenInput {
    private static let debris: Set<Character> = [" ", "\t", "\n", "\r", "<", ">", "\"", "'", "`", "(", ")", "[", "]",
                                                  ".", ",", ";", ":", "!", "?", "*"]

    public static func extract(_ pasted: String) -> String {
        var text = Substring(pasted)
        text = text.drop { debris.contains($0) || $0.isWhitespace }
        while let last = text.last, debris.contains(last) || last.isWhitespace { text = text.dropLast() }
        if let range = tokenParameter(in: text) {
            var value = text[range.upperBound...]
            if let end = value.firstIndex(where: { $0 == "&" || $0 == "#" }) { value = value[..<end] }
            text = value
            while let last = text.last, debris.contains(last) || last.isWhitespace { text = text.dropLast() }
        }
        return String(text)
    }

    /// The `token=` query parameter itself: at the start or after `?` or `&`, never the tail of `auth_token=`.
    private static func tokenParameter(in text: Substring) -> Range<Substring.Index>? {
        var searchStart = text.startIndex
        while let range = text.range(of: "token=", range: searchStart..<text.endIndex) {
            if range.lowerBound == text.startIndex || ["?", "&"].contains(text[text.index(before: range.lowerBound)]) {
                return range
            }
            searchStart = range.upperBound
        }
        return nil
    }
}
