import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// API keys and OAuth clients: lists without secrets (a key by its prefix, scopes and last use),
/// creation whose answer page shows the secret once and never again, revocation and deletion —
/// through `CredentialAdminRoutes`, as the API does them.
extension AdminPages {
    func registerAPIKeys(on router: Router<ServiceRequestContext>) {
        let path = AdminSection.apiKeys.path
        page(router, .get, path, .apiKeys) { request, _, admin in
            try await apiKeysPage(admin, notice: Self.notice(request, ["revoked": "API key revoked, with every token exchanged from it."]))
        }
        page(router, .post, path, .apiKeys) { request, context, admin in
            let form = try await posted(request, admin, back: path)
            var refused = Refused()
            let expiry = Self.date(form["expires_at"], id: "key-expires_at", refused: &refused)
            guard let user = form["user_id"].flatMap(UUID.init(uuidString:)) else {
                refused.fields["key-user_id"] = "Choose a user."
                refused.summary = ["Please correct the fields marked below."]
                return try await apiKeysPage(admin, typed: form, refused: refused)
            }
            let body = CredentialAdminRoutes.CreateAPIKey(userID: user, name: form.fields["name"] ?? "", scopes: Self.words(form["scopes"]),
                                                          allowedCIDRs: Self.words(form["allowed_cidrs"]), expiresAt: expiry)
            var created: OperatorRoutes.CreatedAPIKey?
            if refused.fields.isEmpty, let problem = try await attempt(fields: Self.fieldIDs("key", ["user_id", "name", "scopes", "allowed_cidrs", "expires_at"]), {
                created = try await credentials.createAPIKey(body, principal: admin.principal, requestID: context.requestID)
            }) {
                refused = problem
            } else if !refused.fields.isEmpty {
                refused.summary = ["Please correct the fields marked below."]
            }
            guard let created else { return try await apiKeysPage(admin, typed: form, refused: refused) }
            var content = Content()
            content.secretLabel = "The API key \(created.record.name) (\(Self.prefix(created.record.id))), scopes \(created.record.scopes.joined(separator: " ")):"
            content.secret = created.key
            content.links = [AdminLink("Back to API keys", path)]
            return render("API key created", admin, content, status: .created)
        }
        page(router, .post, path + "/{id}/revoke", .apiKeys) { request, context, admin in
            _ = try await posted(request, admin, back: path)
            try await credentials.revokeAPIKey(context.parameters.get("id") ?? "", principal: admin.principal, requestID: context.requestID)
            return Self.done(path, "revoked")
        }
    }

    func registerOAuthClients(on router: Router<ServiceRequestContext>) {
        let path = AdminSection.oauthClients.path
        page(router, .get, path, .oauthClients) { request, _, admin in
            try await clientsPage(admin, notice: Self.notice(request, ["deleted": "OAuth client deleted; its tokens and codes were revoked."]))
        }
        page(router, .post, path, .oauthClients) { request, context, admin in
            let form = try await posted(request, admin, back: path)
            let body = CredentialAdminRoutes.CreateClient(name: form.fields["name"] ?? "", redirectURIs: Self.words(form["redirect_uris"]),
                                                          scopes: Self.words(form["scopes"]), public: form["type"] == "public")
            var created: CredentialAdminRoutes.CreatedClient?
            if let refused = try await attempt(fields: Self.fieldIDs("client", ["name", "redirect_uris", "scopes"]), {
                created = try await credentials.createClient(body, principal: admin.principal, requestID: context.requestID).responseGenerator
            }) {
                return try await clientsPage(admin, typed: form, refused: refused)
            }
            var content = Content()
            content.intro = ["Client \(created?.client.name ?? "") registered. Its client id is \(created?.clientID ?? "")."]
            if let secret = created?.clientSecret {
                content.secretLabel = "The client secret:"
                content.secret = secret
            } else {
                content.intro.append("It is a public client: it has no secret and must use PKCE.")
            }
            content.links = [AdminLink("Back to OAuth clients", path)]
            return render("OAuth client created", admin, content, status: .created)
        }
        page(router, .post, path + "/{id}/secret", .oauthClients) { request, context, admin in
            let form = try await posted(request, admin, back: path)
            let rotated = try await credentials.rotateClientSecret(context.parameters.get("id") ?? "", revokeTokens: form["tokens"] == "revoke",
                                                                   principal: admin.principal, requestID: context.requestID)
            var content = Content()
            content.intro = ["Client \(rotated.client.name) has a new secret; the old one no longer works. "
                + (form["tokens"] == "revoke" ? "Every token issued to the client was revoked." : "Tokens already issued to the client stay valid until they expire.")]
            content.secretLabel = "The new client secret:"
            content.secret = rotated.clientSecret ?? ""
            content.links = [AdminLink("Back to OAuth clients", path)]
            return render("Client secret rotated", admin, content)
        }
        page(router, .post, path + "/{id}/delete", .oauthClients) { request, context, admin in
            _ = try await posted(request, admin, back: path)
            try await credentials.deleteClient(context.parameters.get("id") ?? "", principal: admin.principal, requestID: context.requestID)
            return Self.done(path, "deleted")
        }
    }

