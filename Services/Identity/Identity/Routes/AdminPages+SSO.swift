import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// Single sign-on per audience (staff, customers): what to give the identity provider (entity
/// id, ACS URL, OpenID Connect redirect URI, the SP metadata to download), what is configured,
/// and a form with the Okta / OneLogin / Entra presets for SAML (the IdP's metadata) or OpenID
/// Connect, saved through `SSOAdminRoutes.save` as the API saves it. JWT SSO, attribute names,
/// group mappings and key rotation stay in the API (`docs/sso.md`).
extension AdminPages {
    func registerSSO(on router: Router<ServiceRequestContext>) {
        let path = AdminSection.sso.path
        page(router, .get, path, .sso) { request, _, admin in
            try await ssoPage(admin, notice: Self.notice(request, Dictionary(uniqueKeysWithValues: SSOAudience.allCases.map {
                ($0.rawValue, "Single sign-on for \($0.rawValue) saved.")
            })))
        }
        for audience in SSOAudience.allCases {
            page(router, .post, "\(path)/\(audience.rawValue)", .sso) { request, context, admin in
                let form = try await posted(request, admin, back: path)
                let actor = try CredentialAdminRoutes.requireSecurityAdmin(admin.principal)
                var object: [String: Any] = ["preset": form["preset"] ?? SSOPreset.custom.rawValue, "jit_provisioning": form["jit_provisioning"] != "no"]
                object["saml_metadata"] = form["saml_metadata"]
                if form["oidc_issuer"] != nil || form["oidc_client_id"] != nil {
                    var oidc: [String: Any] = ["issuer": form.fields["oidc_issuer"] ?? "", "client_id": form.fields["oidc_client_id"] ?? ""]
                    oidc["client_secret"] = form["oidc_client_secret"]
                    object["oidc"] = oidc
                }
                object["default_role"] = form["default_role"]
                object["break_glass_email"] = form["break_glass_email"]
                let id = audience.rawValue
                let names = ["saml": "\(id)-saml_metadata", "saml_metadata": "\(id)-saml_metadata", "oidc.issuer": "\(id)-oidc_issuer",
                             "oidc.client_id": "\(id)-oidc_client_id", "oidc.client_secret": "\(id)-oidc_client_secret", "default_role": "\(id)-default_role",
                             "preset": "\(id)-preset", "break_glass_email": "\(id)-break_glass_email"]
                let refused = try await attempt(fields: names) {
                    let input = try Self.decode(SSOConfigurationInput.self, object, field: "preset")
                    _ = try await sso.save(input, audienceName: audience.rawValue, tenant: admin.principal.tenantID, slug: admin.principal.tenantSlug,
                                           actor: actor, requestID: context.requestID)
                }
                guard let refused else { return Self.done(path, audience.rawValue) }
                return try await ssoPage(admin, typed: (audience, form), refused: refused)
            }
        }
    }

