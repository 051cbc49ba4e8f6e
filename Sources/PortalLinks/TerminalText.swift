/// A field that came from outside (a token's claims, an account's name, an address), made safe to print on a
/// terminal: control characters (C0, DEL, C1: escape sequences can retitle the window, hide or rewrite what
/// follows), Unicode's bidirectional controls (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069: they
/// reorder what follows on screen), line and paragraph separators, and the backslash that introduces these
/// escapes are written as `\u{…}` (`\\`), so that every byte printed is one the field's author could not
/// use against the reader.
public enum TerminalText {
    public static func field(_ text: some StringProtocol) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\\" {
                out.append(contentsOf: "\\\\".unicodeScalars)
            } else if needsEscape(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return scalar == "\\" || scalar.properties.isBidiControl
        }
    }
}
