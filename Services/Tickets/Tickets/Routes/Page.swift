import Foundation
import Hummingbird
import RampartSecurity

/// A list answer: `{"data": [...], "meta": {...}, "links": {"next": ...}}`; `links.next` is
/// null on the last page.
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    struct Meta: Encodable, Sendable {
        var count: Int
        var limit: Int
        var sort: String?
    }

    struct Links: Encodable, Sendable {
        var next: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(next, forKey: AnyKey(stringValue: "next"))
        }
    }

    var data: [Item]
    var meta: Meta
    var links: Links

    /// A page of `data`; `cursor` (if any) goes into the next link, other parameters stay as they were.
    init(_ data: [Item], limit: Int, sort: String? = nil, cursor: String?, request: Request) {
        self.data = data
        meta = Meta(count: data.count, limit: limit, sort: sort)
        links = Links(next: cursor.map { Self.link(request, cursor: $0) })
    }

    static func link(_ request: Request, cursor: String) -> String {
        var components = URLComponents()
        components.path = request.uri.path
        components.queryItems = request.uri.queryParameters.filter { $0.key != "cursor" }
            .map { URLQueryItem(name: String($0.key), value: String($0.value)) }.sorted { $0.name < $1.name }
            + [URLQueryItem(name: "cursor", value: cursor)]
        return components.string ?? request.uri.path
    }
}

/// The cursor of id-ordered lists (people, organizations, departments, teams).
enum IDCursor {
    static func encode(_ id: UUID) -> String { Base64URL.encode(Data("id:\(id.uuidString.lowercased())".utf8)) }

    static func decode(_ text: String?) throws -> UUID? {
        guard let text else { return nil }
        guard text.count <= 100, let data = Base64URL.decode(text), let raw = String(data: data, encoding: .utf8), raw.hasPrefix("id:"),
              let id = UUID(uuidString: String(raw.dropFirst(3))) else { throw TicketsError.invalidCursor }
        return id
    }

    /// `limit` (1–100, 25 by default) and the decoded cursor of an id-ordered list request.
    static func paging(_ request: Request) throws -> (limit: Int, after: UUID?) {
        var limit = 25
        if let raw = request.uri.queryParameters.get("limit") {
            guard let value = Int(raw), (1...100).contains(value) else {
                throw TicketsError.invalidInput([.init(field: "limit", message: "1 to 100.")])
            }
            limit = value
        }
        return (limit, try decode(request.uri.queryParameters.get("cursor")))
    }
}
