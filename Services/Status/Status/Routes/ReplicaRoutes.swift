import Foundation
import Hummingbird
import RampartCore
import RampartTransport

/// Where other regions' status instances deliver incident copies. Applying is idempotent by id
/// and revision, so the sender may retry as often as it needs to.
struct ReplicaRoutes: Sendable {
    let incidents: IncidentRepository
    let regions: [Region]
    let region: Region
    let source: PageSource

    struct Applied: ResponseEncodable {
        var applied: Bool
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.post(RouterPath(Replicator.path)) { request, context -> Applied in
            // The allow-list admits status instances only; a copy from our own region would be a loop.
            guard case .service(.status, let sender) = context.caller, sender != region else {
                throw ProblemError(status: .forbidden, code: "caller_not_allowed", title: "Caller not allowed")
            }
            let replica = try await StatusRequest.decode(Incident.self, from: request, decoder: Replicator.decoder)
            try validate(replica)
            let changed = try await incidents.apply(replica)
            if changed { await source.invalidate() }
            return Applied(applied: changed)
        }
    }

    /// A copy must be a record this instance could have written itself.
    func validate(_ replica: Incident) throws {
        var errors: [ProblemDetails.FieldError] = []
        if replica.name.isEmpty || replica.name.count > IncidentEditor.maximumName { errors.append(.init(field: "name", message: "Out of bounds.")) }
        if replica.status.kind != replica.kind { errors.append(.init(field: "status", message: "Not a status of this kind.")) }
        if (replica.kind == .maintenance) != (replica.scheduledFor != nil && replica.scheduledUntil != nil) {
            errors.append(.init(field: "scheduled_for", message: "Only maintenance windows have a schedule."))
        }
        if replica.revision < 1 || replica.updates.isEmpty { errors.append(.init(field: "revision", message: "A copy has a revision and history.")) }
        let ids = replica.componentIDs + replica.updates.flatMap(\.componentIDs)
        if ids.contains(where: { Component(id: $0, regions: regions) == nil }) { errors.append(.init(field: "component_ids", message: "Unknown component.")) }
        if replica.updates.contains(where: { $0.body.isEmpty || $0.body.count > IncidentEditor.maximumMessage || $0.status.kind != replica.kind }) {
            errors.append(.init(field: "updates", message: "An update is empty, too long or of the wrong kind."))
        }
        guard errors.isEmpty else { throw StatusError.invalid(errors).problem }
    }
}
