import Foundation
import HTTPTypes

/// The credential a public request carries: a bearer token or API key, or the session cookie.
public enum EdgeCredential: Sendable, Equatable {
    case bearer(String)
    case session(String)

    /// The session cookie identity sets (`__Host-` prefixed: Secure, Path=/, no Domain).
    public static let sessionCookieName = "__Host-rampart_session"

    /// `Authorization: Bearer …` wins over the cookie; `nil` when neither is present.
    /// A present but unusable `Authorization` (another scheme, empty token) is `.malformed`.
    public static func extract(from headers: HTTPFields) -> Extraction {
        let authorizations = headers[values: .authorization]
        if authorizations.count > 1 { return .malformed }
        if let authorization = authorizations.first {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .malformed }
            let token = parts[1].trimmingCharacters(in: .whitespaces)
            guard (1...4096).contains(token.utf8.count), token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .malformed }
            return .present(.bearer(token))
        }
        let sessions = sessionCookies(in: headers)
        guard let first = sessions.first else { return .absent }
        // Two session cookies (a shadowing attempt) are refused rather than guessed between.
        guard sessions.count == 1, (1...4096).contains(first.utf8.count) else { return .malformed }
        return .present(.session(first))
    }

    /// What ``extract(from:)`` found.
    public enum Extraction: Sendable, Equatable {
        case absent
        case malformed
        case present(EdgeCredential)
    }

    /// Every value of the session cookie across `Cookie` headers.
    static func sessionCookies(in headers: HTTPFields) -> [String] {
        headers[values: .cookie].flatMap { header in
            header.split(separator: ";").compactMap { pair -> String? in
                let trimmed = pair.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix(sessionCookieName + "=") else { return nil }
                return String(trimmed.dropFirst(sessionCookieName.count + 1))
            }
        }
    }

    /// `Cookie` headers without the session cookie (other cookies pass through); `nil` when none remain.
    static func cookiesWithoutSession(_ headers: HTTPFields) -> String? {
        let kept = headers[values: .cookie].flatMap { header in
            header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix(sessionCookieName + "=") }
        }
        return kept.isEmpty ? nil : kept.joined(separator: "; ")
    }
}
