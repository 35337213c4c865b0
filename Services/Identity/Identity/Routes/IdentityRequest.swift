import Foundation
import HTTPTypes
import Hummingbird
import RampartTransport

/// Request plumbing shared by identity's routes: strict JSON bodies and domain errors as problems.
enum IdentityRequest {
    /// Decodes a JSON body; a wrong content type is 415, malformed JSON 400, both as problems.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw ProblemError(status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type", detail: "Send application/json.")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 64 * 1024)
        } catch {
            throw ProblemError(status: .contentTooLarge, code: "body_too_large", title: "Request body too large", detail: "Bodies of this route are limited to 64 KiB.")
        }
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw ProblemError(status: .badRequest, code: "malformed_body", title: "Malformed request body", detail: "The body is not the JSON this route expects.")
        }
    }

    /// Headers for responses that carry a secret shown once (passwords, keys, TOTP secrets).
    static let secretHeaders: HTTPFields = [.cacheControl: "no-store"]

    /// Runs `body`, turning identity's domain errors into problem documents.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as IdentityError {
            throw error.problem
        }
    }
}

/// A list answer: `{"data": [...]}`.
struct DataList<Item: Encodable & Sendable>: ResponseEncodable {
    var data: [Item]
}

extension Tenant: ResponseEncodable {}
extension User: ResponseEncodable {}
extension APIKeyRepository.Record: ResponseEncodable {}
