import Foundation
@testable import Gateway
import Testing

@Suite("WAF on hostile input: bounded time and clean verdicts")
struct WafResilienceTests {
    /// 16 KB values built to make naive scanners or regular expressions quadratic.
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
}
