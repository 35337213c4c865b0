import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// Single sign-on per audience (staff, customers): what to give the identity provider (entity
/// id, ACS URL, OpenID Connect redirect URI, the SP metadata to download), what is configured,
/// and one form with every setting the API has for it — SAML (the IdP's metadata and its
/// options), OpenID Connect, JWT SSO, attribute names, group-to-role mappings, the roles that
/// must use SSO or the IdP's second factor — saved through `SSOAdminRoutes.save` as the API
/// saves it; and the tenant's own SSO keys with rotation and retirement.
///
/// Saving never loses what the form does not show: empty secret fields keep the stored secret,
/// empty SAML metadata keeps the stored identity provider, and OpenID Connect's advanced
/// settings (client authentication, prompt, max age, userinfo, logout) and the MFA context
/// values are kept; scopes, claim names and MFA values follow a changed preset, as on creation.
extension AdminPages {
    func registerSSO(on router: Router<ServiceRequestContext>) {
        let path = AdminSection.sso.path
        page(router, .get, path, .sso) { request, _, admin in
            try await ssoPage(admin, notice: Self.notice(request, Dictionary(uniqueKeysWithValues: SSOAudience.allCases.map {
                ($0.rawValue, "Single sign-on for \($0.rawValue) saved.")
            } + SSOKeyUse.allCases.flatMap { use in
                [("rotated-\(use.rawValue)", "A new \(Self.keyLabel(use)) key is in use; the previous one is kept for the rollover."),
                 ("retired-\(use.rawValue)", "The previous \(Self.keyLabel(use)) key was retired.")]
            })))
        }
        for audience in SSOAudience.allCases {
            page(router, .post, "\(path)/\(audience.rawValue)", .sso) { request, context, admin in
                let form = try await posted(request, admin, back: path)
                let actor = try CredentialAdminRoutes.requireSecurityAdmin(admin.principal)
                let stored = try await sso.configurations.load(tenant: admin.principal.tenantID, audience: audience)
                let id = audience.rawValue
                let refused: Refused?
                do {
                    // Checked before the form is read against `stored` too, so a stale form is not
                    // answered with errors about settings its author never saw.
                    guard StaleForm.matches(form, SSOConfigurationRepository.version(of: stored)) else { throw SSOChangedMeanwhile() }
                    refused = try await attempt(fields: Self.ssoFieldIDs(id)) {
                        let input = try Self.ssoInput(form, stored: stored, audience: audience)
                        _ = try await sso.save(input, audienceName: audience.rawValue, tenant: admin.principal.tenantID, slug: admin.principal.tenantSlug,
                                               actor: actor, requestID: context.requestID) { current in
                            // The form was made from the configuration as it was shown; another admin's save since would be undone.
                            guard StaleForm.matches(form, SSOConfigurationRepository.version(of: current)) else { throw SSOChangedMeanwhile() }
                        }
                    }
                } catch is SSOChangedMeanwhile {
                    var notice = Refused()
                    notice.summary = [StaleForm.message("single sign-on for \(audience.rawValue)")]
                    return try await ssoPage(admin, refused: notice, status: .conflict)
                }
                guard let refused else { return Self.done(path, audience.rawValue) }
                return try await ssoPage(admin, typed: (audience, form), refused: refused)
            }
        }
        for use in SSOKeyUse.allCases {
            for action in ["rotate", "retire"] {
                page(router, .post, "\(path)/keys/\(use.rawValue)/\(action)", .sso) { request, context, admin in
                    _ = try await posted(request, admin, back: path)
                    let actor = try CredentialAdminRoutes.requireSecurityAdmin(admin.principal)
                    _ = try await sso.changeKeys(action, useName: use.rawValue, tenant: admin.principal.tenantID, actor: actor, requestID: context.requestID)
                    return Self.done(path, "\(action == "rotate" ? "rotated" : "retired")-\(use.rawValue)")
                }
            }
        }
    }

    /// Another admin saved the audience's configuration after the form was shown with it.
    struct SSOChangedMeanwhile: Error {}

