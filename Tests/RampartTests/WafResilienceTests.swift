import Foundation
@testable import Gateway
import Testing

@Suite("WAF on hostile input: bounded time and clean verdicts")
struct WafResilienceTests {
    /// 16–64 KB values built to make naive scanners or regular expressions quadratic.
    static let pathological: [String] = [
        String(repeating: "<style>", count: 2_250),
        "\"" + String(repeating: "on", count: 8_000),
        String(repeating: "\n", count: 16_000) + "x",
        String(repeating: "{{", count: 8_000),
        String(repeating: "curl ", count: 3_250),
        "http://1.2.3.4/" + String(repeating: "a", count: 16_000),
        String(repeating: "<a ", count: 5_250),
        String(repeating: "'", count: 16_000),
        String(repeating: "%25", count: 5_250),
        String(repeating: "&#", count: 8_000),
        String(repeating: "/*", count: 8_000),
        String(repeating: "${", count: 8_000),
        String(repeating: "../", count: 5_250),
        String(repeating: "{{constructor", count: 1_250),
        String(repeating: "http://1.2.3.4/", count: 1_000),
        String(repeating: "${jndi", count: 2_500),
        String(repeating: "'+", count: 8_000),
        String(repeating: "; cat", count: 3_250),
        String(repeating: "{{7*", count: 4_000),
        String(repeating: "a(", count: 8_000),
        String(repeating: "__", count: 8_000),
        String(repeating: "<?", count: 8_000),
        String(repeating: "o:1:\"", count: 3_000),
        String(repeating: "/*!", count: 21_800),
        String(repeating: "<!-- a ", count: 2_300),
        String(repeating: "<title>", count: 2_300),
        String(repeating: "javascript:a ", count: 1_250),
    ]

    @Test(arguments: 0..<pathological.count)
    func pathologicalValuesAreInspectedQuickly(_ index: Int) throws {
        let waf = try WafCorpus.shippedWAF(paranoia: 4)
        let value = Self.pathological[index]
        let escaped = WafCorpus.queryEscaped(value)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            _ = waf.inspect(InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", rawQuery: "q=\(escaped)"))
            _ = waf.inspect(InspectedRequest(
                method: "POST", rawPath: "/api/v1/tickets/1/messages", headers: [("Content-Type", "application/json")],
                body: Array(try! JSONSerialization.data(withJSONObject: ["body": value, "subject": value]))[...]))
        }
        // Linear scans take milliseconds even in debug builds; a quadratic one takes many seconds.
        #expect(elapsed < .seconds(2), "value \(index) took \(elapsed)")
    }

    @Test func deeplyNestedJSONIsMalformedNotACrash() throws {
        let waf = try WafCorpus.shippedWAF()
        let body = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let verdict = waf.inspect(InspectedRequest(
            method: "POST", rawPath: "/api/v1/tickets", headers: [("Content-Type", "application/json")], body: Array(body.utf8)[...]))
        #expect(verdict.matches.contains { $0.ruleID == 1010 })
    }

    @Test func invalidUTF8AndControlBytesAreHandled() throws {
        let waf = try WafCorpus.shippedWAF()
        let body: [UInt8] = Array(#"{"subject":""#.utf8) + [0xC0, 0xAF, 0xFF, 0xFE, 0x01] + Array(#""}"#.utf8)
        let verdict = waf.inspect(InspectedRequest(
            method: "POST", rawPath: "/api/v1/tickets", headers: [("Content-Type", "application/json")], body: body[...]))
        #expect(verdict.matches.allSatisfy { $0.fragment.count <= WAFMatch.maximumFragmentLength })
        let multipart = waf.inspect(InspectedRequest(
            method: "POST", rawPath: "/api/v1/tickets/1/attachments",
            headers: [("Content-Type", "multipart/form-data; boundary=x")], body: Array("--x\r\nno headers end".utf8)[...]))
        #expect(multipart.score >= 0)
    }

    /// Fields beyond what the WAF takes apart are never a hiding place: a query, form or cookie
    /// header of more than `RequestFields.maximumPairs` fields is refused (rule 1012) instead of
    /// its tail going uninspected.
    @Test func anAttackBehindTooManyFieldsIsRefusedNotMissed() throws {
        let waf = try WafCorpus.shippedWAF()
        let padding = (0..<RequestFields.maximumPairs).map { "f\($0)=1" }.joined(separator: "&")
        let attack = "subject=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
        func form(_ body: String) -> WAFVerdict {
            waf.inspect(InspectedRequest(method: "POST", rawPath: "/account/profile", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                         body: Array(body.utf8)[...]))
        }
        let hidden = form(padding + "&" + attack)
        #expect(hidden.matches.contains { $0.ruleID == 1012 && $0.target == "form" })
        #expect(hidden.blocked)
        let seen = form("f1=1&f2=2&" + attack)
        #expect(seen.blocked && !seen.matches.contains { $0.ruleID == 1012 })
        #expect(!form(String(padding.prefix { $0 != "&" })).blocked, "one field is no violation")
        let query = waf.inspect(InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", rawQuery: padding + "&" + attack, headers: []))
        #expect(query.matches.contains { $0.ruleID == 1012 && $0.target == "query" })
        let cookies = (0...RequestFields.maximumPairs).map { "c\($0)=1" }.joined(separator: "; ")
        let cookie = waf.inspect(InspectedRequest(method: "GET", rawPath: "/", headers: [("Cookie", cookies)]))
        #expect(cookie.matches.contains { $0.ruleID == 1012 && $0.target == "cookies" })
    }
}
