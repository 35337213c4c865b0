/// A tenant's hostname label (`acme` in `acme.eu.example.com`).
public struct TenantSlug: ValidatedString {
    public let rawValue: String

    /// Labels that name platform hosts or would mislead users, never given to a tenant.
    public static let reserved: Set<String> = [
        "admin", "api", "app", "assets", "auth", "cdn", "dashboard", "docs", "help", "internal",
        "login", "mail", "oauth", "portal", "rampart", "root", "security", "sso", "static",
        "status", "support", "system", "www",
    ]

    /// Why a proposed slug was refused.
    public enum Problem: Error, Equatable, Sendable {
        case length
        case characters
        case reserved
    }

    /// Validates a proposed slug: 3–40 of `a-z`, `0-9` and inner single hyphens, not reserved.
    public static func validate(_ raw: String) -> Result<TenantSlug, Problem> {
        guard (3...40).contains(raw.utf8.count) else { return .failure(.length) }
        // One pass over the bytes (the edge checks a slug on every request): lowercase letters,
        // digits and single inner hyphens.
        var previous = UInt8(ascii: "-")
        for byte in raw.utf8 {
            let allowed = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (byte == UInt8(ascii: "-") && previous != UInt8(ascii: "-"))
            guard allowed else { return .failure(.characters) }
            previous = byte
        }
        guard previous != UInt8(ascii: "-") else { return .failure(.characters) }
        guard !reserved.contains(raw) else { return .failure(.reserved) }
        return .success(TenantSlug(unchecked: raw))
    }

    public init?(rawValue: String) {
        guard case .success(let slug) = Self.validate(rawValue) else { return nil }
        self = slug
    }

    private init(unchecked: String) { rawValue = unchecked }
}
