import Foundation
import Hummingbird
import RampartCore
import RampartTransport

/// People, organizations, departments, teams, custom fields and the tenant's helpdesk settings.
/// Staff read them (custom-field definitions: everyone, since customers fill them in); staff
/// with write access change people and organizations; only admins change the rest and remove
/// anything (a removal answers 204).
struct DirectoryRoutes: Sendable {
    let people: PeopleRepository
    let departments: StaffGroupRepository
    let teams: StaffGroupRepository
    let customFields: CustomFieldRepository
    let settings: SettingsRepository

    struct One<Item: Encodable & Sendable>: Encodable, Sendable {
        var data: Item
    }

    func register(on api: RouterGroup<AuthenticatedContext>) {
        registerPeople(on: api)
        registerOrganizations(on: api)
        registerStaffGroups(departments, path: "departments", on: api)
        registerStaffGroups(teams, path: "teams", on: api)
        registerCustomFields(on: api)
        api.get("tickets/settings") { _, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            let current = try await settings.get(caller)
            return try TicketsRequest.versioned(current, version: current.version)
        }
        api.patch("tickets/settings") { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireAdmin()
            let check = try TicketsRequest.ifMatch(request, version: \TicketSettings.version)
            let changes = try await TicketsRequest.decode(SettingsChanges.self, from: request)
            let saved = try await settings.update(caller, requestID: context.requestID) { stored in
                try check(stored)
                return try changes.applied(to: stored)
            }
            return try TicketsRequest.versioned(saved, version: saved.version)
        }
    }

    private func registerPeople(on api: RouterGroup<AuthenticatedContext>) {
        api.get("people") { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            let (limit, after) = try IDCursor.paging(request)
            let email = request.uri.queryParameters.get("email").map { $0.lowercased() }
            let organization = try request.uri.queryParameters.get("organization").map { raw in
                guard let id = UUID(uuidString: raw) else { throw TicketsError.invalidInput([.init(field: "organization", message: "Not an id.")]) }
                return id
            }
            let list = try await people.list(caller, email: email, organization: organization, after: after, limit: limit + 1)
            return try TicketsRequest.json(Page(Array(list.prefix(limit)), limit: limit,
                                                cursor: list.count > limit ? IDCursor.encode(list[limit - 1].id) : nil, request: request))
        }
        api.post("people") { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            try caller.requireWrite()
            let body = try await TicketsRequest.decode(NewPerson.self, from: request)
            let person = try await people.create(caller, email: try body.email.map(DirectoryRules.email), name: try DirectoryRules.name(body.name),
                                                 organization: body.organizationID, user: body.userID, requestID: context.requestID)
            return try TicketsRequest.versioned(person, version: person.version, status: .created)
        }
        api.get("people/{id}") { _, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            let person = try await people.find(caller, id: try TicketsRequest.id(context, resource: "person"))
            return try TicketsRequest.versioned(person, version: person.version)
        }
        api.patch("people/{id}") { request, context -> Response in
            let (caller, id) = try await Self.existing(context, resource: "person", find: people.find(_:id:)) { try $0.requireWrite() }
            let check = try TicketsRequest.ifMatch(request, version: \Person.version)
            let body = try await TicketsRequest.decode(PersonChanges.self, from: request)
            var email = body.email
            if case .set(let raw) = email { email = .set(try DirectoryRules.email(raw)) }
            let person = try await people.update(caller, id: id, email: email, name: try body.name.map { try DirectoryRules.name($0) },
                                                 organization: body.organizationID, requestID: context.requestID, check: check)
            return try TicketsRequest.versioned(person, version: person.version)
        }
        api.delete("people/{id}") { _, context -> Response in
            let (caller, id) = try await Self.existing(context, resource: "person", find: people.find(_:id:)) { try $0.requireAdmin() }
            try await people.remove(caller, id: id, requestID: context.requestID)
            return Response(status: .noContent)
        }
        api.post("people/{id}/merge") { request, context -> Response in
            let (caller, id) = try await Self.existing(context, resource: "person", find: people.find(_:id:)) { try $0.requireAdmin() }
            let body = try await TicketsRequest.decode(PersonMerge.self, from: request)
            return try TicketsRequest.json(One(data: try await people.merge(caller, id, into: body.into, requestID: context.requestID)))
        }
    }

    private func registerOrganizations(on api: RouterGroup<AuthenticatedContext>) {
        api.get("organizations") { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            let (limit, after) = try IDCursor.paging(request)
            let list = try await people.organizations(caller, after: after, limit: limit + 1)
            return try TicketsRequest.json(Page(Array(list.prefix(limit)), limit: limit,
                                                cursor: list.count > limit ? IDCursor.encode(list[limit - 1].id) : nil, request: request))
        }
        api.post("organizations") { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            try caller.requireWrite()
            let body = try await TicketsRequest.decode(OrganizationBody.self, from: request)
            let organization = try await people.saveOrganization(caller, id: nil, name: try DirectoryRules.name(body.name), requestID: context.requestID)
            return try TicketsRequest.versioned(organization, version: organization.version, status: .created)
        }
        api.get("organizations/{id}") { _, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            let organization = try await people.organization(caller, id: try TicketsRequest.id(context, resource: "organization"))
            return try TicketsRequest.versioned(organization, version: organization.version)
        }
        api.patch("organizations/{id}") { request, context -> Response in
            let (caller, id) = try await Self.existing(context, resource: "organization", find: people.organization(_:id:)) { try $0.requireWrite() }
            let check = try TicketsRequest.ifMatch(request, version: \Organization.version)
            let body = try await TicketsRequest.decode(OrganizationBody.self, from: request)
            let organization = try await people.saveOrganization(caller, id: id, name: try DirectoryRules.name(body.name), requestID: context.requestID, check: check)
            return try TicketsRequest.versioned(organization, version: organization.version)
        }
        api.delete("organizations/{id}") { _, context -> Response in
            let (caller, id) = try await Self.existing(context, resource: "organization", find: people.organization(_:id:)) { try $0.requireAdmin() }
            try await people.removeOrganization(caller, id: id, requestID: context.requestID)
            return Response(status: .noContent)
        }
    }

