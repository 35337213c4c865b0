/// Measures the WAF's CPU time per request on benign traffic (a GET with a query and a 1 KB JSON
/// ticket reply), for `make bench` and the benchmark document. Not a test: timings depend on the
/// machine and the build configuration (use a release build).
public enum WAFBenchmark {
    /// The result of one run.
    public struct Result: Sendable, CustomStringConvertible {
        /// What was measured.
        public let name: String
        /// Requests inspected.
        public let iterations: Int
        /// Mean time per request, in microseconds.
        public let microsecondsPerRequest: Double

        /// One line for the benchmark output.
        public var description: String {
            "\(name): \((microsecondsPerRequest * 100).rounded() / 100) µs/request over \(iterations) requests"
        }
    }

    /// A benign GET: a ticket search with a few query arguments and browser headers.
    public static let benignGet = InspectedRequest(
        method: "GET", rawPath: "/api/v1/tickets",
        rawQuery: "q=printer%20not%20working%20after%20update&status=open&sort=-updated_at&page=2&per_page=25",
        headers: browserHeaders, tenant: "acme", routeClass: "api")

    /// A benign 1 KB JSON POST: a customer's reply on a ticket, with HTML and a code snippet.
    public static let benignPost: InspectedRequest = {
        let body = """
            {"body":"<p>Hi Ana,</p><p>Thanks for the quick answer! I tried the steps from your last message but the export \
            still fails. Here is what I ran:</p><pre><code>SELECT id, subject FROM tickets WHERE status = 'open' ORDER BY id;\
            </code></pre><p>The log says <em>&quot;connection reset by peer&quot;</em> after about 30 seconds. We're on \
            version 4.2 (O'Brien's team upgraded last week). Could you check whether the nightly job on your side \
            touched our account? Please select the option to keep attachments &amp; update the table if needed.</p>\
            <p>Best regards,<br>Seán Ó Briain — Ops</p><table style=\\"border:1px solid #ccc\\"><tr><td>Order</td>\
            <td>#48213</td></tr><tr><td>Region</td><td>eu</td></tr></table>","html_body":null,\
            "visibility":"public","attachments":[{"name":"export-log.txt","size":48213}],\
            "metadata":{"client":"web","locale":"en-IE","draft_id":"d_7f3a9c21"}}
            """
        return InspectedRequest(
            method: "POST", rawPath: "/api/v1/tickets/48213/messages",
            headers: browserHeaders + [("Content-Type", "application/json"), ("Content-Length", String(body.utf8.count))],
            body: Array(body.utf8)[...], tenant: "acme", routeClass: "api")
    }()

    static let browserHeaders: [(name: String, value: String)] = [
        ("Host", "acme.eu.rampart.example"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"),
        ("Accept", "application/json, text/plain, */*"),
        ("Accept-Language", "en-IE,en;q=0.9,ga;q=0.8"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Referer", "https://acme.eu.rampart.example/tickets/48213"),
        ("Cookie", "rampart_session=Zk9wY2t3b3JkX2V4YW1wbGVfdG9rZW4; theme=dark; tz=Europe%2FDublin"),
    ]

    /// Inspects each sample `iterations` times with `waf` and reports the mean time per request.
    public static func run(waf: WAF, iterations: Int = 20_000) -> [Result] {
        [("benign GET", benignGet), ("benign 1 KB JSON POST", benignPost)].map { name, request in
            var blocked = 0
            for _ in 0..<min(iterations, 1_000) where waf.inspect(request).blocked { blocked += 1 }
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for _ in 0..<iterations where waf.inspect(request).blocked { blocked += 1 }
            }
            let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
            return Result(name: blocked > 0 ? "\(name) (BLOCKED: benign sample refused)" : name,
                          iterations: iterations, microsecondsPerRequest: micros / Double(iterations))
        }
    }
}
