import Foundation
import Hummingbird
import RampartCore

/// Strict JSON request bodies for every service: the wrong content type is 415, a body over the
/// route's bound 413, malformed JSON 400, each a problem document that reveals nothing of the parser.
public enum JSONRequestBody {
    /// The ISO 8601 decoder bodies are read with unless a route passes its own.
    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    public static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 64 * 1024, decoder: JSONDecoder = JSONRequestBody.decoder) async throws -> T {
        guard MediaType.isJSON(request.headers[.contentType]) else {
            throw ProblemError(status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type", detail: "Send application/json.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw ProblemError(status: .contentTooLarge, code: "body_too_large", title: "Request body too large",
                               detail: "Bodies of this route are limited to \(limit / 1024) KiB.")
        }
        let malformed = ProblemError(status: .badRequest, code: "malformed_body", title: "Malformed request body", detail: "The body is not the JSON this route expects.")
        guard MediaType.isPlainUTF8JSON(buffer.readableBytesView) else { throw malformed }
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw malformed
        }
    }
}
