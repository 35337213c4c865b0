import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// The operator API (`rampartctl tenant …`, `user create`, `api-key create`, `oauth-client
/// create`): tenants of this region, and the first users, keys and OAuth clients of a tenant. Only operator certificates reach it.
struct OperatorRoutes: Sendable {
    let tenants: TenantRepository
    let users: UserRepository
    let apiKeys: APIKeyRepository
    let clients: OAuthClientRepository

    struct CreateTenant: Decodable {
        var slug: String
        var displayName: String
        var plan: Tenant.Plan?

        enum CodingKeys: String, CodingKey {
            case slug, plan
            case displayName = "display_name"
        }
    }

    struct CreateUser: Decodable {
        var email: String
        var name: String
        var role: Role
        /// When absent, a strong password is generated and returned once.
        var password: String?
        /// Admin API only: create the user as invited and return a link to set a password.
        var invite: Bool?
    }

    struct CreatedUser: ResponseEncodable {
        var user: User
        var password: String?
        var invitationURL: String?

        enum CodingKeys: String, CodingKey {
            case user, password
            case invitationURL = "invitation_url"
        }
    }

    struct CreateAPIKey: Decodable {
        var userEmail: String
        var name: String
        var scopes: [String]
        var allowedCIDRs: [String]?
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case name, scopes
            case userEmail = "user_email"
            case allowedCIDRs = "allowed_cidrs"
            case expiresAt = "expires_at"
        }
    }

    struct CreatedAPIKey: ResponseEncodable {
        var key: String
        var record: APIKeyRepository.Record
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/internal/v1/operator/tenants")
        group.get { _, context in
            _ = try Self.operatorActor(context)
            return DataList(data: try await tenants.list())
        }
        group.post { request, context -> EditedResponse<Tenant> in
            let actor = try Self.operatorActor(context)
            let body = try await IdentityRequest.decode(CreateTenant.self, from: request, context: context)
            let slug: TenantSlug
            switch TenantSlug.validate(body.slug) {
            case .success(let valid): slug = valid
            case .failure(let problem): throw IdentityError.invalidSlug(Self.message(problem)).problem
            }
            let tenant = try await IdentityRequest.run { try await tenants.create(slug: slug, displayName: body.displayName, plan: body.plan ?? .team, actor: actor, requestID: context.requestID) }
            return EditedResponse(status: .created, response: tenant)
        }
        for (verb, status) in [("suspend", Tenant.Status.suspended), ("reinstate", .active), ("cancel", .cancelled)] {
            group.post("{slug}/\(verb)") { _, context -> Tenant in
                let actor = try Self.operatorActor(context)
                let slug = try tenantSlug(context)
                return try await IdentityRequest.run { try await tenants.setStatus(slug: slug, to: status, actor: actor, requestID: context.requestID) }
            }
        }
        group.post("{slug}/users") { request, context -> EditedResponse<CreatedUser> in
            let actor = try Self.operatorActor(context)
            let tenant = try await activeTenant(context)
            let body = try await IdentityRequest.decode(CreateUser.self, from: request, context: context)
            let (user, generated) = try await IdentityRequest.run {
                try await users.create(tenant: tenant, email: body.email, name: body.name, role: body.role, password: body.password,
                                       actor: actor, requestID: context.requestID)
            }
            return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders, response: CreatedUser(user: user, password: generated))
        }
        group.post("{slug}/api-keys") { request, context -> EditedResponse<CreatedAPIKey> in
            let actor = try Self.operatorActor(context)
            let tenant = try await activeTenant(context)
            let body = try await IdentityRequest.decode(CreateAPIKey.self, from: request, context: context)
            guard let email = EmailAddress(rawValue: body.userEmail),
                  let user = try await users.find(email: email, tenant: tenant.id), user.status == .active
            else { throw IdentityError.userNotFound.problem }
            let (record, credential) = try await IdentityRequest.run {
                try await apiKeys.create(for: user, name: body.name, scopes: body.scopes, allowedCIDRs: body.allowedCIDRs ?? [],
                                         expiresAt: body.expiresAt, actor: actor, requestID: context.requestID)
            }
            return EditedResponse(status: .created, headers: IdentityRequest.secretHeaders, response: CreatedAPIKey(key: credential.presented, record: record))
        }
        group.post("{slug}/oauth-clients") { request, context -> EditedResponse<CredentialAdminRoutes.CreatedClient> in
            let actor = try Self.operatorActor(context)
            let tenant = try await activeTenant(context)
            let body = try await IdentityRequest.decode(CredentialAdminRoutes.CreateClient.self, from: request, context: context)
            return try await CredentialAdminRoutes.createClient(body, tenant: tenant.id, clients: clients, actor: actor, requestID: context.requestID)
        }
    }

    /// The acting operator; the allow-list already admits only operators here, this is the second lock.
    static func operatorActor(_ context: ServiceRequestContext) throws -> AuditEvent.Actor {
        guard case .operator(let name) = context.caller else {
            throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
        }
        return AuditEvent.Actor(type: "operator", id: name, displayName: name, authenticationMethod: "certificate")
    }

    private func tenantSlug(_ context: ServiceRequestContext) throws -> TenantSlug {
        guard let raw = context.parameters.get("slug"), let slug = TenantSlug(rawValue: raw) else {
            throw IdentityError.tenantNotFound.problem
        }
        return slug
    }

    private func activeTenant(_ context: ServiceRequestContext) async throws -> Tenant {
        guard let tenant = try await tenants.find(slug: try tenantSlug(context)) else { throw IdentityError.tenantNotFound.problem }
        guard tenant.status == .active else { throw IdentityError.tenantNotActive.problem }
        return tenant
    }

    static func message(_ problem: TenantSlug.Problem) -> String {
        switch problem {
        case .length: "Use 3 to 40 characters."
        case .characters: "Use lowercase letters, digits and single inner hyphens."
        case .reserved: "This name is reserved."
        }
    }
}

/// Strong random passwords for seeded and operator- or admin-created users.
enum GeneratedPassword {
    static let lower = Array("abcdefghjkmnpqrstuvwxyz")
    static let upper = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")
    static let digits = Array("23456789")
    static let symbols = Array("-_.")

    /// At least 20 characters (more if the policy asks) without look-alikes, with a lowercase
    /// letter, an uppercase letter, a digit and a symbol, so every policy's composition rules hold.
    static func make(for policy: PasswordPolicy) -> String {
        var generator = SystemRandomNumberGenerator()
        func pick(_ set: [Character]) -> Character { set[Int(generator.next(upperBound: UInt32(set.count)))] }
        let all = lower + upper + digits + symbols
        let length = min(max(20, policy.minimumLength), policy.maximumLength)
        var characters = [pick(lower), pick(upper), pick(digits), pick(symbols)]
        while characters.count < length { characters.append(pick(all)) }
        // Shuffle so the guaranteed classes are not always in front.
        for index in stride(from: characters.count - 1, to: 0, by: -1) {
            characters.swapAt(index, Int(generator.next(upperBound: UInt64(index + 1))))
        }
        return String(characters)
    }
}
