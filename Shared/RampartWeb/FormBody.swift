import Foundation
import Hummingbird
import RampartCore

/// An `application/x-www-form-urlencoded` body as OAuth and the server-rendered pages send it:
/// each parameter at most once (RFC 6749 §3.2), bounded in size, percent-decoded.
public struct FormBody: Sendable {
    public let fields: [String: String]

    public init(fields: [String: String]) {
        self.fields = fields
    }

    /// Why a body is not a form this server accepts.
    public enum Failure: Error, Equatable {
        case wrongContentType, tooLarge, malformed, repeated(String)
    }

    /// Reads and parses the request body (at most `limit` bytes).
    public static func read(_ request: Request, limit: Int = 16 * 1024) async throws(Failure) -> FormBody {
        guard MediaType.isForm(request.headers[.contentType]) else { throw .wrongContentType }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw .tooLarge
        }
        return try parse(String(decoding: buffer.readableBytesView, as: UTF8.self))
    }

    /// Parses `a=1&b=two+words`; a repeated name, broken escape or invalid UTF-8 is refused.
    public static func parse(_ text: String) throws(Failure) -> FormBody {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count == 2 ? parts[1] : "") else { throw .malformed }
            guard fields[name] == nil else { throw .repeated(name) }
            fields[name] = value
        }
        return FormBody(fields: fields)
    }

    /// The request's query string as form fields; empty when malformed or repeated.
    public static func parseQuery(_ request: Request) -> [String: String] {
        (try? parse(request.uri.query ?? ""))?.fields ?? [:]
    }

    private static func decode(_ part: Substring) -> String? {
        String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The non-empty value of `name`, if present.
    public subscript(_ name: String) -> String? {
        fields[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension FormBody {
    /// Whether a field of this name is never shown back to the user or kept after a refusal
    /// (passwords, tokens, sign-in challenges).
    public static func isSecret(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["password", "token", "secret", "challenge"].contains { lowered.contains($0) }
    }
}