    /// The API's field names → the form's field ids for `audience`.
    static func ssoFieldIDs(_ audience: String) -> [String: String] {
        var names: [String: String] = [:]
        for (field, id) in [
            ("saml", "saml_enabled"), ("saml_metadata", "saml_metadata"), ("saml.entity_id", "saml_metadata"), ("saml.sso_url", "saml_metadata"),
            ("saml.certificates", "saml_metadata"), ("oidc", "oidc_enabled"), ("oidc.issuer", "oidc_issuer"), ("oidc.client_id", "oidc_client_id"),
            ("oidc.client_secret", "oidc_client_secret"), ("jwt", "jwt_enabled"), ("jwt.issuer", "jwt_issuer"), ("jwt.audience", "jwt_audience"),
            ("jwt.algorithm", "jwt_algorithm"), ("jwt.shared_secret", "jwt_shared_secret"), ("jwt.public_key", "jwt_public_key"),
            ("attributes.email", "attr_email"), ("attributes.name", "attr_name"), ("attributes.groups", "attr_groups"), ("group_roles", "group_roles"),
            ("default_role", "default_role"), ("sso_required_roles", "sso_required_roles"), ("idp_second_factor_roles", "idp_second_factor_roles"),
            ("preset", "preset"), ("break_glass_email", "break_glass_email"),
        ] { names[field] = "\(audience)-\(id)" }
        return names
    }

    /// Whether a method is on: its select says so, or its main field is filled in for a method
    /// not stored yet (pasting metadata for a first setup is enough); without the select (a form
    /// posted by a script), whether it is filled in or stored. A stored method goes with "No".
    private static func enabled(_ form: FormBody, _ name: String, filled: Bool, stored: Bool) -> Bool {
        guard let choice = form[name + "_enabled"] else { return filled || stored }
        return choice == "yes" || (filled && !stored)
    }

    /// The API's input from the form, keeping what the form does not show (see the type's note).
    static func ssoInput(_ form: FormBody, stored: SSOConfiguration?, audience: SSOAudience) throws -> SSOConfigurationInput {
        var problems: [ProblemDetails.FieldError] = []
        func invalid(_ field: String, _ message: String) { problems.append(.init(field: field, message: message)) }
        func yes(_ name: String, stored: Bool) -> Bool { form[name].map { $0 == "yes" } ?? stored }
        func roles(_ name: String) -> [Role] {
            words(form[name]).compactMap { word in
                guard let role = Role(rawValue: word) else {
                    invalid(name, "\(word) is not a role; use admin, agent, read_only_agent or customer")
                    return nil
                }
                return role
            }
        }

        var input = SSOConfigurationInput()
        guard let preset = SSOPreset(rawValue: form["preset"] ?? SSOPreset.custom.rawValue) else {
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: [.init(field: "preset", message: "Choose one of the listed values.")])
        }
        input.preset = preset
        let samePreset = stored?.preset == preset

        if enabled(form, "saml", filled: form["saml_metadata"] != nil, stored: stored?.saml != nil) {
            let kept = stored?.saml
            var saml = SSOConfigurationInput.SAML()
            saml.allowIdPInitiated = yes("saml_idp_initiated", stored: kept?.allowIdPInitiated ?? false)
            saml.requireEncryptedAssertions = yes("saml_encrypted", stored: kept?.requireEncryptedAssertions ?? false)
            saml.signAuthnRequests = yes("saml_sign_requests", stored: kept?.signAuthnRequests ?? false)
            saml.allowSHA1 = yes("saml_sha1", stored: kept?.allowSHA1 ?? false)
            if let metadata = form["saml_metadata"] {
                input.samlMetadata = metadata
            } else if let kept {
                saml.entityID = kept.entityID
                saml.ssoURL = kept.ssoURL
                saml.certificates = kept.certificates
            } else {
                invalid("saml_metadata", "paste the identity provider's metadata to use SAML")
            }
            input.saml = saml
        }
        if enabled(form, "oidc", filled: form["oidc_issuer"] != nil || form["oidc_client_id"] != nil, stored: stored?.oidc != nil) {
            let kept = stored?.oidc
            var oidc = SSOConfigurationInput.OIDC(issuer: form.fields["oidc_issuer"] ?? "", clientID: form.fields["oidc_client_id"] ?? "",
                                                  clientSecret: form["oidc_client_secret"], clientAuthentication: kept?.clientAuthentication,
                                                  scopes: samePreset ? kept?.scopes : nil, claims: samePreset ? kept?.claims : nil)
            oidc.prompt = kept?.prompt
            oidc.maxAge = kept?.maxAge
            oidc.userInfo = kept?.userInfo
            oidc.logout = kept?.logout
            input.oidc = oidc
        }
        if enabled(form, "jwt", filled: form["jwt_issuer"] != nil, stored: stored?.jwt != nil) {
            if let algorithm = JWTSSOAlgorithm(rawValue: form["jwt_algorithm"] ?? stored?.jwt?.algorithm.rawValue ?? JWTSSOAlgorithm.hs256.rawValue) {
                // A key pasted now, else the stored one while the algorithm stays one with a key.
                let keptKey = stored?.jwt?.algorithm == algorithm ? stored?.jwt?.publicKeyPEM : nil
                input.jwt = SSOConfigurationInput.JWT(issuer: form.fields["jwt_issuer"] ?? "", audience: form.fields["jwt_audience"] ?? "", algorithm: algorithm,
                                                      publicKey: algorithm == .hs256 ? nil : form["jwt_public_key"] ?? keptKey,
                                                      sharedSecret: form["jwt_shared_secret"])
            } else {
                invalid("jwt.algorithm", "choose HS256, RS256 or ES256")
            }
        }

