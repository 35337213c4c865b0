import Foundation
import HTTPTypes
import Hummingbird
import RampartTransport

/// Request plumbing shared by identity's routes: strict JSON bodies and domain errors as problems.
enum IdentityRequest {
    /// Decodes a JSON body of at most 64 KiB (``JSONRequestBody``).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        try await JSONRequestBody.decode(type, from: request)
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
