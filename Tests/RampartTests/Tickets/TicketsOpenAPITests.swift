import Foundation
import Testing
@testable import Tickets

@Suite("Tickets: the OpenAPI document and the routes agree")
struct TicketsOpenAPITests {
    static var documentURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/tickets-openapi.json")
    }

    /// `METHOD /path/{param}` for every operation of the document.
    static func documented(_ data: Data) throws -> Set<String> {
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        return Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
    }

    @Test func everyDocumentedRouteExistsAndEveryRouteIsDocumented() async throws {
        let seen = RouteList()
        let docs = try Data(contentsOf: Self.documentURL)
        let served = try await TicketsHarness.with(routes: { seen.set($0) }) { h in
            try await h.send(TicketsHarness.Actor.admin(.make("acme")), .GET, "/api/v1/openapi.json").body
        }
        #expect(served == docs)
        #expect(try OpenAPIRoutes.document() == docs)
        let routes = Set(seen.get().filter { $0.contains(" /api/v1/") }.map { route in
            // Hummingbird writes parameters as `:id` or `{id}` depending on the version: normalize.
            route.replacingOccurrences(of: #":([a-z_]+)"#, with: "{$1}", options: .regularExpression)
        })
        let documented = try Self.documented(docs)
        #expect(routes.subtracting(documented).isEmpty, "undocumented: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but missing: \(documented.subtracting(routes).sorted())")
        #expect(routes.count >= 30)
    }
}

/// The routes the service registered, handed over from its start-up.
final class RouteList: @unchecked Sendable {
    private let lock = NSLock()
    private var routes: [String] = []

    func set(_ routes: [String]) { lock.withLock { self.routes = routes } }
    func get() -> [String] { lock.withLock { routes } }
}
