import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport
import RampartWeb

/// Users and roles: the tenant's users (50 a page, by email), searched by name or email and
/// role (`?q=&role=`, the API's filter), a role change, deactivation and reactivation per row,
/// and an invitation form whose answer shows the invitation link once.
extension AdminPages {
    static let userNotices = ["role": "Role changed. The user's sessions ended; they sign in again under the new role.",
                              "deactivated": "User deactivated. Their sessions, API keys and tokens were revoked.",
                              "reactivated": "User reactivated."]

    func registerUsers(on router: Router<ServiceRequestContext>) {
        let path = AdminSection.users.path
        page(router, .get, path, .users) { request, _, admin in
            try await usersPage(request, admin, notice: Self.notice(request, Self.userNotices))
        }
        page(router, .post, path, .users) { request, context, admin in
            let form = try await posted(request, admin, back: path)
            guard let role = form["role"].flatMap(Role.init(rawValue:)) else {
                var refused = Refused()
                refused.fields["invite-role"] = "Choose a role."
                refused.summary = ["Please correct the fields marked below."]
                return try await usersPage(request, admin, invitation: form, refused: refused)
            }
            let body = OperatorRoutes.CreateUser(email: form.fields["email"] ?? "", name: form.fields["name"] ?? "", role: role, password: nil, invite: true)
            var created: OperatorRoutes.CreatedUser?
            if let refused = try await attempt(fields: ["email": "invite-email", "name": "invite-name", "password": "invite-role"], {
                created = try await userAdmin.invite(body, principal: admin.principal, forwardedHost: UserAdminRoutes.forwardedHost(request),
                                                     requestID: context.requestID)
            }) {
                return try await usersPage(request, admin, invitation: form, refused: refused)
            }
            var content = Content()
            content.secretLabel = "Invitation link for \(body.email). Send it to them yourself (Rampart sends no email); it works once, for seven days."
            content.secret = created?.invitationURL ?? ""
            content.links = [AdminLink("Back to users", path)]
            return render("User invited", admin, content, status: .created)
        }
        for (action, done) in [("role", "role"), ("deactivate", "deactivated"), ("reactivate", "reactivated")] {
            page(router, .post, path + "/{id}/" + action, .users) { request, context, admin in
                let form = try await posted(request, admin, back: path)
                guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw IdentityError.userNotFound.problem }
                let refused = try await attempt {
                    switch action {
                    case "role":
                        guard let role = form["role"].flatMap(Role.init(rawValue:)) else {
                            throw ProblemError(status: .unprocessableContent, code: "invalid_input", title: "Invalid input", detail: "Choose one of the listed roles.")
                        }
                        try await userAdmin.changeRole(of: id, to: role, principal: admin.principal, requestID: context.requestID)
                    case "deactivate": try await userAdmin.deactivate(id, principal: admin.principal, requestID: context.requestID)
                    default: try await userAdmin.reactivate(id, principal: admin.principal, requestID: context.requestID)
                    }
                }
                guard let refused else { return Self.done(path, done) }
                return try await usersPage(request, admin, refused: refused)
            }
        }
    }

    static func roleLabel(_ role: Role) -> String {
        switch role {
        case .admin: "Admin"
        case .agent: "Agent"
        case .readOnlyAgent: "Read-only agent"
        case .customer: "Customer"
        }
    }

    static func roleOptions(selected: String?) -> FormField.Control {
        .select(Role.allCases.map { .init($0.rawValue, roleLabel($0), selected: $0.rawValue == selected) })
    }

    /// The list (from the `after` email of the query on), the invitation form with what was typed.
    private func usersPage(_ request: Request, _ admin: Admin, invitation: FormBody = FormBody(fields: [:]), refused: Refused = Refused(),
                           notice: String? = nil) async throws -> Response {
        let path = AdminSection.users.path
        let query = FormBody.parseQuery(request)
        let after = query["after"]
        let limit = 50
        // The search form's own values are kept as typed; a text too long is cut to the bound.
        let filter = UserFilter(text: query["q"].map { String($0.prefix(UserFilter.maximumText)) }, role: query["role"].flatMap(Role.init(rawValue:)))
        let found = try await users.list(tenant: admin.principal.tenantID, afterEmail: after, limit: limit + 1, filter: filter)
        let shown = found.prefix(limit)
        let rows = shown.map { user -> AdminRow in
            let id = user.id.uuidString.lowercased()
            let cells = [user.name, user.email.rawValue, Self.roleLabel(user.role), user.status.rawValue.capitalized]
            guard admin.principal.userID != user.id else { return AdminRow(cells: cells, actions: []) }
            var actions = [AdminAction("Change role", "\(path)/\(id)/role", fields: [
                FormField("role", label: "New role for \(user.email.rawValue)", control: Self.roleOptions(selected: user.role.rawValue), id: "role-\(id)"),
            ])]
            switch user.status {
            case .deactivated: actions.append(AdminAction("Reactivate", "\(path)/\(id)/reactivate", secondary: true))
            case .active, .invited: actions.append(AdminAction("Deactivate", "\(path)/\(id)/deactivate", secondary: true))
            }
            return AdminRow(cells: cells, actions: actions)
        }
        var content = Content()
        content.intro = ["Changing a role ends that user's sessions and tokens; deactivating revokes their sessions, API keys and tokens. You cannot change your own account here."]
        content.search = AdminSearch(action: path, label: "Search users", isFiltered: !filter.isEmpty, fields: [
            FormField("q", label: "Name or email contains", control: .input(type: "search"), value: filter.text, autocomplete: "off"),
            FormField("role", label: "Role", control: .select([.init("", "Any role", selected: filter.role == nil)] + Role.allCases.map {
                .init($0.rawValue, Self.roleLabel($0), selected: $0 == filter.role)
            }), id: "search-role"),
        ])
        let filterQuery = filter.queryItems.map { "&" + $0 }.joined()
        content.tables = [AdminTable(caption: filter.isEmpty ? "Users of this tenant, by email" : "Users matching the search, by email",
                                     headers: ["Name", "Email", "Role", "Status", "Actions"], rows: rows,
                                     empty: filter.isEmpty ? "No users." : "No user matches the search.")]
        if found.count > limit, let last = shown.last {
            content.links.append(AdminLink("Next page", "\(path)?after=\(last.email.rawValue.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")\(filterQuery)"))
        }
        if after != nil { content.links.append(AdminLink("First page", filter.isEmpty ? path : "\(path)?" + filter.queryItems.joined(separator: "&"))) }
        content.forms = [AdminForm(id: "invite", heading: "Invite a user", paragraphs: ["They receive no email: you get a link to send them, valid once for seven days."],
                                   action: path, fields: [
                                       FormField("email", label: "Email", control: .input(type: "email"), value: invitation.fields["email"],
                                                 error: refused.error("invite-email"), required: true, autocomplete: "off", id: "invite-email"),
                                       FormField("name", label: "Name", value: invitation.fields["name"], error: refused.error("invite-name"), required: true,
                                                 autocomplete: "off", id: "invite-name"),
                                       FormField("role", label: "Role", control: Self.roleOptions(selected: invitation.fields["role"] ?? Role.agent.rawValue),
                                                 error: refused.error("invite-role"), id: "invite-role"),
                                   ], button: "Invite")]
        return render("Users", admin, content, errors: refused.summary, notice: notice,
                      status: refused.summary.isEmpty ? .ok : .unprocessableContent)
    }
}
