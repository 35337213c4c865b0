import Foundation
import RampartCore

/// Which of a tenant's users a list shows: those whose email or name contains `text` (any case),
/// of `role`. The same filter for the users API (`?q=&role=`) and the admin console's search.
public struct UserFilter: Sendable, Equatable {
    /// Longest search text accepted: an email address's length.
    public static let maximumText = 254

    public var text: String?
    public var role: Role?

    /// Why query parameters are not a filter; `field` is the parameter's name.
    public struct Invalid: Error, Equatable {
        public let field: String
        public let message: String
    }

    public init(text: String? = nil, role: Role? = nil) {
        let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines)
        self.text = trimmed?.isEmpty == false ? trimmed : nil
        self.role = role
    }

    /// The filter of query parameters `q` and `role` (absent or empty: no condition).
    public init(q: String?, role: String?) throws(Invalid) {
        if let q, q.count > Self.maximumText {
            throw Invalid(field: "q", message: "is longer than \(Self.maximumText) characters")
        }
        var parsed: Role?
        if let role, !role.isEmpty {
            guard let known = Role(rawValue: role) else {
                throw Invalid(field: "role", message: "must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            parsed = known
        }
        self.init(text: q, role: parsed)
    }

    public var isEmpty: Bool { text == nil && role == nil }

    /// The ILIKE pattern of `text`: its wildcards and the escape character taken literally.
    var pattern: String? {
        text.map { "%" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%" }
    }

    /// The filter as query items (`q=…&role=…`) for the next page's link, percent-encoded.
    var queryItems: [String] {
        [text.map { "q=\($0.addingPercentEncoding(withAllowedCharacters: .uriUnreserved) ?? "")" }, role.map { "role=\($0.rawValue)" }].compactMap { $0 }
    }
}
