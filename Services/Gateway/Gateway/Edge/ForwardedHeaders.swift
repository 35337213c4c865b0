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
        Set(headers[values: .connection].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
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
    public static func clientResponse(from upstream: [(name: String, value: String)]) -> HTTPFields {
        let listed = Set(upstream.filter { $0.name.lowercased() == "connection" }
            .flatMap { $0.value.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        var fields = HTTPFields()
        for (name, value) in upstream {
            let lowered = name.lowercased()
            if hopByHop.contains(lowered) || listed.contains(lowered) || lowered == "content-length" || lowered == "server"
                || lowered == "date" || lowered.hasPrefix("x-rampart-") { continue }
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }
}
