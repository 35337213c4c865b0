import Crypto
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Status
import Testing

/// Element paths and texts of an XML document, through Foundation's parser: a document it
/// refuses is not well-formed.
final class XMLOutline: NSObject, XMLParserDelegate {
    private(set) var paths: [String] = []
    private(set) var texts: [String: [String]] = [:]
    private(set) var attributes: [String: [[String: String]]] = [:]
    private var stack: [String] = []
    private var text = ""

    static func parse(_ xml: String) throws -> XMLOutline {
        let outline = XMLOutline()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = outline
        guard parser.parse() else { throw TestSetupError("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown")") }
        return outline
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        stack.append(name)
        let path = stack.joined(separator: "/")
        paths.append(path)
        self.attributes[path, default: []].append(attributes)
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        texts[stack.joined(separator: "/"), default: []].append(text.trimmingCharacters(in: .whitespacesAndNewlines))
        stack.removeLast()
        text = ""
    }

    func count(_ path: String) -> Int { paths.filter { $0 == path }.count }
}

@Suite("Status: page rendering and feeds")
struct StatusPageRenderingTests {
    func busy() throws -> PageSnapshot {
        var counts: [DayStamp: SampleCounts] = [:]
        let today = DayStamp(StatusSamples.now)
        counts[today] = SampleCounts(samples: 1000, majorOutage: 100)
        counts[today.adding(days: -1)] = SampleCounts(samples: 1000)
        return StatusSamples.snapshot(
            statuses: ["eu-tickets": .majorOutage],
            incidents: [try StatusSamples.openIncident(name: "<script>alert(1)</script> & \"quotes\"", security: true), try StatusSamples.resolvedIncident()],
            maintenances: [try StatusSamples.upcomingMaintenance()], counts: counts
        )
    }

    @Test func thePageNeedsNoScriptAndEscapesEveryText() throws {
        let html = StatusPageHTML.render(try busy())
        #expect(!html.lowercased().contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"))
        #expect(html.range(of: #" on[a-z]+="#, options: .regularExpression) == nil, "no inline event handlers")
        #expect(!html.contains("style=\""), "no inline style attributes (the CSP allows one hashed stylesheet only)")
        #expect(html.contains("<html lang=\"en\">"))
        #expect(html.contains("Major Service Outage"))
        #expect(html.contains("Security"))
        #expect(html.contains("Database upgrade"))
        #expect(html.contains("Incident history (90 days)"))
        #expect(html.contains("Sign-in errors"))
    }

    @Test func uptimeBarsAreInlineSVGWithTextAlternatives() throws {
        let html = StatusPageHTML.render(try busy())
        let svgs = html.components(separatedBy: "<svg ").dropFirst()
        // One bar chart per region and per component: 2 regions × (1 + 6).
        #expect(svgs.count == 14)
        for svg in svgs {
            #expect(svg.components(separatedBy: "<rect ").count - 1 == 90)
            #expect(svg.contains("role=\"img\""))
            #expect(svg.contains("aria-label=\""))
        }
        #expect(html.contains("<title>2026-11-29: 90.00 %</title>"))
        #expect(html.contains("<title>2026-11-28: 100.00 %</title>"))
        #expect(html.contains("<title>2026-11-27: –</title>"))
        #expect(html.contains("fill=\"#d64545\""))
    }

    @Test func theCSPAllowsExactlyThePagesStylesheet() {
        let hash = Data(SHA256.hash(data: Data(StatusPageHTML.style.utf8))).base64EncodedString()
        #expect(StatusPageHTML.contentSecurityPolicy.contains("style-src 'sha256-\(hash)'"))
        #expect(StatusPageHTML.contentSecurityPolicy.hasPrefix("default-src 'none';"))
        #expect(StatusPageHTML.contentSecurityPolicy.contains("frame-ancestors 'none'"))
        #expect(!StatusPageHTML.contentSecurityPolicy.contains("script-src"))
        #expect(StatusPageHTML.render(StatusSamples.snapshot()).contains("<style>\(StatusPageHTML.style)</style>"))
    }

    @Test func aNoticeShowsWhenTheDatabaseIsUnreachable() throws {
        #expect(!StatusPageHTML.render(StatusSamples.snapshot()).contains("role=\"alert\""))
        let html = StatusPageHTML.render(StatusSamples.snapshot(databaseUnavailable: true))
        #expect(html.contains("cannot reach its own records"))
        #expect(html.contains("as of 29 Nov 2026, 11:55 UTC"))
    }

    @Test func percentagesRoundDownSoAnOutageNeverReadsAsAPerfectRecord() {
        #expect(Markup.percent(0.99999) == "99.99 %")
        #expect(Markup.percent(1) == "100.00 %")
        #expect(Markup.percent(nil) == "–")
    }

    @Test func theAtomFeedIsValidAtom() throws {
        let outline = try XMLOutline.parse(HistoryFeeds.atom(try busy()))
        for required in ["feed/id", "feed/title", "feed/updated", "feed/author/name"] {
            #expect(outline.count(required) == 1, "\(required)")
        }
        #expect(outline.attributes["feed"]?.first?["xmlns"] == "http://www.w3.org/2005/Atom")
        #expect(outline.count("feed/entry") == 3)
        for required in ["feed/entry/id", "feed/entry/title", "feed/entry/updated", "feed/entry/link", "feed/entry/summary"] {
            #expect(outline.count(required) == 3, "\(required)")
        }
        #expect(outline.texts["feed/entry/id"]?.allSatisfy { $0.hasPrefix("urn:uuid:") } == true)
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        #expect(outline.texts["feed/entry/updated"]?.allSatisfy { (try? Date($0, strategy: style)) != nil } == true)
        #expect(outline.texts["feed/entry/title"]?.contains("Security incident: <script>alert(1)</script> & \"quotes\" (Identified)") == true)
    }

    @Test func theRSSFeedIsValidRSS() throws {
        let outline = try XMLOutline.parse(HistoryFeeds.rss(try busy()))
        #expect(outline.attributes["rss"]?.first?["version"] == "2.0")
        for required in ["rss/channel/title", "rss/channel/link", "rss/channel/description"] {
            #expect(outline.count(required) == 1, "\(required)")
        }
        #expect(outline.count("rss/channel/item") == 3)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        #expect(outline.texts["rss/channel/item/pubDate"]?.allSatisfy { formatter.date(from: $0) != nil } == true)
        #expect(outline.texts["rss/channel/item/guid"].map { Set($0).count } == 3)
        #expect(outline.texts["rss/channel/item/title"]?.contains("Maintenance: Database upgrade (Scheduled)") == true)
    }
}
