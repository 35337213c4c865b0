import RampartCore
import X509

/// Who is on the other end of an internal connection, read from its client certificate.
///
/// The internal CA writes the identity into a URI subject alternative name:
/// `spiffe://rampart/<region>/<service>` for a service instance and
/// `spiffe://rampart/operator/<name>` for an operator's `rampartctl`.
public enum CallerIdentity: Hashable, Sendable, CustomStringConvertible {
    case service(ServiceName, Region)
    case `operator`(String)

    /// The trust domain of every internal identity.
    public static let trustDomain = "rampart"

    /// The URI that names this identity in a certificate.
    public var uri: String {
        switch self {
        case .service(let service, let region): "spiffe://\(Self.trustDomain)/\(region)/\(service)"
        case .operator(let name): "spiffe://\(Self.trustDomain)/operator/\(name)"
        }
    }

    public var description: String { uri }

    /// Parses an identity URI; anything outside the two shapes is `nil`.
    public init?(uri: String) {
        let prefix = "spiffe://\(Self.trustDomain)/"
        guard uri.hasPrefix(prefix) else { return nil }
        let parts = uri.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0] == "operator" {
            let name = String(parts[1])
            guard Self.isValidOperatorName(name) else { return nil }
            self = .operator(name)
        } else if let region = Region(rawValue: String(parts[0])), let service = ServiceName(rawValue: String(parts[1])) {
            self = .service(service, region)
        } else {
            return nil
        }
    }

    /// The identity in `certificate`: exactly one Rampart URI SAN, or `nil`.
    public init?(certificate: Certificate) {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return nil }
        let identities = names.compactMap { name -> CallerIdentity? in
            if case .uniformResourceIdentifier(let uri) = name { return CallerIdentity(uri: uri) }
            return nil
        }
        guard identities.count == 1, let identity = identities.first else { return nil }
        self = identity
    }

    /// Operator names: 1–64 of lowercase letters, digits, `.`, `-`, `_`.
    public static func isValidOperatorName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}
