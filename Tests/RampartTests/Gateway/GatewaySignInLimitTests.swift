import Foundation
@testable import Gateway
import NIOCore
import Testing

/// Sign-in attempts counted per client address and account (`sign-in-account` in the shipped
/// rate limits: 5 a minute): the login name comes from identity's sign-in JSON and form.
@Suite("Gateway: sign-in rate limit by account")
struct GatewaySignInLimitTests {
    @Test func theLoginNameIsReadFromJSONAndFormsTrimmedAndLowercased() {
        let json = ByteBuffer(string: #"{"email":"  Ada@Example.TEST ","password":"x"}"#)
        #expect(SignInAccount.find(body: json, contentType: "application/json") == .account("ada@example.test"))
        // JSON escapes are decoded as identity's decoder does; the content type does not matter to it.
        let escaped = ByteBuffer(string: #"{"password":"x","email":"\u0041da@example.test"}"#)
        #expect(SignInAccount.find(body: escaped, contentType: nil) == .account("ada@example.test"))
        let form = ByteBuffer(string: "return_to=%2F&email=+%41DA%40example.test&password=x")
        #expect(SignInAccount.find(body: form, contentType: "application/x-www-form-urlencoded; charset=utf-8") == .account("ada@example.test"))
    }

    @Test func onlyATopLevelEmailCountsAndTwoDifferentOnesAreAmbiguous() {
        let nested = ByteBuffer(string: #"{"profile":{"email":"ada@example.test"},"password":"x"}"#)
        #expect(SignInAccount.find(body: nested, contentType: "application/json") == .absent)
        #expect(SignInAccount.find(body: ByteBuffer(string: #"{"email":"","password":"x"}"#), contentType: "application/json") == .absent)
        #expect(SignInAccount.find(body: nil, contentType: nil) == .absent)
        // Whichever of the two identity reads, the edge would have counted the other one.
        let twice = ByteBuffer(string: #"{"email":"decoy@example.test","email":"ada@example.test","password":"x"}"#)
        #expect(SignInAccount.find(body: twice, contentType: "application/json") == .ambiguous)
        let twiceInForm = ByteBuffer(string: "email=decoy%40example.test&email=ada%40example.test")
        #expect(SignInAccount.find(body: twiceInForm, contentType: "application/x-www-form-urlencoded") == .ambiguous)
        // The same account twice is not ambiguous.
        let same = ByteBuffer(string: #"{"email":"ada@example.test","email":"ADA@example.test"}"#)
        #expect(SignInAccount.find(body: same, contentType: "application/json") == .account("ada@example.test"))
    }

    /// A gateway of its own (shipped rate limits, counters of its own) in front of the suite's
    /// identity instances, so other tests' sign-ins do not count here.
    static let gateway = Task<(port: Int, ca: String), any Error> {
        let fixture = try await EdgeFixture.shared.value
        let endpoints: [String: Any] = ["regions": ["eu": ["identity": fixture.identityEU], "us": ["identity": fixture.identityUS]]]
        let (port, _) = try await EdgeFixture.startGateway(
            pki: fixture.pki, signingKey: .generate(), endpoints: endpoints, policy: try EdgeFixture.policy(), accessLog: AccessLog(sink: .init { _ in })
        )
        return (port, fixture.pki.caPath)
    }

    func signIn(_ email: String, form: Bool = false) async throws -> EdgeClient.Reply {
        let gateway = try await Self.gateway.value
        if form {
            return try await EdgeClient.request(
                "https://acme.eu.localhost:\(gateway.port)/login", method: "POST", ca: gateway.ca,
                headers: ["Content-Type: application/x-www-form-urlencoded"],
                body: Data("email=\(email.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&password=wrong+horse".utf8)
            )
        }
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": "wrong horse battery"])
        return try await EdgeClient.request("https://acme.eu.localhost:\(gateway.port)/auth/password", method: "POST", ca: gateway.ca,
                                            headers: ["Content-Type: application/json"], body: body)
    }

    @Test func theSixthAttemptForOneAccountIs429WhileAnotherAccountFromTheSameAddressPasses() async throws {
        let account = "nobody-\(UUID().uuidString.prefix(8).lowercased())@acme.test"
        // Five attempts for one account, spelled differently and through both sign-in forms: all
        // reach identity, which refuses the unknown account.
        for (spelling, form) in [(account, false), (account.uppercased(), false), ("  \(account) ", false), (account, true), (account.capitalized, true)] {
            let reply = try await signIn(spelling, form: form)
            #expect(reply.status != 429, "attempt \(spelling) was limited: \(reply.text)")
        }
        let sixth = try await signIn(account)
        #expect(sixth.status == 429)
        #expect(sixth.json["code"] as? String == "rate_limited")
        #expect(sixth.headers["ratelimit-limit"] == "5")
        #expect(Int(sixth.headers["retry-after"] ?? "") ?? 0 >= 1)
        // Same address, another account: its own count, so it reaches identity (401 for a wrong password).
        let other = try await signIn("ada@acme.test")
        #expect(other.status == 401, "\(other.text)")
    }

    @Test func aSignInNamingTwoAccountsIsRefusedAt400() async throws {
        let gateway = try await Self.gateway.value
        let reply = try await EdgeClient.request(
            "https://acme.eu.localhost:\(gateway.port)/auth/password", method: "POST", ca: gateway.ca, headers: ["Content-Type: application/json"],
            body: Data(#"{"email":"decoy@acme.test","email":"ada@acme.test","password":"wrong horse battery"}"#.utf8)
        )
        #expect(reply.status == 400)
        #expect(reply.json["code"] as? String == "bad_request")
        #expect(reply.headers["content-type"] == "application/problem+json")
    }
}