    private func registerStaffGroups(_ repository: StaffGroupRepository, path: String, on api: RouterGroup<AuthenticatedContext>) {
        let resource = repository.kind.rawValue
        api.get(RouterPath(path)) { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            let (limit, after) = try IDCursor.paging(request)
            let list = try await repository.list(caller, after: after, limit: limit + 1)
            return try TicketsRequest.json(Page(Array(list.prefix(limit)), limit: limit,
                                                cursor: list.count > limit ? IDCursor.encode(list[limit - 1].id) : nil, request: request))
        }
        api.post(RouterPath(path)) { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireAdmin()
            let body = try await TicketsRequest.decode(StaffGroupBody.self, from: request)
            let group = try await repository.save(caller, id: nil, body, requestID: context.requestID)
            return try TicketsRequest.versioned(group, version: group.version, status: .created)
        }
        api.get(RouterPath("\(path)/{id}")) { _, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireStaff()
            let group = try await repository.find(caller, id: try TicketsRequest.id(context, resource: resource))
            return try TicketsRequest.versioned(group, version: group.version)
        }
        api.patch(RouterPath("\(path)/{id}")) { request, context -> Response in
            let (caller, id) = try await Self.existing(context, resource: resource, find: repository.find(_:id:)) { try $0.requireAdmin() }
            let check = try TicketsRequest.ifMatch(request, version: \StaffGroup.version)
            let body = try await TicketsRequest.decode(StaffGroupBody.self, from: request)
            let group = try await repository.save(caller, id: id, body, requestID: context.requestID, check: check)
            return try TicketsRequest.versioned(group, version: group.version)
        }
        api.delete(RouterPath("\(path)/{id}")) { request, context -> Response in
            let (caller, id) = try await Self.existing(context, resource: resource, find: repository.find(_:id:)) { try $0.requireAdmin() }
            try await repository.remove(caller, id: id, moveTo: try Self.moveTo(request), requestID: context.requestID)
            return Response(status: .noContent)
        }
    }

    /// The caller and the id of an item a staff member changes or removes: it must exist for the
    /// caller first (404, so nobody learns of what they may not see), then `allowed` decides (403).
    static func existing<Item>(
        _ context: AuthenticatedContext, resource: String, find: (Caller, UUID) async throws -> Item, allowed: (Caller) throws -> Void
    ) async throws -> (Caller, UUID) {
        let caller = try Caller(context.principal)
        try caller.requireStaff()
        let id = try TicketsRequest.id(context, resource: resource)
        _ = try await find(caller, id)
        try allowed(caller)
        return (caller, id)
    }

    /// The optional `move_to` query parameter of a removal (the only one it takes).
    static func moveTo(_ request: Request) throws -> UUID? {
        let parameters = request.uri.queryParameters
        let unknown = Set(parameters.map { String($0.key) }).subtracting(["move_to"]).sorted()
        guard unknown.isEmpty else { throw TicketsError.invalidInput(unknown.map { .init(field: $0, message: "Unknown query parameter.") }) }
        let values = parameters.getAll("move_to")
        guard let raw = values.first else { return nil }
        guard values.count == 1, let id = UUID(uuidString: raw) else {
            throw TicketsError.invalidInput([.init(field: "move_to", message: "One id, given once.")])
        }
        return id
    }

    private func registerCustomFields(on api: RouterGroup<AuthenticatedContext>) {
        api.get("custom-fields") { request, context -> Response in
            let list = try await customFields.list(try Caller(context.principal))
            return try TicketsRequest.json(Page(list, limit: list.count, cursor: nil, request: request))
        }
        api.post("custom-fields") { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireAdmin()
            let body = try await TicketsRequest.decode(NewCustomField.self, from: request)
            let field = try await customFields.create(caller, try body.definition(), requestID: context.requestID)
            return try TicketsRequest.versioned(field, version: field.version, status: .created)
        }
        api.get("custom-fields/{id}") { _, context -> Response in
            let field = try await customFields.find(try Caller(context.principal), id: try TicketsRequest.id(context, resource: "custom_field"))
            return try TicketsRequest.versioned(field, version: field.version)
        }
        api.patch("custom-fields/{id}") { request, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireAdmin()
            let id = try TicketsRequest.id(context, resource: "custom_field")
            let check = try TicketsRequest.ifMatch(request, version: \CustomFieldDefinition.version)
            let body = try await TicketsRequest.decode(CustomFieldChanges.self, from: request)
            let field = try await customFields.update(caller, id: id, body, requestID: context.requestID, check: check)
            return try TicketsRequest.versioned(field, version: field.version)
        }
        api.delete("custom-fields/{id}") { _, context -> Response in
            let caller = try Caller(context.principal)
            try caller.requireAdmin()
            try await customFields.remove(caller, id: try TicketsRequest.id(context, resource: "custom_field"), requestID: context.requestID)
            return Response(status: .noContent)
        }
    }
}
