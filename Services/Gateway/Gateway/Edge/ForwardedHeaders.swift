import Foundation
import HTTPTypes
import RampartTransport

/// The headers an upstream receives: the client's minus hop-by-hop headers, credentials and
/// anything claiming to be internal or forwarding information; plus what the gateway alone sets.
public enum ForwardedHeaders {
    /// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Request headers only the gateway may set, or that would let a client steer a service.
    static func isReserved(_ lowercasedName: String) -> Bool {
        lowercasedName.hasPrefix("x-rampart-") || lowercasedName.hasPrefix("x-forwarded-") || lowercasedName == "forwarded"
            || lowercasedName == "x-real-ip" || lowercasedName == "x-request-id" || lowercasedName == "x-client-ip"
            || lowercasedName == "true-client-ip" || lowercasedName == "x-original-url" || lowercasedName == "x-rewrite-url"
            || lowercasedName.hasPrefix("x-http-method") || lowercasedName == "x-method-override"
            || lowercasedName == "host" || lowercasedName == "content-length" || lowercasedName == "expect"
    }

    /// Names listed in `Connection` are hop-by-hop for this message too.
    static func connectionListed(_ headers: HTTPFields) -> Set<String> {
        tokens(headers[values: .connection])
    }

    /// The comma-separated tokens of `values`, trimmed and lowercased.
    private static func tokens(_ values: some Sequence<String>) -> Set<String> {
        var tokens = Set<String>()
        for value in values {
            for token in value.utf8.split(separator: UInt8(ascii: ",")) {
                let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
                guard let first = token.firstIndex(where: { !isSpace($0) }), let last = token.lastIndex(where: { !isSpace($0) }) else { continue }
                tokens.insert(String(decoding: token[first...last], as: UTF8.self).lowercased())
            }
        }
        return tokens
    }

    /// The upstream request's headers.
    ///
    /// - Parameters:
    ///   - forwardAuthorization: keep `Authorization` (OAuth client authentication only).
    ///   - principal: the signed principal for the route's service, when one was resolved.
    public static func upstreamRequest(
        from client: HTTPFields, authority: String, clientIP: String?, requestID: String,
        principal: String?, forwardAuthorization: Bool
    ) -> [(String, String)] {
        let listed = connectionListed(client)
        var result: [(String, String)] = []
        result.reserveCapacity(client.count + 5)
        for field in client {
            let name = field.name.canonicalName
            if hopByHop.contains(name) || listed.contains(name) || isReserved(name) { continue }
            if name == "authorization", !forwardAuthorization { continue }
            if name == "cookie" { continue }
            result.append((field.name.rawName, field.value))
        }
        if let cookies = EdgeCredential.cookiesWithoutSession(client) { result.append(("Cookie", cookies)) }
        result.append(("X-Forwarded-Host", authority))
        if let clientIP { result.append(("X-Forwarded-For", clientIP)) }
        result.append(("X-Forwarded-Proto", "https"))
        result.append(("X-Request-Id", requestID))
        if let principal { result.append(("X-Rampart-Principal", principal)) }
        return result
    }

    /// The client response's headers: the upstream's minus hop-by-hop headers and anything the
    /// edge sets itself (hygiene headers are applied after this).
    public static func clientResponse(from upstream: some Sequence<(name: String, value: String)>) -> HTTPFields {
        var listed = Set<String>()
        var fields = HTTPFields()
        fields.reserveCapacity(upstream.underestimatedCount + 8)
        for (name, value) in upstream {
            guard let name = HTTPField.Name(name) else { continue }
            let canonical = name.canonicalName
            // (`keep-alive`, what services send, names only a field dropped anyway; `close` names `Close`.)
            if canonical == "connection", value != "keep-alive" { listed.formUnion(tokens(CollectionOfOne(value))) }
            if hopByHop.contains(canonical) || canonical == "content-length" || canonical == "server"
                || canonical == "date" || canonical.hasPrefix("x-rampart-") { continue }
            fields.append(HTTPField(name: name, value: value))
        }
        // `Connection` may come after the fields it names.
        if !listed.isEmpty { fields.removeAll { listed.contains($0.name.canonicalName) } }
        return fields
    }
}
