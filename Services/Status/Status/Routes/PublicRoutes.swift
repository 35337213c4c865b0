import Foundation
import Hummingbird
import RampartTransport

/// The public, read-only face (reached through the gateway on `status.{base-domain}`): the page,
/// the Statuspage API v2 and the feeds. Nothing here takes input or credentials.
struct PublicRoutes: Sendable {
    let source: PageSource

    /// Shared caches may keep an answer briefly, and serve it if we cannot answer at all.
    static let cacheControl = "public, max-age=30, stale-while-revalidate=30, stale-if-error=86400"

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/") { _, _ in
            let snapshot = await source.snapshot()
            var response = Self.response(Data(StatusPageHTML.render(snapshot).utf8), contentType: "text/html; charset=utf-8")
            response.headers[.contentSecurityPolicy] = StatusPageHTML.contentSecurityPolicy
            return response
        }
        let documents: [(String, @Sendable (PageSnapshot) -> [String: Any])] = [
            ("summary.json", StatuspageDocuments.summary),
            ("status.json", StatuspageDocuments.statusDocument),
            ("components.json", StatuspageDocuments.componentsDocument),
            ("incidents.json", { StatuspageDocuments.incidentsDocument($0, unresolvedOnly: false) }),
            ("incidents/unresolved.json", { StatuspageDocuments.incidentsDocument($0, unresolvedOnly: true) }),
            ("scheduled-maintenances.json", { StatuspageDocuments.maintenancesDocument($0, .all) }),
            ("scheduled-maintenances/upcoming.json", { StatuspageDocuments.maintenancesDocument($0, .upcoming) }),
            ("scheduled-maintenances/active.json", { StatuspageDocuments.maintenancesDocument($0, .active) }),
        ]
        for (path, document) in documents {
            router.get(RouterPath("/api/v2/\(path)")) { _, _ in
                var response = Self.response(StatuspageDocuments.encode(document(await source.snapshot())), contentType: "application/json; charset=utf-8")
                // Statuspage widgets fetch these from other origins; they carry nothing private.
                response.headers[.accessControlAllowOrigin] = "*"
                return response
            }
        }
        router.get("/history.atom") { _, _ in
            Self.response(Data(HistoryFeeds.atom(await source.snapshot()).utf8), contentType: "application/atom+xml; charset=utf-8")
        }
        router.get("/history.rss") { _, _ in
            Self.response(Data(HistoryFeeds.rss(await source.snapshot()).utf8), contentType: "application/rss+xml; charset=utf-8")
        }
    }

    static func response(_ body: Data, contentType: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: contentType, .cacheControl: cacheControl],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
