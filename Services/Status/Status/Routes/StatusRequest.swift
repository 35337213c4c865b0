import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Request plumbing of the status service's internal routes: strict JSON bodies, the operator
/// behind a call, and domain errors as problems.
enum StatusRequest {
    /// Decodes a JSON body of at most 256 KiB (``JSONRequestBody``).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, decoder: JSONDecoder) async throws -> T {
        try await JSONRequestBody.decode(type, from: request, limit: 256 * 1024, decoder: decoder)
    }

    /// ISO 8601 times, as operators type them.
    static let operatorDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// The operator's name; the allow-list already admits only operators, this is the second lock.
    static func operatorName(_ context: ServiceRequestContext) throws -> String {
        guard case .operator(let name) = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
        return name
    }

    /// Runs `body`, turning the status service's domain errors into problem documents.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StatusError {
            throw error.problem
        }
    }

    /// How long an operator's write waits for the database.
    static let writeWait: Duration = .seconds(10)

    /// Runs a write against the database within ``writeWait``; a database that does not answer
    /// is a 503, and the cancelled transaction leaves nothing behind.
    static func store<T: Sendable>(_ write: @escaping @Sendable () async throws -> T) async throws -> T {
        try await run {
            do {
                return try await withDeadline(writeWait, write)
            } catch is DeadlineExceeded {
                throw StatusError.storeUnavailable
            }
        }
    }
}

extension HTTPField.Name {
    static let accessControlAllowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
}
