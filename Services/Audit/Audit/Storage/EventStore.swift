import Crypto
import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartSecurity
import RampartStorage

/// The audit log: appends events to their tenants' hash chains and reads them back.
///
/// Appending serialises per tenant (a transaction-scoped advisory lock on the tenant), so
/// sequence numbers have no gaps and each `prev_hash` is the hash of the row before it. A batch
/// is one transaction: stored completely or not at all. An event id already stored for the
/// tenant counts as a duplicate and is skipped, so a retried batch never stores twice.
public struct EventStore: Sendable {
    public let database: Database
    public let region: Region
    public let keyring: TenantKeyring
    /// The time events are received at; tests move it.
    let clock: @Sendable () -> Date

    public init(database: Database, region: Region, keyring: TenantKeyring, clock: @escaping @Sendable () -> Date = { .now }) {
        self.database = database
        self.region = region
        self.keyring = keyring
        self.clock = clock
    }

    /// How many events of a batch were stored now and how many were stored before.
    public struct IngestResult: Codable, Sendable, Equatable {
        public var stored: Int
        public var duplicates: Int
    }

    /// The action of a tenant purge's deletion certificate; kept beyond retention.
    static let deletionCertificateAction = "tenant.purged"

    /// Stores a validated batch delivered by `service`. Every tenant named must have a live key
    /// in this region, or nothing is stored — except the deletion certificate backup sends after
    /// it destroyed a purged tenant's key (``acceptsAfterErasure(_:service:)``).
    public func ingest(_ events: [AuditEvent], service: String) async throws -> IngestResult {
        var seen: Set<UUID> = []
        var byTenant: [TenantID: [AuditEvent]] = [:]
        var duplicates = 0
        for event in events {
            guard seen.insert(event.id).inserted else {
                duplicates += 1
                continue
            }
            byTenant[event.tenantID, default: []].append(event)
        }
        var prepared: [(TenantID, [PreparedEvent])] = []
        // Sorted, so two batches naming the same tenants lock them in the same order.
        for tenant in byTenant.keys.sorted(by: { $0.description < $1.description }) {
            if try await !keyring.hasLiveKey(tenant) {
                guard try await acceptsAfterErasure(byTenant[tenant] ?? [], service: service) else { throw AuditError.unknownTenant }
            }
            var items: [PreparedEvent] = []
            for event in byTenant[tenant] ?? [] { items.append(try await prepare(event)) }
            prepared.append((tenant, items))
        }
        let receivedAt = clock()
        let batches = prepared
        let repeated = duplicates
        return try await database.withTransaction { connection in
            var total = IngestResult(stored: 0, duplicates: repeated)
            for (tenant, items) in batches {
                let appended = try await append(items, tenant: tenant, service: service, receivedAt: receivedAt, on: connection)
                total.stored += appended.stored
                total.duplicates += appended.duplicates
            }
            return total
        }
    }

    /// Whether `events` of a tenant whose key is destroyed may still be stored: only backup's
    /// deletion certificates, carrying nothing that would need the destroyed key to seal.
    private func acceptsAfterErasure(_ events: [AuditEvent], service: String) async throws -> Bool {
        guard service == ServiceName.backup.rawValue, let tenant = events.first?.tenantID,
              events.allSatisfy({ $0.action == Self.deletionCertificateAction && $0.attestation != nil && PersonalData(event: $0).isEmpty })
        else { return false }
        return try await keyring.isDestroyed(tenant)
    }

    /// Records one of audit's own events (exports, alerts, acknowledgements) inside the caller's
    /// transaction, so it exists exactly when what it records was committed.
    func record(_ event: AuditEvent, on connection: PostgresConnection) async throws {
        _ = try await append([try await prepare(event)], tenant: event.tenantID, service: ServiceName.audit.rawValue, receivedAt: clock(), on: connection)
    }

    /// An event with its personal part sealed and its IP's blind index computed.
    struct PreparedEvent: Sendable {
        var event: AuditEvent
        var personal: String?
        var ipIndex: Data?
    }

