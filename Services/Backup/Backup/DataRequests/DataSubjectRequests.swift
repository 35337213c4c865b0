import Crypto
import Foundation
import Logging
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport

/// Data-subject requests of one region's customers: a copy of everything the services hold about
/// one person, or their erasure. Backup resolves the person (an id or an address) to every id
/// and address the services know them by, asks identity, tickets and audit over their
/// allow-listed internal routes, records every request in the tenant's audit log, and writes each
/// erasure to the erasure ledger (ids only) so a restore replays it.
public struct DataSubjectRequests: Sendable {
    /// The services that find people by id or address, asked in turn until nothing new turns up.
    static let finders: [ServiceName] = [.tickets, .identity]
    /// The services holding personal data, in the order they export and erase. Identity first:
    /// it erases only customers, checked under a lock on their accounts, so a person made staff
    /// since they were found is refused before any service has erased anything of theirs.
    static let holders: [ServiceName] = [.identity, .tickets, .audit]

    let services: RegionServices
    let ledger: ErasureLedger
    var region: Region { services.region }
    var logger: Logger { services.logger }
    /// How long an erasure waits for audit events about the person to leave the services' outboxes.
    var outboxPatience: Duration = .seconds(20)

    public init(region: Region, endpoints: [ServiceName: String], tls: InternalTLS, ledger: ErasureLedger, logger: Logger) {
        services = RegionServices(region: region, endpoints: endpoints, tls: tls, logger: logger)
        self.ledger = ledger
    }

    /// Everything the services hold about the person `key` names in `tenant`, as one JSON
    /// document. The request is in the tenant's audit log before any data leaves.
    public func export(tenant: TenantID, key: String, requester: AuditEvent.Actor, requestID: String?) async throws -> Data {
        try await withClient { client in
            let subject = try await resolve(key, tenant: tenant, client)
            try await audit("person.exported", subject: subject, tenant: tenant, requester: requester, requestID: requestID, client)
            var services: [String: Any] = [:]
            for service in Self.holders {
                let reply = try await post(client, service, tenant, "export", subject)
                services[service.rawValue] = ((try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any])?["data"] ?? NSNull()
            }
            let document: [String: Any] = [
                "format": "rampart.person-export.v1", "tenant_id": tenant.description, "region": region.rawValue,
                "generated_at": Date().ISO8601Format(), "person": ["ids": subject.ids.map { $0.uuidString.lowercased() }.sorted(), "emails": subject.emails.sorted()],
                "services": services,
            ]
            return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        }
    }

    /// Anonymizes the person `key` names in `tenant` in every service, records the erasure in the
    /// erasure ledger and in the tenant's audit log, and returns the receipt.
    ///
    /// Once identity has erased (it checks, under a lock, that a customer is being erased) the
    /// erasure is in the ledger as started: one that stops half-way (a later service fails) is
    /// repeated in full after a restore instead of a restore bringing back what was erased, and it
    /// fails with 502 `erasure_incomplete`, which names a person id to retry it with (the address
    /// it was asked by may already be erased). The retry finishes that erasure.
    public func erase(tenant: TenantID, key: String, requester: AuditEvent.Actor, requestID: String?) async throws -> PersonErasureReceipt {
        try await withClient { client in
            var subject = DataSubject(ids: try await resolve(key, tenant: tenant, client).ids)
            // A retry of an erasure that stopped half-way finishes it: under its id, and with
            // every person it named (what it erased can no longer be found by address).
            let unfinished = try unfinished(subject, tenant: tenant)
            if let unfinished { subject.ids.formUnion(unfinished.people ?? []) }
            let people = subject.ids.sorted { $0.uuidString < $1.uuidString }
            let erasureID = unfinished?.id ?? UUIDv7.make()
            let retry = people.first.map { $0.uuidString.lowercased() } ?? ""
            var erased: [DataSubjectErasure] = []
            // The service being asked, for the answer when it fails.
            var asking = Self.holders[0]
            // A retry of an unfinished erasure finds it in the ledger already.
            var recorded = unfinished != nil
            do {
                for service in Self.holders {
                    asking = service
                    let reply = try await erasing(client, service, tenant, subject)
                    if !recorded {
                        // Identity has erased: recorded before anything else, even reading its answer.
                        do {
                            try ledger.append(.init(kind: ErasureLedger.Entry.personStarted, id: erasureID, region: region, erasedAt: Date(),
                                                    certificateSHA256: "", tenantID: tenant.rawValue, people: people))
                        } catch {
                            logger.critical("data_request.erasure_not_recorded", metadata: [
                                "tenant": "\(tenant)", "erasure": "\(erasureID)", "error": "\(error)",
                            ])
                            throw ProblemError(status: .internalServerError, code: "erasure_not_recorded", title: "Erasure not recorded",
                                               detail: "Identity erased the person, but the erasure could not be written to the erasure ledger, so a restore would bring back what was erased. Repair the ledger's storage, then retry with the person id \(retry).")
                        }
                        recorded = true
                    }
                    erased.append(try JSONDecoder().decode(DataSubjectErasure.self, from: reply.body))
                }
            } catch where recorded {
                logger.error("data_request.erasure_incomplete", metadata: [
                    "tenant": "\(tenant)", "erasure": "\(erasureID)", "failed": "\(asking)", "error.type": "\(type(of: error))",
                ])
                let done = erased.map(\.service)
                let failure = error is DecodingError ? "\(asking) answered what could not be read" : "\(asking) failed"
                throw ProblemError(status: .badGateway, code: "erasure_incomplete", title: "Erasure incomplete",
                                   detail: "\(failure)\(done.isEmpty ? "" : " after \(done.joined(separator: ", ")) erased"). The erasure is in the erasure ledger and is repeated after any restore. Retry it with the person id \(retry): the retry finishes it for everyone it named.")
            }
            let receipt = PersonErasureReceipt(
                id: erasureID, tenantID: tenant, region: region, people: people,
                requestedBy: "\(requester.type):\(requester.id)", erased: erased,
                ticketContent: erased.compactMap(\.ticketContent).first ?? "keep", erasedAt: Date()
            )
            try ledger.append(.init(kind: "person", id: receipt.id, region: region, erasedAt: receipt.erasedAt,
                                    certificateSHA256: Hex.encode(SHA256.hash(data: try receipt.canonicalJSON())),
                                    tenantID: tenant.rawValue, people: receipt.people, deleteTickets: receipt.ticketContent == "delete"))
            try await audit("person.erased", subject: subject, tenant: tenant, requester: requester, requestID: requestID, client)
            logger.notice("data_request.erased", metadata: ["tenant": "\(tenant)", "erasure": "\(receipt.id)"])
            return receipt
        }
    }

