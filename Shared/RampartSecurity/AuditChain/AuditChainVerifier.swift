import Foundation
import RampartCore

/// Recomputes a tenant's audit chain row by row and checks it against the signed checkpoints;
/// the first inconsistency is reported as an ``AuditChainBreak`` naming the sequence number or
/// checkpoint hour where it was found.
///
/// Rows arrive in sequence order, page by page (``consume(_:)``), so a long log is verified in
/// constant memory. What it proves: every row is the one that was chained (modification),
/// none is missing or added between two rows (deletion, insertion, reordering), every checkpoint
/// is signed by a known key and the hours form an unbroken series (a dropped checkpoint), and
/// each checkpoint's signed head is in the chain (a rewritten or truncated log). What it cannot:
/// events appended after the newest checkpoint are chained but not yet signed.
public struct AuditChainVerifier: Sendable {
    /// One stored row: its canonical record, stored hashes and the columns queries filter on.
    public struct Row: Codable, Sendable {
        public var seq: Int64
        public var record: String
        public var prevHash: Data
        public var hash: Data
        public var columns: Columns

        public init(seq: Int64, record: String, prevHash: Data, hash: Data, columns: Columns) {
            self.seq = seq
            self.record = record
            self.prevHash = prevHash
            self.hash = hash
            self.columns = columns
        }

        enum CodingKeys: String, CodingKey {
            case seq, record, hash, columns
            case prevHash = "prev_hash"
        }
    }

    /// The indexed copies of record fields; they must agree with the record.
    public struct Columns: Codable, Sendable, Equatable {
        public var id: UUID
        public var action: String
        public var actorType: String
        public var actorID: String
        public var resourceType: String
        public var resourceID: String
        public var outcome: String
        public var occurredAt: Date

        public init(id: UUID, action: String, actorType: String, actorID: String, resourceType: String, resourceID: String, outcome: String, occurredAt: Date) {
            self.id = id
            self.action = action
            self.actorType = actorType
            self.actorID = actorID
            self.resourceType = resourceType
            self.resourceID = resourceID
            self.outcome = outcome
            self.occurredAt = occurredAt
        }

        /// The columns as the record states them.
        init(record: AuditRecord) {
            self.init(id: record.id, action: record.action, actorType: record.actor.type, actorID: record.actor.id,
                      resourceType: record.resource.type, resourceID: record.resource.id, outcome: record.outcome,
                      occurredAt: (try? Date(record.occurredAt, strategy: .iso8601)) ?? .distantPast)
        }

        enum CodingKeys: String, CodingKey {
            case id, action, outcome
            case actorType = "actor_type"
            case actorID = "actor_id"
            case resourceType = "resource_type"
            case resourceID = "resource_id"
            case occurredAt = "occurred_at"
        }
    }

    public let tenant: TenantID
    public let region: Region
    /// Checkpoints by the sequence number they sign, oldest first.
    private var pending: [AuditCheckpoint]
    private let checkpoints: [AuditCheckpoint]
    private var previous: (seq: Int64, hash: Data)?
    private var broken: AuditChainBreak?
    /// Rows verified so far.
    public private(set) var verifiedRows = 0

    /// Starts a verification: checks every checkpoint's signature and that their hours run
    /// without a gap through `checkpointsThrough` (the last hour the scheduler has surely closed).
    public init(tenant: TenantID, region: Region, keys: PrincipalKeySet, checkpoints: [AuditCheckpoint], checkpointsThrough: Date?) {
        self.tenant = tenant
        self.region = region
        let ordered = checkpoints.sorted { $0.hour < $1.hour }
        self.checkpoints = ordered
        self.pending = ordered.sorted { $0.seq < $1.seq }
        broken = Self.checkSeries(ordered, tenant: tenant, region: region, keys: keys, through: checkpointsThrough)
    }

    private static func checkSeries(_ ordered: [AuditCheckpoint], tenant: TenantID, region: Region, keys: PrincipalKeySet, through: Date?) -> AuditChainBreak? {
        var last: AuditCheckpoint?
        for checkpoint in ordered {
            guard checkpoint.tenantID == tenant, checkpoint.region == region, checkpoint.isValid(under: keys) else {
                return AuditChainBreak(hour: checkpoint.hour, reason: "checkpoint signature is invalid or made with an unknown key (\(checkpoint.keyID))")
            }
            if let last {
                if checkpoint.hour.timeIntervalSince(last.hour) != 3600 {
                    return AuditChainBreak(hour: last.hour.addingTimeInterval(3600), reason: "checkpoint is missing")
                }
                if checkpoint.seq < last.seq {
                    return AuditChainBreak(hour: checkpoint.hour, reason: "checkpoint signs seq \(checkpoint.seq), behind the previous hour's \(last.seq)")
                }
            }
            last = checkpoint
        }
        if let through, let newest = last, newest.hour < AuditChain.hour(of: through) {
            return AuditChainBreak(hour: newest.hour.addingTimeInterval(3600), reason: "checkpoint is missing (newest is \(newest.hour.ISO8601Format()))")
        }
        return nil
    }

