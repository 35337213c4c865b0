@testable import Gateway
import Testing

@Suite("WAF tokenizers and detectors")
struct WafTokenizerTests {
    func fingerprint(_ text: String, _ context: SQLTokenizer.Context) -> String {
        let tokens = SQLInjectionDetector.fold(SQLTokenizer.tokenize(Array(text.utf8), context: context))
        return String(decoding: tokens.map(\.kind.rawValue), as: UTF8.self)
    }

    func isSQLInjection(_ text: String) -> Bool { SQLInjectionDetector.detect(Array(text.utf8)) != nil }
    func isXSS(_ text: String) -> Bool { XSSDetector.detect(Array(text.utf8)) != nil }
    func isExecutableHTML(_ text: String) -> Bool { RichTextInspector.detect(Array(text.utf8)) != nil }

    @Test func sqlTokenizerFingerprintsInjectionShapes() {
        #expect(fingerprint("' or 1=1 --", .singleQuoted) == "s&1o1c")
        #expect(fingerprint("1 UNION ALL SELECT a,b FROM t", .bare) == "1Ukkn,nkn")
        #expect(fingerprint("'; DROP TABLE users", .singleQuoted) == "s;kkn")
        #expect(fingerprint("1 AND SLEEP(5)", .bare) == "1&f(1)")
        #expect(fingerprint("'/**/or/**/'a'='a", .singleQuoted) == "s&sos")
        #expect(fingerprint("-1 or @@version", .bare) == "1&v")
        #expect(fingerprint("x /*!50000UNION*/ SELECT", .bare) == "nUk")
    }

    @Test func sqlTokenizerReadsStringsWithEscapesAndDoubledQuotes() {
        let tokens = SQLTokenizer.tokenize(Array("'it''s' 'a\\'b' 'open".utf8), context: .bare)
        #expect(tokens.map(\.kind) == [.string, .string, .string])
        #expect(tokens.map(\.closed) == [true, true, false])
    }

    @Test(arguments: [
        "' or 1=1--", "admin'--", "admin'#", "1 or 1=1", "' or ''='", "1' ORDER BY 3--+", "x' UNION SELECT 1,2--",
        "1;DROP TABLE users", "1; select pg_sleep(5)", "' waitfor delay '0:0:5'--", "1 AND extractvalue(1,concat(0x7e,version()))",
        "') or ('a'='a", "\" or \"\"=\"", "1 union select password from users", "'||(select 1)||'", "' HAVING 1=1--",
        "'/**/or/**/1=1--", "1 UN/**/ION SEL/**/ECT 1", "1 or true", "x' or not false--", "1)) or ((1=1",
        "1 rlike (select (case when (1=1) then 1 else 0x28 end))",
    ])
    func sqlDetectorFindsInjections(_ text: String) {
        #expect(isSQLInjection(text))
    }

    @Test(arguments: [
        "please select the option and update the table", "drop me a line or union rep", "O'Brien's order — it's 1=1 for us?",
        "Children's or adults' sizes", "1 or 2 items missing", "1=1", "select * from tickets where id = 5",
        "where id = '5' or status = 'open'", "Sales' -- Q3 numbers", "'Hello' -- said the agent", "It's 5 o'clock or later",
        "Rock 'n' roll", "Thread.sleep(100) hangs", "Zk9w-1--Ab_9", "a+b/c==", "Invoice 2024-06 or 2024-07?",
        "1 AND 2 OR 3", "true or false", "2 or 3 seats",
    ])
    func sqlDetectorLetsProseAndTokensThrough(_ text: String) {
        #expect(!isSQLInjection(text))
    }

    @Test(arguments: [
        "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>", "javascript:alert(1)",
        "<a href=\"&#106;avascript:alert(1)\">x</a>", "<a href=\"java\tscript:alert(1)\">", "\" onmouseover=\"alert(1)",
        "<iframe srcdoc=\"x\">", "<div style=\"x:expression(alert(1))\">", "<base href=//evil.example>", "<img src=x onerror=alert(1)//",
    ])
    func xssDetectorFindsScript(_ text: String) {
        #expect(isXSS(text))
    }

