import Foundation
import PostgresNIO
import RampartCore

/// A caller as the visibility rule (`ticket_visible`) needs it inside one transaction: for a
/// customer, the person they are (created on first use) and the organization whose tickets they
/// may see when the tenant allows it.
struct Viewer: Sendable {
    let caller: Caller
    let reach: String
    let agent: UUID?
    let person: UUID?
    let organization: UUID?

    static func resolve(_ caller: Caller, store: TicketStore, on connection: PostgresConnection) async throws -> Viewer {
        switch caller.reach {
        case .tenant:
            return Viewer(caller: caller, reach: "tenant", agent: nil, person: nil, organization: nil)
        case .agent(let id):
            return Viewer(caller: caller, reach: "agent", agent: id, person: nil, organization: nil)
        case .customer(let user):
            let (person, organization) = try await PeopleRepository.person(forUser: user, tenant: caller.tenant, store: store, on: connection)
            let settings = try await store.settings(on: connection)
            return Viewer(caller: caller, reach: "customer", agent: nil, person: person,
                          organization: settings.customersSeeOrganization ? organization : nil)
        }
    }
}