    private func ssoPage(_ admin: Admin, typed: (SSOAudience, FormBody)? = nil, refused: Refused = Refused(), notice: String? = nil) async throws -> Response {
        let path = AdminSection.sso.path
        let views = try await sso.views(tenant: admin.principal.tenantID, slug: admin.principal.tenantSlug)
        var content = Content()
        content.intro = ["Give your identity provider the values below (or the SP metadata file), then paste its metadata here (SAML) or its issuer and client (OpenID Connect). Secrets are never shown again once saved."]
        for view in views {
            let audience = view.audience
            let provider = view.serviceProvider
            let metadataPath = "/auth/saml/metadata" + (audience == .staff ? "" : "?audience=\(audience.rawValue)")
            content.links.append(AdminLink("Download the SP metadata for \(audience.rawValue)", metadataPath, download: "rampart-\(audience.rawValue)-sp-metadata.xml"))
            let configured = view.configuration
            let method = [configured?.saml.map { "SAML (IdP \($0.entityID))" }, configured?.oidc.map { "OpenID Connect (\($0.issuer))" },
                          configured?.jwt.map { "JWT SSO (\($0.issuer))" }].compactMap { $0 }
            content.tables.append(AdminTable(caption: "Single sign-on for \(audience.rawValue)", headers: ["Setting", "Value"], rows: [
                ["Status", configured == nil ? "Not configured" : "Configured: \(method.joined(separator: ", "))"],
                ["Preset", configured?.preset.rawValue ?? "—"],
                ["Default role", configured?.defaultRole.map(Self.roleLabel) ?? "—"],
                ["Entity id (SAML)", provider.entityID], ["ACS URL (SAML)", provider.acsURL],
                ["Redirect URI (OpenID Connect)", provider.oidcRedirectURI], ["Post-logout redirect URI", provider.oidcPostLogoutRedirectURI],
            ].map { AdminRow(cells: $0, actions: []) }, empty: "", showsActions: false))
            let id = audience.rawValue
            let form = typed.flatMap { $0.0 == audience ? $0.1 : nil }
            func kept(_ name: String, stored: String?) -> String? { form.map { $0.fields[name] ?? "" } ?? stored }
            let preset = kept("preset", stored: configured?.preset.rawValue) ?? SSOPreset.okta.rawValue
            let defaultRole = kept("default_role", stored: configured?.defaultRole?.rawValue) ?? ""
            let jit = kept("jit_provisioning", stored: configured.map { $0.justInTimeProvisioning ? "yes" : "no" }) ?? "yes"
            let roles = Role.allCases.filter { audience.includes($0) }
            content.forms.append(AdminForm(id: id, heading: "Configure single sign-on for \(audience.rawValue)", paragraphs: [], action: "\(path)/\(id)", fields: [
                FormField("preset", label: "Identity provider", control: .select(SSOPreset.allCases.map { .init($0.rawValue, Self.presetLabel($0), selected: $0.rawValue == preset) }),
                          error: refused.error("\(id)-preset"), hint: "A preset fills in the provider's attribute or claim names.", id: "\(id)-preset"),
                FormField("saml_metadata", label: "SAML: the identity provider's metadata (XML)", control: .textarea(rows: 5), value: form?.fields["saml_metadata"],
                          error: refused.error("\(id)-saml_metadata"), hint: "Leave empty for OpenID Connect.", id: "\(id)-saml_metadata"),
                FormField("oidc_issuer", label: "OpenID Connect: issuer", control: .input(type: "url"), value: kept("oidc_issuer", stored: configured?.oidc?.issuer),
                          error: refused.error("\(id)-oidc_issuer"), id: "\(id)-oidc_issuer"),
                FormField("oidc_client_id", label: "OpenID Connect: client id", value: kept("oidc_client_id", stored: configured?.oidc?.clientID),
                          error: refused.error("\(id)-oidc_client_id"), autocomplete: "off", id: "\(id)-oidc_client_id"),
                FormField("oidc_client_secret", label: "OpenID Connect: client secret", control: .input(type: "password"), error: refused.error("\(id)-oidc_client_secret"),
                          hint: configured?.oidc?.sealedSecret != nil ? "A secret is stored; leave empty to keep it." : "Never shown again once saved.",
                          autocomplete: "off", id: "\(id)-oidc_client_secret"),
                FormField("default_role", label: "Role of new users", control: .select([.init("", "None: only existing users may sign in", selected: defaultRole.isEmpty)]
                    + roles.map { .init($0.rawValue, Self.roleLabel($0), selected: $0.rawValue == defaultRole) }), error: refused.error("\(id)-default_role"), id: "\(id)-default_role"),
                FormField("jit_provisioning", label: "Create users on first sign-in", control: .select([
                    .init("yes", "Yes", selected: jit == "yes"), .init("no", "No", selected: jit == "no"),
                ]), id: "\(id)-jit_provisioning"),
                FormField("break_glass_email", label: "Break-glass account (optional)", control: .input(type: "email"),
                          value: kept("break_glass_email", stored: configured?.breakGlassEmail?.rawValue), error: refused.error("\(id)-break_glass_email"),
                          hint: "An admin who may still sign in with a password when single sign-on is required.", autocomplete: "off", id: "\(id)-break_glass_email"),
            ], button: "Save"))
        }
        return render("Single sign-on", admin, content, errors: refused.summary, notice: notice, status: refused.summary.isEmpty ? .ok : .unprocessableContent)
    }

    static func presetLabel(_ preset: SSOPreset) -> String {
        switch preset {
        case .okta: "Okta"
        case .onelogin: "OneLogin"
        case .entra: "Microsoft Entra ID"
        case .custom: "Another provider"
        }
    }
}
