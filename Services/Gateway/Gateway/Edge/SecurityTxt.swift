import Foundation
import Hummingbird

/// `/.well-known/security.txt` (RFC 9116), the same on every host, from the edge policy.
public struct SecurityTxt: Sendable {
    let fields: EdgePolicy.SecurityTxt

    public init(_ fields: EdgePolicy.SecurityTxt) {
        self.fields = fields
    }

    /// The path it is served at.
    public static let path = "/.well-known/security.txt"

    /// Whether the request target `target` (path and query) asks for ``path``.
    static func isPath(of target: String) -> Bool {
        let bytes = target.utf8
        guard bytes.starts(with: path.utf8) else { return false }
        let rest = bytes.dropFirst(path.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "?")
    }

    /// The document for a request to `hostName` (already validated), used as the canonical URL
    /// when the policy names none.
    public func document(hostName: String?, port: Int) -> String {
        var lines = fields.contact.map { "Contact: \($0)" }
        let expires = fields.expires.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
        lines.append("Expires: \(expires)")
        if let policy = fields.policy { lines.append("Policy: \(policy)") }
        if let languages = fields.preferredLanguages, !languages.isEmpty {
            lines.append("Preferred-Languages: \(languages.joined(separator: ", "))")
        }
        let canonical = fields.canonical ?? []
        if !canonical.isEmpty {
            lines += canonical.map { "Canonical: \($0)" }
        } else if let hostName {
            let authority = port == 443 ? hostName : "\(hostName):\(port)"
            lines.append("Canonical: https://\(authority)\(Self.path)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The response for a request to `hostName`.
    public func response(hostName: String?, port: Int) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(string: document(hostName: hostName, port: port)))
        )
    }
}
