/// Text for HTML: element content and double- or single-quoted attribute values.
///
/// Escaped one Unicode scalar at a time, never by `Character`: a quote followed by a combining mark, or "<"
/// after a prepending mark such as U+0600, is one `Character` that equals neither, and would pass raw.
public enum HTMLText {
    public static func escape(_ text: some StringProtocol) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// An invitation as a link: `<a href="URL">Join PORTAL</a>`.
    public static func anchor(url: String, portal: String) -> String {
        "<a href=\"\(escape(url))\">Join \(escape(portal))</a>"
    }

    /// An invitation as an embedded frame whose title names the portal.
    public static func iframe(url: String, title: String) -> String {
        "<iframe src=\"\(escape(url))\" title=\"\(escape(title))\" width=\"100%\" height=\"640\" style=\"border:0\" loading=\"lazy\"></iframe>"
    }
}
