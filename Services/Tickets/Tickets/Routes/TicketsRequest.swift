import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport

/// Request plumbing shared by the helpdesk's routes: strict JSON bodies, JSON answers, ids,
/// limits and the `If-Match` precondition.
enum TicketsRequest {
    /// JSON bodies are limited to 1 MiB, the gateway's default body class.
    static let maximumBodyBytes = 1024 * 1024

    /// Decodes a strict JSON body. Wrong content type: 415; not JSON, wrong types: 400
    /// `malformed_body`; unknown members: 400 `unknown_field`; missing or disallowed values: 422
    /// `invalid_input`; over 1 MiB: 413. Problems name the field.
    static func decode<T: StrictBody>(_ type: T.Type, from request: Request) async throws -> T {
        guard MediaType.isJSON(request.headers[.contentType]) else {
            throw ProblemError(status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type", detail: "Send application/json.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBodyBytes)
        } catch {
            throw ProblemError(status: .contentTooLarge, code: "body_too_large", title: "Request body too large", detail: "JSON bodies are limited to 1 MiB.")
        }
        return try decode(type, from: Data(buffer.readableBytesView))
    }

    static func decode<T: StrictBody>(_ type: T.Type, from data: Data) throws -> T {
        guard MediaType.isPlainUTF8JSON(data) else { throw malformed(nil, "The body is not UTF-8 JSON.") }
        do {
            return try JSONDecoder().decode(Strict<T>.self, from: data).value
        } catch let unknown as UnknownField {
            throw ProblemError(status: .badRequest, code: "unknown_field", title: "Unknown field",
                               fieldErrors: [.init(field: unknown.path, message: "This API has no such field.")])
        } catch let error as TicketsError {
            throw error.problem
        } catch let error as DecodingError {
            throw problem(for: error)
        } catch {
            throw malformed(nil, "The body is not JSON.")
        }
    }

    private static func problem(for error: DecodingError) -> ProblemError {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return TicketsError.invalidInput([.init(field: path(context.codingPath + [key]), message: "Required.")]).problem
        case .typeMismatch(let type, let context):
            return malformed(path(context.codingPath), "Expected \(describe(type)).")
        case .valueNotFound(let type, let context):
            return malformed(path(context.codingPath), "Expected \(describe(type)), not null.")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return TicketsError.invalidInput([.init(field: path(context.codingPath), message: "Not an allowed value.")]).problem
        default:
            return malformed(nil, "The body is not JSON.")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: "an object or a value of another type"
        }
    }

    private static func malformed(_ field: String?, _ message: String) -> ProblemError {
        ProblemError(status: .badRequest, code: "malformed_body", title: "Malformed request body",
                     detail: field == nil ? message : nil, fieldErrors: field.map { [.init(field: $0, message: message)] })
    }

    /// The JSON encoder of every answer: ISO 8601 times, stable key order.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `value` as a JSON answer.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// The `{id}` path parameter as a UUID; anything else names no such `resource` (404).
    static func id(_ context: some RequestContext, _ name: String = "id", resource: String) throws -> UUID {
        guard let raw = context.parameters.get(name), let id = UUID(uuidString: raw) else { throw TicketsError.notFound(resource: resource) }
        return id
    }

    /// The versions `If-Match` admits (`"3"`, or a list); nil without the header or with `*`.
    static func ifMatch(_ request: Request) throws -> EntityTag.Precondition? {
        do { return try EntityTag.ifMatch(request.headers) } catch { throw TicketsError.versionMismatch }
    }

    /// `If-Match` as a check of the stored item, for a repository to run under its lock: 412
    /// `version_mismatch` unless it admits the item's `version` (no check without the header).
    static func ifMatch<Item>(_ request: Request, version: @escaping @Sendable (Item) -> String) throws -> @Sendable (Item) throws -> Void {
        let admits = try EntityTag.check(request.headers, mismatch: TicketsError.versionMismatch)
        return { try admits(version($0)) }
    }

    /// An item as `{"data": …}` with its `ETag`.
    static func versioned<Item: Encodable & Sendable>(_ item: Item, version: String, status: HTTPResponse.Status = .ok) throws -> Response {
        try json(DirectoryRoutes.One(data: item), status: status, headers: [.eTag: EntityTag.quoted(version)])
    }

    /// The strong ETag of a ticket version.
    static func etag(_ version: Int) -> String { EntityTag.quoted(String(version)) }
}

/// Timestamps as RFC 3339 with milliseconds, UTC (`2026-05-01T12:00:00.123Z`).
enum Timestamp {
    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) ?? (try? Date(text, strategy: .iso8601))
    }
}