    @Test(arguments: [
        "a < b and c > d", "Use <b>bold</b> and <i>italics</i>", "JavaScript: how to embed the widget?", "<urgent> printer",
        "He said \"on time\" = late", "if (x<y) { return; }", "3 <4",
    ])
    func xssDetectorLetsHarmlessMarkupThrough(_ text: String) {
        #expect(!isXSS(text))
    }

    @Test func richTextAllowsEmailHTMLAndEscapedCode() {
        let email = """
            <html><head><meta charset="utf-8"><style>p{color:#333}</style></head><body><table style="width:100%">\
            <tr><td><a href="https://example.com/?a=1&amp;b=2">link</a><img src="data:image/png;base64,iVBOR" alt=x></td></tr>\
            </table><pre><code>&lt;script&gt;alert(1)&lt;/script&gt; SELECT * FROM t WHERE a='1' OR 1=1 --</code></pre>\
            <!-- <script>commented</script> --><iframe src="https://www.youtube-nocookie.com/embed/x"></iframe></body></html>
            """
        #expect(!isExecutableHTML(email))
    }

    @Test(arguments: [
        "<p>x</p><script>alert(1)</script>", "<a href=\" javascript:alert(1)\">x</a>", "<img src=x onerror=alert(1)>",
        "<p style=\"background:url(javascript:alert(1))\">", "<style>a{-moz-binding:url(x)}</style>", "<object data=x>",
        "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">", "<!--><img src=x onerror=alert(1)>-->",
        "<svg><animate attributeName=href values=\"javascript:alert(1)\"/></svg>",
    ])
    func richTextFlagsWhatRuns(_ html: String) {
        #expect(isExecutableHTML(html))
    }

    @Test func phraseMatcherFindsAnyPhraseCaseInsensitively() {
        let matcher = PhraseMatcher(["etc/passwd", "win.ini", "nmap", "map"])
        let found = matcher.firstMatch(in: Array("GET /../ETC/PASSWD".utf8))
        #expect(found?.phrase == 0)
        #expect(found?.range == 8..<18)
        #expect(matcher.firstMatch(in: Array("zenmap".utf8))?.phrase == 2)
        #expect(matcher.firstMatch(in: Array("a mapping".utf8))?.phrase == 3)
        #expect(matcher.firstMatch(in: Array("nothing here".utf8)) == nil)
    }

    @Test func jsonScannerReportsNestedNamesAndDecodedStrings() {
        var seen: [String] = []
        let valid = JSONFieldScanner.scan(Array(#"{"a":{"b":["x\u003cy",{"c":"\ud83d\ude00"}],"n":1.5e3,"t":true},"d":null}"#.utf8)[...]) { path, value, isName in
            seen.append("\(isName ? "name" : "value") \(path)=\(String(decoding: value, as: UTF8.self))")
        }
        #expect(valid)
        #expect(seen == ["name a=a", "name a.b=b", "value a.b=x<y", "name a.b.c=c", "value a.b.c=😀", "name a.n=n", "name a.t=t", "name d=d"])
    }

    @Test func jsonScannerRejectsMalformedAndTooDeepDocuments() {
        #expect(!JSONFieldScanner.scan(Array(#"{"a":"b""#.utf8)[...]) { _, _, _ in })
        #expect(!JSONFieldScanner.scan(Array(#"{"a" "b"}"#.utf8)[...]) { _, _, _ in })
        #expect(!JSONFieldScanner.scan(Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)[...]) { _, _, _ in })
    }

    @Test func routePatternsMatchWholeSegments() throws {
        let pattern = try #require(RoutePattern("/api/v1/tickets/*/messages"))
        #expect(pattern.matches("/api/v1/tickets/42/messages"))
        #expect(!pattern.matches("/api/v1/tickets/42/messages/7"))
        #expect(!pattern.matches("/api/v1/tickets/messages"))
        let rest = try #require(RoutePattern("/api/v1/macros/**"))
        #expect(rest.matches("/api/v1/macros/3/preview"))
        #expect(RoutePattern("api/v1") == nil)
    }
}