        let names = (email: form["attr_email"], name: form["attr_name"], groups: form["attr_groups"])
        if names.email != nil || names.name != nil || names.groups != nil {
            input.attributes = SSOAttributeNames(email: names.email ?? preset.attributes.email, name: names.name ?? preset.attributes.name,
                                                 groups: names.groups ?? preset.attributes.groups)
        }
        var mappings: [String: Role] = [:]
        for line in (form.fields["group_roles"] ?? "").split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let separator = line.lastIndex(of: "=") else {
                invalid("group_roles", "write one mapping a line as group = role")
                continue
            }
            let group = line[..<separator].trimmingCharacters(in: .whitespaces)
            guard let role = Role(rawValue: line[line.index(after: separator)...].trimmingCharacters(in: .whitespaces)), !group.isEmpty else {
                invalid("group_roles", "\"\(line.trimmingCharacters(in: .whitespaces))\" is not group = role with a role such as agent")
                continue
            }
            mappings[group] = role
        }
        input.groupRoles = mappings
        if let raw = form["default_role"] {
            if let role = Role(rawValue: raw) { input.defaultRole = role } else { invalid("default_role", "choose one of the listed roles") }
        }
        input.justInTimeProvisioning = form["jit_provisioning"] != "no"
        input.ssoRequiredRoles = roles("sso_required_roles")
        input.idpSecondFactorRoles = roles("idp_second_factor_roles")
        input.multiFactorContexts = samePreset ? stored?.multiFactorContexts : nil
        input.breakGlassEmail = form["break_glass_email"]
        guard problems.isEmpty else {
            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", fieldErrors: problems)
        }
        return input
    }

    private func ssoPage(_ admin: Admin, typed: (SSOAudience, FormBody)? = nil, refused: Refused = Refused(), notice: String? = nil,
                         status: HTTPResponse.Status? = nil) async throws -> Response {
        let path = AdminSection.sso.path
        let views = try await sso.views(tenant: admin.principal.tenantID, slug: admin.principal.tenantSlug)
        var content = Content()
        content.intro = ["Give your identity provider the values below (or the SP metadata file), then paste its metadata here (SAML), its issuer and client (OpenID Connect) or your site's JWT settings. Secrets are never shown again once saved; an empty secret or metadata field keeps what is stored."]
        for view in views {
            let audience = view.audience
            let provider = view.serviceProvider
            let metadataPath = "/auth/saml/metadata" + (audience == .staff ? "" : "?audience=\(audience.rawValue)")
            content.links.append(AdminLink("Download the SP metadata for \(audience.rawValue)", metadataPath, download: "rampart-\(audience.rawValue)-sp-metadata.xml"))
            let configured = view.configuration
            let method = [configured?.saml.map { "SAML (IdP \($0.entityID))" }, configured?.oidc.map { "OpenID Connect (\($0.issuer))" },
                          configured?.jwt.map { "JWT SSO (\($0.issuer))" }].compactMap { $0 }
            let mappings = (configured?.groupRoles ?? [:]).sorted { $0.key < $1.key }
            content.tables.append(AdminTable(caption: "Single sign-on for \(audience.rawValue)", headers: ["Setting", "Value"], rows: [
                ["Status", configured == nil ? "Not configured" : "Configured: \(method.joined(separator: ", "))"],
                ["Preset", configured?.preset.rawValue ?? "—"],
                ["Default role", configured?.defaultRole.map(Self.roleLabel) ?? "—"],
                ["Group mappings", mappings.isEmpty ? "—" : mappings.map { "\($0.key) → \(Self.roleLabel($0.value))" }.joined(separator: "; ")],
                ["Entity id (SAML)", provider.entityID], ["ACS URL (SAML)", provider.acsURL],
                ["Redirect URI (OpenID Connect)", provider.oidcRedirectURI], ["Post-logout redirect URI", provider.oidcPostLogoutRedirectURI],
            ].map { AdminRow(cells: $0, actions: []) }, empty: "", showsActions: false))
            content.forms.append(ssoForm(audience, configured: configured, version: view.version, typed: typed.flatMap { $0.0 == audience ? $0.1 : nil },
                                         refused: refused))
        }
        let keys = views.first?.serviceProvider.keyFingerprints ?? [:]
        content.tables.append(AdminTable(caption: "This tenant's own single sign-on keys (SHA-256 of each certificate, the one in use first)",
                                         headers: ["Key", "Certificates", "Actions"], rows: SSOKeyUse.allCases.map { use in
            let fingerprints = keys[use.rawValue] ?? []
            var actions = [AdminAction("Rotate", "\(path)/keys/\(use.rawValue)/rotate")]
            if fingerprints.count > 1 { actions.append(AdminAction("Retire the previous key", "\(path)/keys/\(use.rawValue)/retire", secondary: true)) }
            return AdminRow(cells: [Self.keyLabel(use), fingerprints.isEmpty ? "None yet (made on first use)" : fingerprints.joined(separator: " · ")], actions: actions)
        }, empty: ""))
        return render("Single sign-on", admin, content, errors: refused.summary, notice: notice,
                      status: status ?? (refused.summary.isEmpty ? .ok : .unprocessableContent))
    }

    /// One audience's form: the stored settings, or (`form`) what was posted, never a secret. It
    /// carries the version it was made from: the stored one, or for a refused form the one it
    /// came with (none if it came without one), as what was typed was made against that.
    private func ssoForm(_ audience: SSOAudience, configured: SSOConfiguration?, version: String, typed form: FormBody?, refused: Refused) -> AdminForm {
        let id = audience.rawValue
        func kept(_ name: String, stored: String?) -> String? { form.map { $0.fields[name] ?? "" } ?? stored }
        func error(_ name: String) -> String? { refused.error("\(id)-\(name)") }
        func choice(_ name: String, _ label: String, stored: Bool, hint: String? = nil) -> FormField {
            let value = kept(name, stored: stored ? "yes" : "no") ?? "no"
            return FormField(name, label: label, control: .select([.init("yes", "Yes", selected: value == "yes"), .init("no", "No", selected: value != "yes")]),
                             error: error(name), hint: hint, id: "\(id)-\(name)")
        }
        func text(_ name: String, _ label: String, stored: String?, type: String = "text", hint: String? = nil) -> FormField {
            FormField(name, label: label, control: .input(type: type), value: kept(name, stored: stored), error: error(name), hint: hint, autocomplete: "off", id: "\(id)-\(name)")
        }
        let preset = kept("preset", stored: configured?.preset.rawValue) ?? SSOPreset.okta.rawValue
        let defaultRole = kept("default_role", stored: configured?.defaultRole?.rawValue) ?? ""
        let algorithm = kept("jwt_algorithm", stored: configured?.jwt?.algorithm.rawValue) ?? JWTSSOAlgorithm.hs256.rawValue
        let roles = Role.allCases.filter { audience.includes($0) }
        let presetNames = configured.map(\.preset.attributes)
        // Attribute names are shown when they differ from the preset's (empty: the preset's).
        func attribute(_ name: String, _ label: String, _ value: KeyPath<SSOAttributeNames, String>) -> FormField {
            let stored = configured.flatMap { $0.attributes[keyPath: value] == presetNames?[keyPath: value] ? nil : $0.attributes[keyPath: value] }
            return text(name, label, stored: stored, hint: "Empty: the preset's name")
        }
        let mappings = (configured?.groupRoles ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value.rawValue)" }.joined(separator: "\n")
        let roleWords = roles.map(\.rawValue).joined(separator: ", ")
        let samlKept = configured?.saml.map { "An identity provider is stored (\($0.entityID)); leave empty to keep it." } ?? "The XML file your identity provider offers for this application."
        return AdminForm(id: id, heading: "Configure single sign-on for \(audience.rawValue)", paragraphs: [], action: "\(AdminSection.sso.path)/\(id)", fields: [
            FormField("preset", label: "Identity provider", control: .select(SSOPreset.allCases.map { .init($0.rawValue, Self.presetLabel($0), selected: $0.rawValue == preset) }),
                      error: error("preset"), hint: "A preset fills in the provider's attribute or claim names.", id: "\(id)-preset"),
            choice("saml_enabled", "Sign in with SAML", stored: configured?.saml != nil),
            FormField("saml_metadata", label: "SAML: the identity provider's metadata (XML)", control: .textarea(rows: 5), value: form?.fields["saml_metadata"],
                      error: error("saml_metadata"), hint: samlKept, id: "\(id)-saml_metadata"),
            choice("saml_idp_initiated", "SAML: accept sign-ins started at the identity provider", stored: configured?.saml?.allowIdPInitiated ?? false,
                   hint: "Off unless your users start from the provider's dashboard."),
            choice("saml_encrypted", "SAML: require encrypted assertions", stored: configured?.saml?.requireEncryptedAssertions ?? false),
            choice("saml_sign_requests", "SAML: sign authentication requests", stored: configured?.saml?.signAuthnRequests ?? false),
            choice("saml_sha1", "SAML: accept SHA-1 signatures (legacy providers only)", stored: configured?.saml?.allowSHA1 ?? false),
            choice("oidc_enabled", "Sign in with OpenID Connect", stored: configured?.oidc != nil),
            text("oidc_issuer", "OpenID Connect: issuer", stored: configured?.oidc?.issuer, type: "url"),
            text("oidc_client_id", "OpenID Connect: client id", stored: configured?.oidc?.clientID),
            FormField("oidc_client_secret", label: "OpenID Connect: client secret", control: .input(type: "password"), error: error("oidc_client_secret"),
                      hint: configured?.oidc?.sealedSecret != nil ? "A secret is stored; leave empty to keep it." : "Never shown again once saved.",
                      autocomplete: "off", id: "\(id)-oidc_client_secret"),
            choice("jwt_enabled", "Sign in with JWT SSO (your site signs a token)", stored: configured?.jwt != nil),
            text("jwt_issuer", "JWT: issuer (iss)", stored: configured?.jwt?.issuer),
            text("jwt_audience", "JWT: audience (aud)", stored: configured?.jwt?.audience),
            FormField("jwt_algorithm", label: "JWT: algorithm", control: .select(JWTSSOAlgorithm.allCases.map { .init($0.rawValue, $0.rawValue, selected: $0.rawValue == algorithm) }),
                      error: error("jwt_algorithm"), id: "\(id)-jwt_algorithm"),
            FormField("jwt_shared_secret", label: "JWT: shared secret (HS256)", control: .input(type: "password"), error: error("jwt_shared_secret"),
                      hint: configured?.jwt?.sealedSecret != nil ? "A secret is stored; leave empty to keep it." : "At least 32 bytes; never shown again once saved.",
                      autocomplete: "off", id: "\(id)-jwt_shared_secret"),
            FormField("jwt_public_key", label: "JWT: your site's public key (RS256, ES256; PEM)", control: .textarea(rows: 4), value: form?.fields["jwt_public_key"],
                      error: error("jwt_public_key"), hint: configured?.jwt?.publicKeyPEM != nil ? "A key is stored; leave empty to keep it." : nil,
                      id: "\(id)-jwt_public_key"),
            attribute("attr_email", "SAML and JWT: attribute with the email address", \.email),
            attribute("attr_name", "SAML and JWT: attribute with the name", \.name),
            attribute("attr_groups", "SAML and JWT: attribute with the groups", \.groups),
            FormField("group_roles", label: "Groups that give a role", control: .textarea(rows: 4), value: kept("group_roles", stored: mappings),
                      error: error("group_roles"), hint: "One a line: group = role (\(roleWords)). The role follows the groups on every sign-in.",
                      id: "\(id)-group_roles"),
            FormField("default_role", label: "Role of new users in no mapped group", control: .select([.init("", "None: only existing users may sign in", selected: defaultRole.isEmpty)]
                + roles.map { .init($0.rawValue, Self.roleLabel($0), selected: $0.rawValue == defaultRole) }), error: error("default_role"), id: "\(id)-default_role"),
            choice("jit_provisioning", "Create users on first sign-in", stored: configured?.justInTimeProvisioning ?? true),
            text("sso_required_roles", "Roles that must sign in with single sign-on", stored: configured.map { $0.ssoRequiredRoles.map(\.rawValue).joined(separator: " ") },
                 hint: "Roles separated by spaces (\(roleWords)); their passwords stop working."),
            text("idp_second_factor_roles", "Roles whose second factor is the identity provider's", stored: configured.map { $0.idpSecondFactorRoles.map(\.rawValue).joined(separator: " ") },
                 hint: "Roles separated by spaces; they are not asked for Rampart's own code when the provider reports multi-factor sign-in."),
            text("break_glass_email", "Break-glass account (optional)", stored: configured?.breakGlassEmail?.rawValue, type: "email",
                 hint: "An admin who may still sign in with a password when single sign-on is required."),
        ], button: "Save", hidden: [.init(name: StaleForm.fieldName, value: StaleForm.shown(form, current: version))])
    }

    static func keyLabel(_ use: SSOKeyUse) -> String {
        switch use {
        case .samlEncryption: "SAML encryption"
        case .samlSigning: "SAML request signing"
        case .oidcClient: "OpenID Connect client (private_key_jwt)"
        }
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