    private func prepare(_ event: AuditEvent) async throws -> PreparedEvent {
        let personal = PersonalData(event: event)
        var sealed: String?
        if !personal.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let box = try await keyring.seal(try encoder.encode(personal), tenant: event.tenantID, context: PersonalData.sealContext(event.id))
            sealed = box.base64EncodedString()
        }
        var index: Data?
        if let ip = event.actor.ip { index = try await ipIndex(ip, tenant: event.tenantID) }
        return PreparedEvent(event: event, personal: sealed, ipIndex: index)
    }

    /// The blind index of an IP for `tenant`: HMAC-SHA256 under a key derived from the tenant's
    /// data key, so it matches equal IPs and becomes meaningless once the key is destroyed.
    func ipIndex(_ ip: String, tenant: TenantID) async throws -> Data {
        let key = try await keyring.derivedKey(for: tenant, purpose: "audit.ip-index")
        let normalized = ip.trimmingCharacters(in: .whitespaces).lowercased()
        return Data(HMAC<SHA256>.authenticationCode(for: Data(normalized.utf8), using: key))
    }

    /// Takes `tenant`'s chain lock until the transaction ends (again, if it holds it already). A
    /// change that records an event in the chain takes it before it locks any row, as appends do
    /// after their rows, so the two cannot deadlock.
    func lockChain(_ tenant: TenantID, on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('rampart.audit.chain'), hashtext(\(tenant.description)))", logger: database.logger)
    }

    /// Appends to one tenant's chain on `connection`, under the tenant's chain lock.
    private func append(_ items: [PreparedEvent], tenant: TenantID, service: String, receivedAt: Date, on connection: PostgresConnection) async throws -> IngestResult {
        let logger = database.logger
        try await connection.query("SELECT set_config('rampart.tenant_id', \(tenant.description), true)", logger: logger)
        try await lockChain(tenant, on: connection)
        var existing: Set<UUID> = []
        let ids = items.map(\.event.id)
        for try await id in try await connection.query("SELECT id FROM events WHERE tenant_id = \(tenant.rawValue) AND id = ANY(\(ids))", logger: logger).decode(UUID.self) {
            existing.insert(id)
        }
        var head: (seq: Int64, hash: Data) = (0, AuditChain.genesis)
        for try await (seq, hash) in try await connection.query("""
            SELECT seq, encode(hash, 'hex') FROM events WHERE tenant_id = \(tenant.rawValue) ORDER BY seq DESC LIMIT 1
            """, logger: logger).decode((Int64, String).self) {
            head = (seq, Hex.decode(hash) ?? AuditChain.genesis)
        }
        var rows = ChainRows()
        let received = AuditRecord.timestamp(receivedAt)
        for item in items where !existing.contains(item.event.id) {
            let event = item.event
            let record = AuditRecord(
                seq: head.seq + 1, id: event.id, tenantID: tenant, region: region,
                occurredAt: AuditRecord.timestamp(event.occurredAt), receivedAt: received, service: service,
                actor: .init(type: event.actor.type, id: event.actor.id, sessionID: event.actor.sessionID, authenticationMethod: event.actor.authenticationMethod),
                action: event.action, resource: .init(type: event.resource.type, id: event.resource.id),
                outcome: event.outcome, requestID: event.requestID, source: event.source, personal: item.personal,
                attestation: event.attestation
            )
            let canonical = try record.canonicalJSON()
            let hash = AuditChain.hash(previous: head.hash, canonicalJSON: canonical)
            rows.add(record: record, canonical: canonical, ipIndex: item.ipIndex, prevHash: head.hash, hash: hash)
            head = (record.seq, hash)
        }
        guard !rows.seqs.isEmpty else { return IngestResult(stored: 0, duplicates: items.count) }
        try await connection.query("""
            INSERT INTO events (tenant_id, seq, id, occurred_at, received_at, service, action, actor_type, actor_id,
                                resource_type, resource_id, outcome, ip_index, record, prev_hash, hash)
            SELECT \(tenant.rawValue), u.seq, u.id, u.occurred::timestamptz, \(received)::timestamptz, \(service), u.action,
                   u.actor_type, u.actor_id, u.resource_type, u.resource_id, u.outcome, decode(NULLIF(u.ip_index, ''), 'hex'),
                   u.record, decode(u.prev_hash, 'hex'), decode(u.hash, 'hex')
            FROM unnest(\(rows.seqs)::int8[], \(rows.ids)::uuid[], \(rows.occurred)::text[], \(rows.actions)::text[],
                        \(rows.actorTypes)::text[], \(rows.actorIDs)::text[], \(rows.resourceTypes)::text[], \(rows.resourceIDs)::text[],
                        \(rows.outcomes)::text[], \(rows.ipIndexes)::text[], \(rows.records)::text[], \(rows.prevHashes)::text[], \(rows.hashes)::text[])
                AS u(seq, id, occurred, action, actor_type, actor_id, resource_type, resource_id, outcome, ip_index, record, prev_hash, hash)
            """, logger: logger)
        try await connection.query("""
            INSERT INTO deletion_certificates (tenant_id, event_id, seq, record, hash, received_at)
            SELECT tenant_id, id, seq, record, hash, received_at FROM events
            WHERE tenant_id = \(tenant.rawValue) AND seq > \(rows.seqs[0] - 1) AND action = \(Self.deletionCertificateAction)
            """, logger: logger)
        return IngestResult(stored: rows.seqs.count, duplicates: items.count - rows.seqs.count)
    }
}

/// Column arrays for one multi-row insert (`unnest`), built in chain order.
struct ChainRows {
    var seqs: [Int64] = []
    var ids: [UUID] = []
    var occurred: [String] = []
    var actions: [String] = []
    var actorTypes: [String] = []
    var actorIDs: [String] = []
    var resourceTypes: [String] = []
    var resourceIDs: [String] = []
    var outcomes: [String] = []
    /// Hex, empty for none.
    var ipIndexes: [String] = []
    var records: [String] = []
    var prevHashes: [String] = []
    var hashes: [String] = []

    mutating func add(record: AuditRecord, canonical: String, ipIndex: Data?, prevHash: Data, hash: Data) {
        seqs.append(record.seq)
        ids.append(record.id)
        occurred.append(record.occurredAt)
        actions.append(record.action)
        actorTypes.append(record.actor.type)
        actorIDs.append(record.actor.id)
        resourceTypes.append(record.resource.type)
        resourceIDs.append(record.resource.id)
        outcomes.append(record.outcome)
        ipIndexes.append(ipIndex.map(Hex.encode) ?? "")
        records.append(canonical)
        prevHashes.append(Hex.encode(prevHash))
        hashes.append(Hex.encode(hash))
    }
}
