import Testing
@testable import PortalLinksCore

@Suite struct EmailAddressTests {
    @Test func oneSpellingPerAddress() {
        #expect(EmailAddress("  Ana.Lima@Example.COM \n")?.normalized == "ana.lima@example.com")
        #expect(EmailAddress("ana.lima@example.com") == EmailAddress("ANA.LIMA@EXAMPLE.COM"))
        #expect(EmailAddress("ÉLODIE@exemple.fr")?.normalized == "élodie@exemple.fr")
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