    /// The shown part of a key: `rk_<id>_…`. The secret after it is never stored in clear.
    static func prefix(_ id: String) -> String { "rk_\(id)_…" }

    /// Words of a field (spaces, commas or new lines between them).
    static func words(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0.isNewline }).map(String.init)
    }

    /// API field names to the form's field ids (`<form>-<name>`).
    static func fieldIDs(_ form: String, _ names: [String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, "\(form)-\($0)") })
    }

    /// A date typed as `YYYY-MM-DD` (the start of that day, UTC); an error on `id` when it is not one.
    static func date(_ text: String?, id: String, refused: inout Refused) -> Date? {
        guard let text else { return nil }
        guard let date = try? Date("\(text)T00:00:00Z", strategy: .iso8601) else {
            refused.fields[id] = "Enter a date as YYYY-MM-DD."
            return nil
        }
        return date
    }

    static func time(_ date: Date?) -> String {
        date.map { $0.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon)) + " UTC" } ?? "—"
    }

    private func apiKeysPage(_ admin: Admin, typed: FormBody = FormBody(fields: [:]), refused: Refused = Refused(), notice: String? = nil) async throws -> Response {
        let path = AdminSection.apiKeys.path
        let people = try await users.list(tenant: admin.principal.tenantID, afterEmail: nil, limit: 500).filter { $0.status == .active }
        let emails = Dictionary(uniqueKeysWithValues: people.map { ($0.id, $0.email.rawValue) })
        let rows = try await apiKeys.list(tenant: admin.principal.tenantID).map { key in
            AdminRow(cells: [key.name, Self.prefix(key.id), emails[key.userID] ?? "Inactive user", key.scopes.joined(separator: " "),
                             key.lastUsedAt.map { Self.time($0) + (key.lastUsedIP.map { " from \($0)" } ?? "") } ?? "Never",
                             Self.time(key.expiresAt), key.revokedAt == nil ? "Active" : "Revoked \(Self.time(key.revokedAt))"],
                     actions: key.revokedAt == nil ? [AdminAction("Revoke", "\(path)/\(key.id)/revoke", secondary: true)] : [])
        }
        var content = Content()
        content.intro = ["A key acts as its user, with the scopes given (never more than the user's role grants). Its secret is shown once, when it is created; here only its prefix."]
        content.tables = [AdminTable(caption: "API keys", headers: ["Name", "Key", "User", "Scopes", "Last used", "Expires", "Status", "Actions"],
                                     rows: rows, empty: "No API keys.")]
        let selected = typed.fields["user_id"]
        content.forms = [AdminForm(id: "key", heading: "Create an API key", paragraphs: [], action: path, fields: [
            FormField("user_id", label: "User", control: .select(people.map { .init($0.id.uuidString.lowercased(), "\($0.name) (\($0.email.rawValue))",
                                                                                     selected: $0.id.uuidString.lowercased() == selected) }),
                      error: refused.error("key-user_id"), id: "key-user_id"),
            FormField("name", label: "Name", value: typed.fields["name"], error: refused.error("key-name"), required: true, autocomplete: "off", id: "key-name"),
            FormField("scopes", label: "Scopes", value: typed.fields["scopes"] ?? "tickets:read", error: refused.error("key-scopes"),
                      hint: "Separated by spaces: " + Permission.scopes.sorted().joined(separator: " "), id: "key-scopes"),
            FormField("allowed_cidrs", label: "Allowed networks (optional)", value: typed.fields["allowed_cidrs"], error: refused.error("key-allowed_cidrs"),
                      hint: "CIDR blocks separated by spaces, such as 192.0.2.0/24; empty: anywhere", id: "key-allowed_cidrs"),
            FormField("expires_at", label: "Expires on (optional)", control: .input(type: "date"), value: typed.fields["expires_at"],
                      error: refused.error("key-expires_at"), hint: "YYYY-MM-DD; empty: never", id: "key-expires_at"),
        ], button: "Create API key")]
        return render("API keys", admin, content, errors: refused.summary, notice: notice, status: refused.summary.isEmpty ? .ok : .unprocessableContent)
    }

    private func clientsPage(_ admin: Admin, typed: FormBody = FormBody(fields: [:]), refused: Refused = Refused(), notice: String? = nil) async throws -> Response {
        let path = AdminSection.oauthClients.path
        let rows = try await clients.list(tenant: admin.principal.tenantID).map { client in
            AdminRow(cells: [client.name, client.id, client.confidential ? "Confidential" : "Public", client.redirectURIs.joined(separator: " "),
                             client.scopes.joined(separator: " "), Self.time(client.createdAt), client.revokedAt == nil ? "Active" : "Deleted \(Self.time(client.revokedAt))"],
                     actions: client.revokedAt != nil ? [] : (client.confidential ? [
                         AdminAction("Rotate secret", "\(path)/\(client.id)/secret", fields: [
                             FormField("tokens", label: "Issued tokens", control: .select([
                                 .init("keep", "Keep them", selected: true), .init("revoke", "Revoke them too", selected: false),
                             ]), id: "tokens-\(client.id)"),
                         ]),
                     ] : []) + [AdminAction("Delete", "\(path)/\(client.id)/delete", secondary: true)])
        }
        var content = Content()
        content.intro = ["Applications that act for your users after they consent (authorization code with PKCE). A confidential client's secret is shown once, when it is registered."]
        content.tables = [AdminTable(caption: "OAuth clients", headers: ["Name", "Client id", "Type", "Redirect URIs", "Scopes", "Created", "Status", "Actions"],
                                     rows: rows, empty: "No OAuth clients.")]
        let type = typed.fields["type"] ?? "confidential"
        content.forms = [AdminForm(id: "client", heading: "Register an OAuth client", paragraphs: [], action: path, fields: [
            FormField("name", label: "Name", value: typed.fields["name"], error: refused.error("client-name"), required: true, autocomplete: "off", id: "client-name"),
            FormField("type", label: "Type", control: .select([
                .init("confidential", "Confidential (a server that keeps a secret)", selected: type == "confidential"),
                .init("public", "Public (a browser or mobile app; PKCE, no secret)", selected: type == "public"),
            ]), id: "client-type"),
            FormField("redirect_uris", label: "Redirect URIs", control: .textarea(rows: 3), value: typed.fields["redirect_uris"],
                      error: refused.error("client-redirect_uris"), hint: "One per line: absolute https, or http on loopback", id: "client-redirect_uris"),
            FormField("scopes", label: "Scopes", value: typed.fields["scopes"] ?? "tickets:read", error: refused.error("client-scopes"),
                      hint: "Separated by spaces: " + Permission.scopes.sorted().joined(separator: " "), id: "client-scopes"),
        ], button: "Register client")]
        return render("OAuth clients", admin, content, errors: refused.summary, notice: notice, status: refused.summary.isEmpty ? .ok : .unprocessableContent)
    }
}