    /// The ledger's erasure of `tenant` begun for one of `subject`'s ids and never completed.
    private func unfinished(_ subject: DataSubject, tenant: TenantID) throws -> ErasureLedger.Entry? {
        let entries = try ledger.entries()
        let completed = Set(entries.filter { $0.kind == "person" }.map(\.id))
        return entries.last {
            $0.kind == ErasureLedger.Entry.personStarted && $0.tenantID == tenant.rawValue && !completed.contains($0.id)
                && !subject.ids.isDisjoint(with: $0.people ?? [])
        }
    }

    /// Every id and address of the person `key` names: each finder is asked with what is known
    /// so far, until an answer adds nothing. Nobody found is a 404 (also for another tenant's person).
    func resolve(_ key: String, tenant: TenantID, _ client: InternalClient) async throws -> DataSubject {
        var subject = DataSubject(key: key)
        var found = DataSubject()
        for _ in 0..<3 {
            for service in Self.finders {
                found = found.union(try JSONDecoder().decode(DataSubject.self, from: try await post(client, service, tenant, "find", subject).body))
            }
            let next = subject.union(found)
            if next == subject { break }
            subject = next
        }
        guard !found.ids.isEmpty else {
            throw ProblemError(status: .notFound, code: "person_not_found", title: "No such person",
                               detail: "No customer of this tenant has this id or address.")
        }
        return found
    }

    /// An erasure in one service, retried while audit events about the person wait in its outbox.
    private func erasing(_ client: InternalClient, _ service: ServiceName, _ tenant: TenantID, _ subject: DataSubject) async throws -> InternalClient.Reply {
        let deadline = ContinuousClock.now + outboxPatience
        while true {
            do {
                return try await post(client, service, tenant, "erase", subject)
            } catch let problem as ProblemError where problem.code == "outbox_pending" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// The request as an event of the tenant's chain: who asked, which person (by id), no personal data.
    private func audit(_ action: String, subject: DataSubject, tenant: TenantID, requester: AuditEvent.Actor, requestID: String?,
                       _ client: InternalClient) async throws {
        let person = subject.ids.map { $0.uuidString.lowercased() }.sorted().first ?? ""
        try await services.audit(action, resource: .init(type: "person", id: person), tenant: tenant, requester: requester, requestID: requestID, client)
    }

    private func post(_ client: InternalClient, _ service: ServiceName, _ tenant: TenantID, _ verb: String, _ subject: DataSubject) async throws -> InternalClient.Reply {
        try await services.send(client, .POST, service, "/internal/v1/tenants/\(tenant)/data-subjects/\(verb)", body: try JSONEncoder().encode(subject))
    }

    private func withClient<R>(_ body: (InternalClient) async throws -> R) async throws -> R {
        try await services.withClient(body)
    }
}

/// What one erasure did, returned to whoever asked and hashed into the erasure ledger: ids,
/// counts, the ticket policy applied and times — no personal data.
public struct PersonErasureReceipt: Codable, Sendable, Equatable {
    public var id: UUID
    public var tenantID: TenantID
    public var region: Region
    public var people: [UUID]
    public var requestedBy: String
    public var erased: [DataSubjectErasure]
    /// `keep` or `delete`: what happened to the tickets the person requested.
    public var ticketContent: String
    public var erasedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, region, people, erased
        case tenantID = "tenant_id"
        case requestedBy = "requested_by"
        case ticketContent = "ticket_content"
        case erasedAt = "erased_at"
    }

    /// Sorted keys, ISO 8601 times: the bytes the ledger's hash covers.
    func canonicalJSON() throws -> Data {
        try DeletionCertificate.encoder.encode(self)
    }
}
