import Foundation
import RampartCore

/// The parameters of an authorization request (RFC 6749 §4.1.1 with RFC 7636), checked in the
/// order the RFC demands: client and redirect URI first (errors shown, never redirected),
/// then everything else (errors redirected to the client with its `state`).
struct AuthorizationRequest: Sendable {
    let client: OAuthClient
    let redirectURI: String
    let requestedScopes: [String]
    let state: String?
    let codeChallenge: String?

    static let parameterNames: Set<String> = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"]

    enum Parsed: Sendable {
        case valid(AuthorizationRequest)
        /// Shown on the page: the client or redirect URI cannot be trusted.
        case page(String)
        /// Sent back to the (verified) redirect URI.
        case redirect(OAuthError, AuthorizationRequest)
    }

    static func parse(_ fields: [String: String], tenant: TenantID, clients: OAuthClientRepository) async throws -> Parsed {
        guard let clientID = fields["client_id"], let client = try await clients.find(id: clientID, tenant: tenant) else {
            return .page("The application is not known here. Ask its developer to check its client id.")
        }
        let redirectURI: String
        if let given = fields["redirect_uri"], !given.isEmpty {
            guard client.allows(redirectURI: given) else { return .page("The application asked to return to an address it has not registered.") }
            redirectURI = given
        } else if client.redirectURIs.count == 1, let only = client.redirectURIs.first {
            redirectURI = only
        } else {
            return .page("The application did not say where to return to.")
        }
        let state = fields["state"].flatMap { $0.isEmpty ? nil : $0 }
        var request = AuthorizationRequest(client: client, redirectURI: redirectURI, requestedScopes: client.scopes, state: state, codeChallenge: nil)
        if let state, state.utf8.count > 500 { return .redirect(.init(.invalidRequest, "The state parameter is too long."), request) }
        guard fields["response_type"] == "code" else {
            return .redirect(.init(.unsupportedResponseType, "Only the authorization code flow is supported."), request)
        }
        if let challenge = fields["code_challenge"], !challenge.isEmpty {
            guard fields["code_challenge_method"] == "S256" else { return .redirect(.init(.invalidRequest, "Use code_challenge_method S256."), request) }
            guard PKCE.isValidChallenge(challenge) else { return .redirect(.init(.invalidRequest, "The code challenge is malformed."), request) }
            request = AuthorizationRequest(client: client, redirectURI: redirectURI, requestedScopes: client.scopes, state: state, codeChallenge: challenge)
        } else if !client.confidential {
            return .redirect(.init(.invalidRequest, "Public clients must use PKCE (S256)."), request)
        }
        if let scope = fields["scope"], !scope.isEmpty {
            let scopes = Array(Set(scope.split(separator: " ").map(String.init))).sorted()
            guard scopes.count <= 20, Set(scopes).isSubset(of: Set(client.scopes)) else {
                return .redirect(.init(.invalidScope, "The application asked for scopes it is not registered for."), request)
            }
            request = AuthorizationRequest(client: client, redirectURI: redirectURI, requestedScopes: scopes, state: state, codeChallenge: request.codeChallenge)
        }
        return .valid(request)
    }

    /// The redirect carrying a code (with `iss`, RFC 9207).
    func success(code: String, issuer: String) -> String {
        target(["code": code, "state": state, "iss": issuer])
    }

    /// The redirect carrying an error.
    func error(_ error: OAuthError, issuer: String) -> String {
        target(["error": error.code.rawValue, "error_description": error.description, "state": state, "iss": issuer])
    }

    private func target(_ parameters: [String: String?]) -> String {
        var components = URLComponents(string: redirectURI) ?? URLComponents()
        var items = components.queryItems ?? []
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            if let value { items.append(URLQueryItem(name: name, value: value)) }
        }
        components.queryItems = items
        // URLComponents leaves "+" as is, which form decoders read as a space.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.string ?? redirectURI
    }
}