    /// Verifies the next row; returns the first break found so far, if any.
    @discardableResult
    public mutating func consume(_ row: Row) -> AuditChainBreak? {
        guard broken == nil else { return broken }
        broken = check(row)
        if broken == nil { verifiedRows += 1 }
        return broken
    }

    private mutating func check(_ row: Row) -> AuditChainBreak? {
        let expectedPrevious: Data
        if let previous {
            guard row.seq == previous.seq + 1 else {
                return AuditChainBreak(seq: previous.seq + 1, reason: row.seq > previous.seq + 1 ? "event is missing (next stored is seq \(row.seq))" : "event out of order or duplicated (found seq \(row.seq))")
            }
            expectedPrevious = previous.hash
        } else if row.seq == 1 {
            expectedPrevious = AuditChain.genesis
        } else if let anchor = checkpoints.last(where: { $0.seq == row.seq - 1 }) {
            expectedPrevious = anchor.headHash
        } else {
            return AuditChainBreak(seq: row.seq - 1, reason: "events before seq \(row.seq) are missing and no signed checkpoint anchors seq \(row.seq - 1)")
        }
        guard row.prevHash == expectedPrevious else {
            return AuditChainBreak(seq: row.seq, reason: "prev_hash does not match the hash of seq \(row.seq - 1)")
        }
        let hash = AuditChain.hash(previous: expectedPrevious, canonicalJSON: row.record)
        guard hash == row.hash else { return AuditChainBreak(seq: row.seq, reason: "event was modified (hash does not match its content)") }
        guard let record = try? AuditRecord(canonicalJSON: row.record) else { return AuditChainBreak(seq: row.seq, reason: "record is not readable") }
        guard record.seq == row.seq, record.tenantID == tenant, record.region == region else {
            return AuditChainBreak(seq: row.seq, reason: "record names another position, tenant or region")
        }
        guard Columns(record: record) == row.columns else {
            return AuditChainBreak(seq: row.seq, reason: "indexed columns were modified (they differ from the chained record)")
        }
        if row.seq == 1, let received = try? Date(record.receivedAt, strategy: .iso8601),
           let first = checkpoints.first, first.hour > AuditChain.hour(of: received) {
            return AuditChainBreak(hour: AuditChain.hour(of: received), reason: "checkpoint is missing (the first event arrived in this hour)")
        }
        while let next = pending.first, next.seq <= row.seq {
            pending.removeFirst()
            if next.seq == row.seq, next.headHash != hash {
                return AuditChainBreak(seq: row.seq, hour: next.hour, reason: "checkpoint's signed head differs from the chain at seq \(row.seq)")
            }
        }
        previous = (row.seq, hash)
        return nil
    }

    /// Ends the verification: a checkpoint signing a sequence number beyond the last row means
    /// the tail of the log was deleted.
    public func finish() -> AuditChainBreak? {
        if let broken { return broken }
        let lastSeq = previous?.seq ?? 0
        if let beyond = pending.first(where: { $0.seq > lastSeq }) {
            return AuditChainBreak(seq: lastSeq + 1, hour: beyond.hour, reason: "checkpoint signs seq \(beyond.seq) but the log ends at seq \(lastSeq)")
        }
        return nil
    }
}

/// The first broken link of a chain: where it was found and why.
public struct AuditChainBreak: Error, Sendable, Equatable, CustomStringConvertible {
    /// The sequence number at fault, when a row is.
    public var seq: Int64?
    /// The checkpoint hour at fault, when a checkpoint is.
    public var hour: Date?
    public var reason: String

    public init(seq: Int64? = nil, hour: Date? = nil, reason: String) {
        self.seq = seq
        self.hour = hour
        self.reason = reason
    }

    public var description: String {
        let place = [seq.map { "seq \($0)" }, hour.map { "checkpoint \($0.ISO8601Format())" }].compactMap { $0 }.joined(separator: ", ")
        return "first broken link at \(place): \(reason)"
    }
}
