import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// Request plumbing of the status service's internal routes: strict JSON bodies, the operator
/// behind a call, and domain errors as problems.
enum StatusRequest {
    /// Decodes a JSON body; a wrong content type is 415, malformed JSON 400, both as problems.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, decoder: JSONDecoder) async throws -> T {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw ProblemError(status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type", detail: "Send application/json.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 256 * 1024)
        } catch {
            throw ProblemError(status: .contentTooLarge, code: "body_too_large", title: "Request body too large", detail: "Bodies of this route are limited to 256 KiB.")
        }
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw ProblemError(status: .badRequest, code: "malformed_body", title: "Malformed request body", detail: "The body is not the JSON this route expects.")
        }
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
