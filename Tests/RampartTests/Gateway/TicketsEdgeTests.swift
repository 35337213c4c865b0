import Foundation
@testable import Gateway
import HTTPTypes
import Logging
import NIOCore
import RampartCore
import Testing

@Suite("Gateway: the helpdesk's routes at the edge (classes, rich text through the shipped WAF)")
struct TicketsEdgeTests {
    static var deploy: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Deploy")
    }

    func route(_ path: String) throws -> EdgePolicy.Route? {
        let policy = try EdgePolicy(contentsOf: Self.deploy.appendingPathComponent("gateway/edge.yaml").path)
        return RouteTable(routes: policy.routes, blocked: policy.blockedPrefixes).route(for: path)
    }

    @Test func onlyAttachmentUploadsGetTheLargeBodyClassAndSearchItsRateClass() throws {
        for path in ["/api/v1/tickets", "/api/v1/tickets/4b7c/messages", "/api/v1/people", "/api/v1/organizations/1", "/api/v1/departments",
                     "/api/v1/teams", "/api/v1/custom-fields", "/api/v1/openapi.json", "/api/v1/search", "/api/v1/attachments"] {
            let route = try #require(try route(path), "\(path)")
            #expect(route.service == .tickets, "\(path)")
            #expect(route.auth == .required, "\(path)")
            #expect(route.body == (path == "/api/v1/attachments" ? "upload" : nil), "\(path)")
            #expect(route.rateClass == (path == "/api/v1/search" ? "search" : nil), "\(path)")
        }
    }

    func inspect(_ shield: ShieldInspection, _ path: String, body: String) async -> InspectionVerdict {
        await shield.inspect(EdgeInspectionRequest(
            requestID: "r1", clientIP: "192.0.2.7", host: .tenant(TenantSlug(rawValue: "acme")!, Region(rawValue: "eu")!), method: .post,
            target: path, headers: [.userAgent: "Mozilla/5.0", .accept: "application/json", .contentType: "application/json"],
            route: EdgePolicy.Route(prefix: "/api/v1/tickets", service: .tickets, auth: .required),
            body: ByteBuffer(string: body)
        ))
    }

    @Test func ticketCreatesAndRepliesWithCodeSQLProseAndHTMLMailPassWhileAScriptInTheSubjectIsBlocked() async throws {
        let shield = ShieldInspection(waf: try WafCorpus.shippedWAF(),
                                      limiter: RateLimiter(configuration: try RateLimitConfiguration(yaml: ShieldInspectionTests.limits)),
                                      logger: Logger(label: "test"))
        let html = #"<html><body><table style=\"border:0\"><tr><td><p>Hello,</p><p>Select the rows and drop me a line: <code>SELECT id FROM orders WHERE status = 'open' OR total > 100;</code></p><img src=\"https://cdn.example.com/logo.png\" alt=\"logo\"><a href=\"https://example.com/?a=1&amp;b=2\">link</a></td></tr></table></body></html>"#
        let passing: [(String, String)] = [
            ("/api/v1/tickets", #"{"subject":"Export fails for orders","message":{"body":"\#(html)","format":"html"},"priority":"high"}"#),
            ("/api/v1/tickets", #"{"subject":"Union rate question","message":{"body":"Please select the plan where we can drop the old seats or update them; delete from my cart didn't work.","format":"text"}}"#),
            ("/api/v1/tickets/0191b3f2-0000-7000-8000-000000000001/messages", #"{"body":"Try:\n\n```js\nconst el = document.querySelector('#x');\nel.addEventListener('click', () => fetch('/api'));\n```\nand `rm -rf ./tmp`","format":"text","kind":"reply"}"#),
            ("/api/v1/tickets/0191b3f2-0000-7000-8000-000000000001/messages", #"{"body":"\#(html)","format":"html","kind":"note"}"#),
        ]
        for (path, body) in passing {
            let verdict = await inspect(shield, path, body: body)
            #expect(verdict.refusal == nil, "\(body.prefix(60))")
        }
        let attack = await inspect(shield, "/api/v1/tickets", body: #"{"subject":"<script>alert(document.cookie)</script>","message":{"body":"hi"}}"#)
        #expect(attack.refusal?.status == .forbidden)
        #expect(attack.refusal?.code == "request_blocked")
        let scriptInBody = await inspect(shield, "/api/v1/tickets", body: #"{"subject":"hi","message":{"body":"<p>x</p><script>alert(1)</script>","format":"html"}}"#)
        #expect(scriptInBody.refusal?.status == .forbidden)
    }
}
