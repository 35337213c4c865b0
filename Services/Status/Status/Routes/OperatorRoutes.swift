import Foundation
import Hummingbird
import RampartCore
import RampartTransport

/// The operator API (`rampartctl status …`): incidents and maintenance windows. Only operator
/// certificates reach it; every write is stored with its author and queued for every region.
struct OperatorRoutes: Sendable {
    let incidents: IncidentRepository
    let editor: IncidentEditor
    let source: PageSource
    let clock: any StatusClock

    struct Listing: ResponseEncodable {
        var data: [Incident]
        /// Deliveries still owed, per region.
        var undelivered: [String: Int]
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/internal/v1/operator")
        group.get("incidents") { _, context -> Listing in
            _ = try StatusRequest.operatorName(context)
            let now = clock.now()
            return Listing(data: try await incidents.recent(since: now.addingTimeInterval(-90 * 86400)), undelivered: try await incidents.undelivered())
        }
        group.post("incidents") { request, context -> EditedResponse<Incident> in
            let author = try StatusRequest.operatorName(context)
            let input = try await StatusRequest.decode(IncidentEditor.NewIncident.self, from: request, decoder: StatusRequest.operatorDecoder)
            let incident = try await StatusRequest.run { try editor.create(input, author: author, now: clock.now()) }
            try await StatusRequest.store { try await incidents.create(incident) }
            await source.invalidate()
            return EditedResponse(status: .created, response: incident)
        }
        group.post("maintenances") { request, context -> EditedResponse<Incident> in
            let author = try StatusRequest.operatorName(context)
            let input = try await StatusRequest.decode(IncidentEditor.NewMaintenance.self, from: request, decoder: StatusRequest.operatorDecoder)
            let window = try await StatusRequest.run { try editor.schedule(input, author: author, now: clock.now()) }
            try await StatusRequest.store { try await incidents.create(window) }
            await source.invalidate()
            return EditedResponse(status: .created, response: window)
        }
        for (path, kind) in [("incidents", Incident.Kind.incident), ("maintenances", .maintenance)] {
            group.post(RouterPath("\(path)/{id}/updates")) { request, context -> Incident in
                let author = try StatusRequest.operatorName(context)
                guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw StatusError.notFound.problem }
                let input = try await StatusRequest.decode(IncidentEditor.NewUpdate.self, from: request, decoder: StatusRequest.operatorDecoder)
                let updated = try await StatusRequest.store {
                    try await incidents.update(id: id) { current in
                        guard current.kind == kind else { throw StatusError.notFound }
                        return try editor.update(current, with: input, author: author, now: clock.now())
                    }
                }
                await source.invalidate()
                return updated
            }
        }
    }
}

extension Incident: ResponseEncodable {}
