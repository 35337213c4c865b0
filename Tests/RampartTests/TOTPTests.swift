import Crypto
import Foundation
@testable import Identity
import RampartCore
import RampartSecurity
import RampartStorage
import Testing

@Suite("TOTP")
struct TOTPTests {
    let rfcSecret = Data("12345678901234567890".utf8)

    @Test(arguments: [
        (59.0, "94287082"), (1111111109.0, "07081804"), (1111111111.0, "14050471"),
        (1234567890.0, "89005924"), (2000000000.0, "69279037"), (20000000000.0, "65353130"),
    ])
    func matchesRFC6238SHA1Vectors(_ time: Double, _ expected: String) {
        let eight = TOTP(secret: rfcSecret, digits: 8)
        #expect(eight.code(step: eight.step(at: Date(timeIntervalSince1970: time))) == expected)
        let six = TOTP(secret: rfcSecret)
        #expect(six.code(step: six.step(at: Date(timeIntervalSince1970: time))) == String(expected.suffix(6)))
    }

    @Test func agreesWithAnIndependentImplementation() throws {
        // Python's standard library, written from RFC 4226/6238 independently of ours.
        let secret = TOTP.generateSecret()
        let totp = TOTP(secret: secret)
        let times = [0.0, 1_700_000_000, 1_800_000_123, 2_100_000_999]
        let script = """
            import base64, hashlib, hmac, struct, sys
            key = base64.b32decode(sys.argv[1] + '=' * (-len(sys.argv[1]) % 8))
            for t in sys.argv[2:]:
                mac = hmac.new(key, struct.pack('>Q', int(float(t)) // 30), hashlib.sha1).digest()
                o = mac[-1] & 15
                print('%06d' % ((struct.unpack('>I', mac[o:o + 4])[0] & 0x7fffffff) % 1000000))
            """
        let result = try Subprocess("python3", ["-c", script, Base32.encode(secret)] + times.map { String($0) }).runHere()
        #expect(result.status == 0)
        let output = result.output
        let ours = times.map { totp.code(step: totp.step(at: Date(timeIntervalSince1970: $0))) }
        #expect(output.split(separator: "\n").map(String.init) == ours)
    }

    @Test func acceptsOneStepEitherSideOnlyAndNeverAUsedStepAgain() {
        let totp = TOTP(secret: rfcSecret)
        let now = Date(timeIntervalSince1970: 1_700_000_015)
        let step = totp.step(at: now)
        #expect(totp.verify(totp.code(step: step), at: now, lastUsedStep: nil) == step)
        #expect(totp.verify(totp.code(step: step - 1), at: now, lastUsedStep: nil) == step - 1)
        #expect(totp.verify(totp.code(step: step + 1), at: now, lastUsedStep: nil) == step + 1)
        #expect(totp.verify(totp.code(step: step - 2), at: now, lastUsedStep: nil) == nil)
        #expect(totp.verify(totp.code(step: step + 2), at: now, lastUsedStep: nil) == nil)
        #expect(totp.verify(totp.code(step: step), at: now, lastUsedStep: step) == nil)
        #expect(totp.verify(totp.code(step: step - 1), at: now, lastUsedStep: step) == nil)
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            #expect(totp.verify(bad, at: now, lastUsedStep: nil) == nil)
        }
    }

    @Test func encodesSecretsForAuthenticatorApps() {
        #expect(Base32.encode(Data("foobar".utf8)) == "MZXW6YTBOI")
        let uri = TOTP(secret: Data("foobar".utf8)).provisioningURI(issuer: "Rampart", account: "ada@acme.test")
        #expect(uri == "otpauth://totp/Rampart:ada@acme.test?secret=MZXW6YTBOI&issuer=Rampart&algorithm=SHA1&digits=6&period=30")
    }
}

@Suite("Identity: two-factor sign-in")
struct TwoFactorSignInTests {
    static let password = "violet submarine harbour 42"

    func withTwoFactor(_ body: @escaping @Sendable (IdentityFixture, TwoFactorRepository, PasswordSignIn, Tenant, User) async throws -> Void) async throws {
        try await IdentityFixture.with { f in
            let store = try FileKeyStore(directory: FileManager.default.temporaryDirectory.appendingPathComponent("rampart-ks-\(UUID().uuidString)"))
            let twoFactor = TwoFactorRepository(database: f.database, region: Region(rawValue: "eu")!,
                                                keyring: TenantKeyring(keys: .generate(), store: store), codeHashKey: SymmetricKey(size: .bits256))
            let flow = PasswordSignIn(database: f.database, region: Region(rawValue: "eu")!, hasher: PasswordHasher(parameters: .testing), twoFactor: twoFactor)
            let acme = try await f.tenant("acme")
            let user = try await f.user(acme, "ada@acme.test")
            try await body(f, twoFactor, flow, acme, user)
        }
    }

