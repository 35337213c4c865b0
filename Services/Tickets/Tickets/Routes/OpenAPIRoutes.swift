import Foundation
import Hummingbird
import RampartCore
import RampartTransport

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of this API (kept identical to
/// `docs/tickets-openapi.json`, which a test checks against the routes).
struct OpenAPIRoutes: Sendable {
    /// The bundled document.
    static func document() throws -> Data {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw ConfigError(key: "openapi.json", reason: "is missing from the tickets bundle")
        }
        return try Data(contentsOf: url)
    }

    func register(on router: Router<ServiceRequestContext>) throws {
        let document = try Self.document()
        router.get("/api/v1/openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }
}
