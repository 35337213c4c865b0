import HTTPTypes
import Hummingbird
import RampartSecurity
import RampartTransport

/// Refuses a state-changing request authenticated by a session cookie unless it carries the
/// session's anti-CSRF token in `X-CSRF-Token`. The gateway checks the same before forwarding;
/// this is identity's own lock. Server-rendered forms carry the token in a form field and
/// check it themselves (`formRoutes`).
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let csrf: CSRFToken
    /// Paths whose forms verify the token from their body.
    let formRoutes: Set<String>
    /// Path prefixes of the same (the admin console's pages).
    var formPrefixes: [String] = []

    static let header = HTTPField.Name("X-CSRF-Token")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let session = context.principal?.sessionID, ![.get, .head, .options].contains(request.method), !formRoutes.contains(request.uri.path),
           !formPrefixes.contains(where: request.uri.path.hasPrefix) {
            guard csrf.verify(Self.header.flatMap { request.headers[$0] }, for: session) else {
                throw ProblemError(status: .forbidden, code: "csrf_token_invalid", title: "Missing or invalid CSRF token",
                                   detail: "Send the session's CSRF token in the X-CSRF-Token header.")
            }
        }
        return try await next(request, context)
    }
}
