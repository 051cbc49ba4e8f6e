import Foundation
import Testing
@testable import PortalLinksCore

@Suite struct EmailAddressTests {
    @Test func oneSpellingPerAddress() {
        #expect(EmailAddress("  Ana.Lima@Example.COM \n")?.normalized == "ana.lima@example.com")
        #expect(EmailAddress("ana.lima@example.com") == EmailAddress("ANA.LIMA@EXAMPLE.COM"))
        // Only ASCII letters fold in the local part; the domain folds as IDNA does; NFC everywhere.
        #expect(EmailAddress("ÉLODIE@EXEMPLE.fr")?.normalized == "Élodie@exemple.fr")
        #expect(EmailAddress("E\u{301}lodie@exe\u{301}mple.fr")?.normalized == "\u{C9}lodie@ex\u{E9}mple.fr")
        #expect(EmailAddress("élodie@ÉCOLE.fr")?.normalized == "élodie@école.fr")
        #expect(EmailAddress("straße@example.com") != EmailAddress("strasse@example.com"))
    }

    /// The reported takeover: the KELVIN SIGN spelling of kim's address must never reach kim's account.
    @Test(arguments: ["\u{212A}im@acme.example", "k\u{130}m@acme.example", "\u{17F}am@acme.example", "\u{FF41}na@acme.example",
                      "kim@acme.\u{212A}example", "\u{FB01}n@acme.example", "kim\u{FF20}acme.example"])
    func asciiLookalikesAreRefused(_ text: String) {
        #expect(EmailAddress(text) == nil)
    }

    /// Every scalar that Unicode's own data maps to ASCII only (decomposition, canonical or compatibility;
    /// lower, upper or title case; case folding), in the local part and in the domain: the address holding it
    /// is refused or stays a different address from the ASCII one. Computed from UnicodeData.txt and
    /// CaseFolding.txt (Debian's unicode-data), independently of the table the rule uses.
    @Test func noUnicodeMappingMergesAnAddressWithAnASCIIOne() throws {
        let mappings = UnicodeMappings.toASCII()
        #expect(mappings.count > 900, "install unicode-data (make test does)")
        for (scalar, forms) in mappings {
            for form in forms {
                for (spelled, plain) in [("x\(scalar)y@acme.example", "x\(form)y@acme.example"),
                                         ("kim@x\(scalar)y.example", "kim@x\(form)y.example")] {
                    guard let plain = EmailAddress(plain), let spelled = EmailAddress(spelled) else { continue }
                    #expect(spelled != plain, "U+\(String(scalar.value, radix: 16, uppercase: true)) merges with \(form)")
                }
            }
        }
        for scalar in [0x212A, 0x130, 0x17F, 0xFF41] as [UInt32] {
            #expect(mappings[Unicode.Scalar(scalar)!] != nil)
            #expect(EmailAddress("x\(Unicode.Scalar(scalar)!)y@acme.example") == nil)
        }
    }

    @Test(arguments: ["", "   ", "ana", "ana@", "@example.com", "ana@@example.com", "ana@example", "ana@.example.com",
                      "ana@example.com.", "ana lima@example.com", "ana\u{0}@example.com",
                      String(repeating: "a", count: 250) + "@example.com"])
    func implausibleAddressesAreRefused(_ text: String) {
        #expect(EmailAddress(text) == nil)
    }
}

@Suite struct PasswordPolicyTests {
    let policy = PasswordPolicy(common: ["password1", "iloveyou2"])

    @Test func lengthIsCountedInCharactersAndNeverTruncated() throws {
        try policy.check("correct horse")
        try policy.check(String(repeating: "é", count: 8))  // 16 bytes, 8 characters
        #expect(throws: PortalLinksError.self) { try policy.check("seven77") }
        try policy.check(String(repeating: "x", count: 256))
        #expect(throws: PortalLinksError.self) { try policy.check(String(repeating: "x", count: 257)) }
        #expect(throws: Never.self) { try PasswordPolicy(minimumLength: 15).check("fifteen letters") }
        #expect(throws: PortalLinksError.self) { try PasswordPolicy(minimumLength: 15).check("fourteen chars") }
    }

    @Test func commonPasswordsAreRefusedWhateverTheirCase() {
        #expect(throws: PortalLinksError.self) { try policy.check("Password1") }
        #expect(throws: PortalLinksError.self) { try policy.check("ILOVEYOU2") }
    }

    @Test func refusalsNeverEchoThePassword() {
        for password in ["qz7!x", "Password1", String(repeating: "z", count: 300)] {
            do {
                try policy.check(password)
                Issue.record("accepted \(password.count) characters")
            } catch {
                #expect(!error.message.contains(password))
            }
        }
    }

