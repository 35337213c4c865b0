import Foundation
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

extension EventStore {
    /// A tenant's events matching `filter`, newest first, before sequence number `before`
    /// (the cursor), at most `limit`; personal data opened with the tenant's key.
    public func events(tenant: TenantID, filter: EventFilter, before: Int64?, limit: Int) async throws -> [EventView] {
        var ipIndex: Data?
        if let ip = filter.ip {
            // Without the tenant's key no IP can match any more.
            guard let index = try await ipIndexIfKeyed(ip, tenant: tenant) else { return [] }
            ipIndex = index
        }
        let logger = database.logger
        let (records, erased) = try await database.withTenant(tenant) { connection in
            var records: [String] = []
            let rows = try await connection.query("""
                SELECT record FROM events
                WHERE tenant_id = \(tenant.rawValue)
                  AND (\(before)::int8 IS NULL OR seq < \(before))
                  AND (\(filter.actor)::text IS NULL OR actor_id = \(filter.actor))
                  AND (\(filter.anyActor)::text[] IS NULL OR actor_id = ANY(\(filter.anyActor)))
                  AND (\(filter.actorType)::text IS NULL OR actor_type = \(filter.actorType))
                  AND (\(filter.exactAction)::text IS NULL OR action = \(filter.exactAction))
                  AND (\(filter.actionPrefix)::text IS NULL OR starts_with(action, \(filter.actionPrefix)))
                  AND (\(filter.resourceType)::text IS NULL OR resource_type = \(filter.resourceType))
                  AND (\(filter.resourceID)::text IS NULL OR resource_id = \(filter.resourceID))
                  AND (\(filter.outcome)::text IS NULL OR outcome = \(filter.outcome))
                  AND (\(ipIndex.map(Hex.encode))::text IS NULL OR ip_index = decode(\(ipIndex.map(Hex.encode)), 'hex'))
                  AND (\(filter.from)::timestamptz IS NULL OR occurred_at >= \(filter.from))
                  AND (\(filter.to)::timestamptz IS NULL OR occurred_at < \(filter.to))
                ORDER BY seq DESC LIMIT \(limit)
                """, logger: logger)
            for try await record in rows.decode(String.self) { records.append(record) }
            return (records, try await erasedPeople(on: connection))
        }
        var views: [EventView] = []
        for text in records {
            views.append(try await view(try AuditRecord(canonicalJSON: text), tenant: tenant, erasedPeople: erased))
        }
        return views
    }

    /// The people of the transaction's tenant erased by a data-subject request, as events name
    /// them (``DataSubject/references``).
    func erasedPeople(on connection: PostgresConnection) async throws -> Set<String> {
        var ids = Set<UUID>()
        for try await id in try await connection.query("SELECT person_id FROM erased_people", logger: database.logger).decode(UUID.self) {
            ids.insert(id)
        }
        return Set(DataSubject(ids: ids).references)
    }

    /// The blind index of `ip`, or `nil` when the tenant's key is gone (nothing can match then).
    private func ipIndexIfKeyed(_ ip: String, tenant: TenantID) async throws -> Data? {
        do {
            return try await ipIndex(ip, tenant: tenant)
        } catch EnvelopeError.tenantKeyDestroyed, EnvelopeError.tenantKeyMissing {
            return nil
        }
    }

    /// A record with its personal part opened, or marked erased: the tenant's key is gone, or the
    /// event's actor or resource is a person in `erasedPeople`.
    func view(_ record: AuditRecord, tenant: TenantID, erasedPeople: Set<String> = []) async throws -> EventView {
        guard let sealed = record.personal.flatMap({ Data(base64Encoded: $0) }) else {
            return EventView(record: record, personal: nil, erased: false)
        }
        if erasedPeople.contains(record.actor.id.lowercased()) || erasedPeople.contains(record.resource.id.lowercased()) {
            return EventView(record: record, personal: nil, erased: true)
        }
        do {
            let opened = try await keyring.open(sealed, tenant: tenant, context: PersonalData.sealContext(record.id))
            return EventView(record: record, personal: try JSONDecoder().decode(PersonalData.self, from: opened), erased: false)
        } catch EnvelopeError.tenantKeyDestroyed, EnvelopeError.tenantKeyMissing {
            return EventView(record: record, personal: nil, erased: true)
        }
    }
}
