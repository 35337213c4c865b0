import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport

/// Audit's part of a data-subject request. Export: the events where the person is the actor,
/// personal part opened. Erasure: the person is recorded in `erased_people`, after which no reader
/// opens the personal part of an event they acted in or that is about them. The sealed bytes
/// stay in the chain — they are inside the hashed record — until retention removes the events or
/// a tenant purge destroys the key that opens them (docs/backup.md, Data-subject requests).
struct ActorDataRepository: PersonalDataHolder {
    let store: EventStore

    /// Audit knows people only by the ids the other services gave them.
    func find(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubject {
        DataSubject()
    }

    func export(_ subject: DataSubject, tenant: TenantID) async throws -> [EventView] {
        let references = subject.references
        let (records, erased) = try await store.database.withTenant(tenant) { connection in
            var records: [String] = []
            let rows = try await connection.query("""
                SELECT record FROM events WHERE actor_id = ANY(\(references)) ORDER BY seq
                """, logger: store.database.logger)
            for try await record in rows.decode(String.self) { records.append(record) }
            return (records, try await store.erasedPeople(on: connection))
        }
        var views: [EventView] = []
        for text in records {
            views.append(try await store.view(try AuditRecord(canonicalJSON: text), tenant: tenant, erasedPeople: erased))
        }
        return views
    }

    func erase(_ subject: DataSubject, tenant: TenantID) async throws -> DataSubjectErasure {
        DataSubjectErasure(service: ServiceName.audit.rawValue, erased: try await PersonErasure.run(subject, tenant: tenant, database: store.database))
    }
}