    let origin = PasswordSignIn.Origin(ip: "192.0.2.7", userAgent: nil, requestID: nil)

    func challenge(_ flow: PasswordSignIn, _ tenant: Tenant) async throws -> String {
        guard case .secondFactorRequired(let challenge, _) = try await flow.signIn(tenant: tenant, email: "ada@acme.test", password: Self.password, origin: origin) else {
            throw TestSetupError("no second factor asked for")
        }
        return challenge
    }

    @Test func enrollmentSealsTheSecretAndNeedsAFirstCode() async throws {
        try await withTwoFactor { f, twoFactor, _, acme, user in
            let totp = try await twoFactor.enroll(user)
            let stored = try await f.database.withTenant(acme.id) { try await $0.values("SELECT secret_sealed FROM totp_credentials", as: Data.self) }
            #expect(stored.count == 1 && stored[0].range(of: totp.secret) == nil)
            #expect(try await twoFactor.isEnabled(user) == false)
            await #expect(throws: TwoFactorRepository.TwoFactorError.wrongCode) {
                try await twoFactor.confirm(user, code: "000000", actor: IdentityFixture.operatorActor, requestID: nil)
            }
            let codes = try await twoFactor.confirm(user, code: totp.code(step: totp.step(at: .now)), actor: IdentityFixture.operatorActor, requestID: nil)
            #expect(codes.count == 10 && Set(codes).count == 10)
            #expect(try await twoFactor.isEnabled(user))
            await #expect(throws: TwoFactorRepository.TwoFactorError.alreadyEnabled) { try await twoFactor.enroll(user) }
            #expect(try await f.outbox(acme).contains { $0.contains("mfa.totp_enabled") })
        }
    }

    @Test func passwordAloneNoLongerSignsInAndEachCodeWorksOnce() async throws {
        try await withTwoFactor { f, twoFactor, flow, acme, user in
            let totp = try await twoFactor.enroll(user)
            // Confirm with this step's code and sign in with the next step's, which the ±1 window
            // accepts now and in the next 30 seconds, so a slow machine does not cross the window.
            let enrolledStep = totp.step(at: .now)
            let recovery = try await twoFactor.confirm(user, code: totp.code(step: enrolledStep), actor: IdentityFixture.operatorActor, requestID: nil)
            let code = totp.code(step: enrolledStep + 1)
            let first = try await challenge(flow, acme)
            guard case .signedIn(_, let token, _, _) = try await flow.completeSecondFactor(tenant: acme, challenge: first, code: code, origin: origin) else {
                Issue.record("right code refused"); return
            }
            guard case .success(let issued) = try await f.issuer.resolve(sessionToken: token, tenantSlug: "acme", audience: .tickets) else { Issue.record("session refused"); return }
            #expect(issued.principal.authenticationMethod == .totp)
            // The same code on a fresh challenge is a replay; the used challenge is spent.
            let second = try await challenge(flow, acme)
            guard case .refused = try await flow.completeSecondFactor(tenant: acme, challenge: second, code: code, origin: origin) else { Issue.record("replayed code accepted"); return }
            // A spent challenge is refused even with a valid, unused recovery code.
            guard case .refused = try await flow.completeSecondFactor(tenant: acme, challenge: first, code: recovery[0], origin: origin) else {
                Issue.record("challenge used twice"); return
            }
        }
    }

    @Test func recoveryCodesWorkOnceEach() async throws {
        try await withTwoFactor { _, twoFactor, flow, acme, user in
            let totp = try await twoFactor.enroll(user)
            let codes = try await twoFactor.confirm(user, code: totp.code(step: totp.step(at: .now)), actor: IdentityFixture.operatorActor, requestID: nil)
            guard case .signedIn = try await flow.completeSecondFactor(tenant: acme, challenge: try await challenge(flow, acme), code: codes[3].uppercased(), origin: origin) else {
                Issue.record("recovery code refused"); return
            }
            guard case .refused = try await flow.completeSecondFactor(tenant: acme, challenge: try await challenge(flow, acme), code: codes[3], origin: origin) else {
                Issue.record("recovery code used twice"); return
            }
        }
    }

    @Test func guessingCodesIsThrottled() async throws {
        try await withTwoFactor { _, twoFactor, flow, acme, user in
            let totp = try await twoFactor.enroll(user)
            let enrolledStep = totp.step(at: .now)
            _ = try await twoFactor.confirm(user, code: totp.code(step: enrolledStep), actor: IdentityFixture.operatorActor, requestID: nil)
            let pending = try await challenge(flow, acme)
            for guess in 0..<5 {
                _ = try await flow.completeSecondFactor(tenant: acme, challenge: pending, code: String(format: "%06d", guess), origin: origin)
            }
            guard case .throttled = try await flow.completeSecondFactor(tenant: acme, challenge: pending, code: totp.code(step: enrolledStep + 1), origin: origin) else {
                Issue.record("sixth guess not throttled"); return
            }
        }
    }
}
