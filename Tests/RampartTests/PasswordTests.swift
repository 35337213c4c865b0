import Foundation
@testable import Identity
import Testing

@Suite("Password hashing")
struct PasswordHasherTests {
    let hasher = PasswordHasher(parameters: .testing)

    @Test func hashesWithArgon2idAndItsParametersAndVerifies() async throws {
        let hash = try await hasher.hash("correct horse battery staple")
        #expect(hash.hasPrefix("$argon2id$v=19$m=64,t=1,p=1$"))
        #expect(try await hasher.verify("correct horse battery staple", against: hash) == .match(needsRehash: false))
        #expect(try await hasher.verify("correct horse battery stapler", against: hash) == .mismatch)
        #expect(try await hasher.verify("", against: hash) == .mismatch)
    }

    @Test func everyHashHasItsOwnSalt() async throws {
        let first = try await hasher.hash("same password here")
        let second = try await hasher.hash("same password here")
        #expect(first != second)
    }

    @Test func weakerStoredParametersAskForARehash() async throws {
        let old = try await hasher.hash("a long enough password")
        let stronger = PasswordHasher(parameters: Argon2Parameters(memoryKiB: 128, iterations: 2, parallelism: 1))
        #expect(try await stronger.verify("a long enough password", against: old) == .match(needsRehash: true))
        #expect(try await stronger.verify("wrong", against: old) == .mismatch)
    }

    @Test func productionParametersAreOWASPs() async throws {
        let hash = try await PasswordHasher().hash("a long enough password")
        #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
    }

    @Test(arguments: ["", "plain-text", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "$2b$12$abcdefghijklmnopqrstuv", "$argon2id$v=19$m=64,t=1,p=1$!!$!!"])
    func unusableStoredHashesNeverMatch(_ stored: String) async throws {
        #expect(try await hasher.verify("anything", against: stored) == .mismatch)
    }

    @Test func refusesAbsurdlyLongInputBeforeHashing() async throws {
        await #expect(throws: PasswordHashingError.tooLong) { try await hasher.hash(String(repeating: "x", count: 2000)) }
        let hash = try await hasher.hash("short one")
        #expect(try await hasher.verify(String(repeating: "x", count: 2000), against: hash) == .mismatch)
    }

    @Test func compatibilityEquivalentSpellingsAreTheSamePassword() async throws {
        // "ﬁ" (U+FB01) and "fi" are one password after NFKC, whatever the keyboard produced.
        let hash = try await hasher.hash("ﬁnancial report twenty")
        #expect(try await hasher.verify("financial report twenty", against: hash) == .match(needsRehash: false))
    }
}

@Suite("Password policy")
struct PasswordPolicyTests {
    let subject = PasswordPolicy.Subject(email: "jane.doe@acme.test", name: "Jane Doe")

    func codes(_ policy: PasswordPolicy, _ password: String) -> [String] {
        policy.violations(of: password, for: subject).map(\.code)
    }

    @Test func bundledListIsLoaded() {
        #expect(CommonPasswords.bundled.count == 30000)
    }

    @Test func standardsPresetIsLengthNotComposition() {
        #expect(PasswordPolicy.standards.minimumLength == 12)
        #expect(PasswordPolicy.standards.maximumLength >= 64)
        #expect(PasswordPolicy.standards.maximumAgeDays == nil)
        #expect(PasswordPolicy.standards.historyDepth == 0)
        #expect(codes(.standards, "purple elephants dance quietly") == [])
        #expect(codes(.standards, "kaffeetasse über den wolken") == [])
        #expect(codes(.standards, "日本語のとても長いパスフレーズです") == [])
        #expect(codes(.standards, "short") == ["password_too_short"])
        #expect(codes(.standards, String(repeating: "long words ", count: 20)) == ["password_too_long"])
    }

    @Test(arguments: ["password1234", "Password123!", "p@ssw0rd12345", "qwertyuiop12", "1234567890123", "iloveyou2024!!", "DRAGON-DRAGON"])
    func refusesCommonAndBreachedStylePasswords(_ password: String) {
        #expect(codes(.standards, password).contains("password_too_common"))
    }

    @Test(arguments: ["jane.doe@acme.test!!", "my name is janedoe", "xx-JANE.DOE-2024-xx", "janes secret garden"])
    func refusesPasswordsContainingTheUsersIdentity(_ password: String) {
        #expect(codes(.standards, password).contains("password_contains_personal_information"))
    }

    @Test func pciPresetNeedsLettersAndDigitsHistoryAndRotation() {
        let pci = PasswordPolicy.pci
        #expect(pci.historyDepth == 4)
        #expect(pci.maximumAgeDays == 90)
        #expect(codes(pci, "only letters in this one") == ["password_needs_digit"])
        #expect(codes(pci, "1234 5678 9012 3456 7") == ["password_needs_letter"])
        #expect(codes(pci, "tangerine 42 horizon") == [])
    }

    @Test func everyKnobHasItsOwnMessage() {
        let strict = PasswordPolicy(minimumLength: 16, maximumLength: 64, requireLetter: true, requireDigit: true, requireMixedCase: true, requireSymbol: true)
        let violations = strict.violations(of: "                 ", for: subject)
        #expect(violations.map(\.code) == ["password_needs_letter", "password_needs_digit", "password_needs_mixed_case", "password_needs_symbol", "password_too_common"])
        #expect(Set(violations.map(\.message)).count == violations.count)
        #expect(strict.violations(of: "Tangerine-42-Horizon", for: subject).isEmpty)
    }

    @Test func customPoliciesStayWithinSafeLimits() {
        #expect(PasswordPolicy.standards.configurationProblems().isEmpty)
        #expect(PasswordPolicy.pci.configurationProblems().isEmpty)
        let weak = PasswordPolicy(minimumLength: 4, maximumLength: 20, historyDepth: 99, maximumAgeDays: 0)
        #expect(weak.configurationProblems().count == 4)
    }

    @Test func reusingOneOfTheLastPasswordsIsRefused() async throws {
        let hasher = PasswordHasher(parameters: .testing)
        var history: [String] = []
        for password in ["first password 1", "second password 2", "third password 3", "fourth password 4", "fifth password 5"] {
            history.insert(try await hasher.hash(password), at: 0)
        }
        #expect(try await PasswordHistory.violation("second password 2", previousHashes: history, depth: 4, hasher: hasher) == .reused(depth: 4))
        // The oldest is beyond a depth of four.
        #expect(try await PasswordHistory.violation("first password 1", previousHashes: history, depth: 4, hasher: hasher) == nil)
        #expect(try await PasswordHistory.violation("second password 2", previousHashes: history, depth: 0, hasher: hasher) == nil)
    }

    @Test func passwordsExpireOnlyWhenThePolicySaysSo() {
        let changed = Date.now.addingTimeInterval(-91 * 86400)
        #expect(PasswordHistory.isExpired(changedAt: changed, policy: .pci))
        #expect(!PasswordHistory.isExpired(changedAt: changed, policy: .standards))
        #expect(!PasswordHistory.isExpired(changedAt: .now.addingTimeInterval(-89 * 86400), policy: .pci))
    }
}