    @Test func noCompositionRules() throws {
        try policy.check("alllowercaseletters")
        try policy.check("1234509876123")
    }
}

@Suite struct PasswordHasherTests {
    /// Small parameters keep the test quick; the format and the checks are the same.
    let hasher = PasswordHasher(memoryKiB: 1_024, iterations: 1, parallelism: 1)

    @Test func hashesVerifyTheirPasswordOnly() {
        let encoded = hasher.hash("correct horse battery staple")
        #expect(encoded.hasPrefix("$argon2id$v=19$m=1024,t=1,p=1$"))
        #expect(PasswordHasher.verify("correct horse battery staple", against: encoded))
        #expect(!PasswordHasher.verify("correct horse battery stapler", against: encoded))
        #expect(!PasswordHasher.verify("correct horse battery staple", against: "$argon2id$v=19$m=1024,t=1,p=1$bm9wZQ$bm9wZQ"))
        #expect(!PasswordHasher.verify("anything", against: "not a hash"))
    }

    @Test func everyHashHasItsOwnSalt() {
        #expect(hasher.hash("same password") != hasher.hash("same password"))
    }

    @Test func otherParametersCallForARehash() {
        let encoded = hasher.hash("correct horse battery staple")
        #expect(!hasher.needsRehash(encoded))
        #expect(PasswordHasher.standard.needsRehash(encoded))
        #expect(hasher.needsRehash("$scrypt$ln=17,r=8,p=1$c2FsdA$aGFzaA"))
    }

    @Test func theStandardParametersAreOWASPs() {
        #expect(PasswordHasher.standard == PasswordHasher(memoryKiB: 19_456, iterations: 2, parallelism: 1))
    }
}

/// What Unicode's data maps to ASCII only, read from Debian's unicode-data for tests that must not trust the
/// tables the code uses.
enum UnicodeMappings {
    /// A file of Unicode's data as Debian ships it: plain, or compressed with bzip2 (NormalizationTest.txt).
    static func file(_ name: String, directory: String = "/usr/share/unicode") -> String? {
        if let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) { return text }
        let bzcat = Process()
        bzcat.executableURL = URL(fileURLWithPath: "/bin/bzcat")
        bzcat.arguments = [directory + "/" + name + ".bz2"]
        let output = Pipe()
        bzcat.standardOutput = output
        guard (try? bzcat.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        bzcat.waitUntilExit()
        return bzcat.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    static func toASCII(directory: String = "/usr/share/unicode") -> [Unicode.Scalar: [String]] {
        func scalars(_ field: Substring) -> [UInt32] { field.split(separator: " ").compactMap { UInt32($0, radix: 16) } }
        var decompositions: [UInt32: [UInt32]] = [:]
        var cases: [UInt32: [[UInt32]]] = [:]
        guard let unicodeData = file("UnicodeData.txt", directory: directory),
              let caseFolding = file("CaseFolding.txt", directory: directory) else { return [:] }
        for line in unicodeData.split(separator: "\n") {
            let fields = line.split(separator: ";", omittingEmptySubsequences: false)
            guard let code = UInt32(fields[0], radix: 16) else { continue }
            if !fields[5].isEmpty { decompositions[code] = scalars(fields[5].hasPrefix("<") ? fields[5].drop(while: { $0 != ">" }).dropFirst() : fields[5]) }
            for index in [12, 13, 14] where !fields[index].isEmpty { cases[code, default: []].append(scalars(fields[index])) }
        }
        for line in caseFolding.split(separator: "\n")
        where !line.hasPrefix("#") && !line.isEmpty {
            let fields = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 3, ["C", "F", "S"].contains(fields[1]), let code = UInt32(fields[0], radix: 16) else { continue }
            cases[code, default: []].append(scalars(Substring(fields[2])))
        }
        func decomposed(_ code: UInt32) -> [UInt32] { decompositions[code].map { $0.flatMap(decomposed) } ?? [code] }
        var result: [Unicode.Scalar: [String]] = [:]
        for code in Set(decompositions.keys).union(cases.keys) where code >= 0x80 {
            let forms = ([decomposed(code)] + (cases[code] ?? [])).filter { !$0.isEmpty && $0.allSatisfy { $0 < 0x80 } }
            guard !forms.isEmpty, let scalar = Unicode.Scalar(code) else { continue }
            result[scalar] = forms.map { String(String.UnicodeScalarView($0.compactMap(Unicode.Scalar.init))) }
        }
        return result
    }
}
