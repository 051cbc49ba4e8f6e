import Foundation
import Testing
@testable import PortalLinksCore

/// Canonically equivalent spellings of a client ID are one client everywhere: parsed, signed, looked up in the
/// revocation tables, answered. The cases are Unicode's own: every line of NormalizationTest.txt (Debian's
/// unicode-data), whose columns c1, c2 and c3 are one NFC class with c2 its NFC, and c4 and c5 another with c4.
@Suite struct OneSpellingTests {
    let now = TestRing.now

    /// Each class of canonically equivalent strings in the file, its NFC first.
    static let classes: [[String]] = {
        guard let text = UnicodeMappings.file("NormalizationTest.txt") else { return [] }
        return text.split(separator: "\n").compactMap { line -> [[String]]? in
            guard !line.hasPrefix("#"), !line.hasPrefix("@") else { return nil }
            let columns = line.split(separator: ";", omittingEmptySubsequences: false).prefix(5).map { field in
                String(String.UnicodeScalarView(field.split(separator: " ").map { Unicode.Scalar(UInt32($0, radix: 16)!)! }))
            }
            guard columns.count == 5 else { return nil }
            return [[columns[1], columns[0], columns[2]], [columns[3], columns[4]]]
        }.flatMap { $0 }
    }()

    @Test func unicodesDataIsThere() {
        #expect(Self.classes.count > 30_000, "install unicode-data (make test does)")
    }

    @Test func nfcIsUnicodesOwn() {
        for spellings in Self.classes {
            for spelling in spellings {
                #expect(CanonicalText.nfc(spelling) == spellings[0] && CanonicalText.nfc(spelling).utf8.elementsEqual(spellings[0].utf8))
                var copy = spelling
                let isNFC = copy.withUTF8 { CanonicalText.isNFC(utf8: UnsafeRawBufferPointer($0)) }
                #expect(isNFC == spelling.utf8.elementsEqual(spellings[0].utf8), "\(spelling.unicodeScalars.map { String($0.value, radix: 16) })")
            }
        }
    }

    /// Client IDs: every spelling of a class parses to the same ID, hashes alike, and holds the NFC bytes.
    @Test func everySpellingParsesToOneClient() throws {
        var checked = 0
        for spellings in Self.classes {
            let parsed = spellings.compactMap { try? ClientID(parsing: "id-" + $0) }
            guard parsed.count == spellings.count else { continue }
            #expect(Set(parsed).count == 1)
            #expect(parsed.allSatisfy { $0.description.utf8.elementsEqual(("id-" + spellings[0]).utf8) })
            checked += 1
        }
        #expect(checked > 10_000)
    }

    /// A link signed with any spelling, even one no release signs any more, is revoked and disabled by any
    /// other spelling, and answers with the NFC one, on both verify paths.
    @Test func everySpellingOfALinksClientIsRevokedAndDisabledByEveryOther() async throws {
        var ring = TestRing()
        let key = ring.add(5)
        // (token, its class); tokens for the non-NFC spellings are what older releases could have signed.
        var tokens: [(String, [String])] = []
        for spellings in Self.classes where spellings.allSatisfy({ (try? ClientID(parsing: "id-" + $0)) != nil }) {
            for spelling in spellings { tokens.append((ring.legacyToken(key, client: "id-" + spelling), spellings)) }
        }
        #expect(tokens.count > 20_000)
        // Revocations written in each spelling but the one a token carries, unnormalised, as a store that was
        // never migrated would hand them over.
        for pick in 0..<2 {
            var revoked: [ClientID: Int64] = [:]
            var disabled: Set<ClientID> = []
            for (_, spellings) in tokens {
                let other = spellings[(pick + 1) % spellings.count]
                revoked[.text("id-" + other)] = now
                disabled.insert(.text("id-" + spellings[pick % spellings.count]))
            }
            let revoking = ring.verifier(revocations: Revocations(clientsRevokedBefore: revoked))
            let disabling = ring.verifier(revocations: Revocations(disabledClients: disabled))
            // One expectation over all tokens; seconds of work in a debug build, so the other suites' tasks get
            // this thread now and then.
            var missed: [String] = []
            for (index, (token, spellings)) in tokens.enumerated() {
                if index % 200 == 0 { await Task.yield() }
                let revokedResult = revoking.verify(token, at: now)
                let disabledResult = borrowed(disabling, token)
                let nfc = "id-" + spellings[0]
                if revokedResult.reason != .clientRevoked || revokedResult.claims?.clientID.description != nfc
                    || disabledResult.reason != .clientDisabled || disabledResult.claims?.clientID.description != nfc {
                    missed.append(spellings.joined(separator: " / "))
                }
            }
            #expect(missed.isEmpty, "\(missed.count) spellings escaped, first: \(missed.prefix(5))")
        }
    }

    /// The reported case and its neighbours: é composed and decomposed, KELVIN SIGN and K, ANGSTROM SIGN and Å,
    /// OHM SIGN and Ω, each × revoke and disable × which spelling was used for each.
    @Test(arguments: [("cafe\u{301}", "caf\u{E9}"), ("\u{212A}im", "Kim"), ("\u{212B}ngstr", "\u{C5}ngstr"), ("\u{2126}hm", "\u{3A9}hm"),
                      ("q\u{323}\u{307}", "q\u{307}\u{323}")])
    func theReportedSpellings(first: String, second: String) throws {
        var ring = TestRing()
        let key = ring.add(5)
        #expect(try ClientID(parsing: first) == ClientID(parsing: second))
        for linkSpelling in [first, second] {
            let token = ring.legacyToken(key, client: linkSpelling)
            for revokeSpelling in [first, second] {
                let client = try ClientID(parsing: revokeSpelling)
                #expect(ring.verifier(revocations: Revocations(clientsRevokedBefore: [client: now])).verify(token, at: now).reason == .clientRevoked)
                #expect(borrowed(ring.verifier(revocations: Revocations(disabledClients: [client])), token).reason == .clientDisabled)
                // Both spellings handed over unnormalised: still one client, and the later revocation holds.
                let both = Revocations(clientsRevokedBefore: [.text(first): now - 120, .text(second): now],
                                       disabledClients: [.text(first), .text(second)])
                #expect(ring.verifier(revocations: both).verify(token, at: now).reason == .clientRevoked)
            }
        }
    }

    func borrowed(_ verifier: LinkVerifier, _ token: String) -> LinkVerification {
        verifier.borrowedVerification(token, at: now)
    }
}
