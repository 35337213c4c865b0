import Crypto
import Foundation

/// Anti-CSRF tokens bound to a session: an HMAC of the session id under identity's key, so a
/// token is useless without the session and cannot be computed without the key. Every
/// cookie-authenticated state change (forms and JSON alike) must carry it.
///
/// Only identity holds the key. It hands the session's token to the gateway (which checks
/// `X-CSRF-Token`) and signs it into the session's principal (`Principal.csrfToken`), so a
/// service that renders forms checks the very same token without the key (`FormCSRF`).
public struct CSRFToken: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The token for session `sessionID` (or for a pre-session nonce on the sign-in page).
    public func token(for sessionID: String) -> String {
        Base64URL.encode(HMAC<SHA256>.authenticationCode(for: Data("rampart.csrf.v1\u{0}\(sessionID)".utf8), using: key))
    }

    /// Whether `presented` is the token of `sessionID`; constant time.
    public func verify(_ presented: String?, for sessionID: String) -> Bool {
        guard let presented, presented.utf8.count == 43, let mac = Base64URL.decode(presented) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data("rampart.csrf.v1\u{0}\(sessionID)".utf8), using: key)
    }
}
