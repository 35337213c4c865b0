import Foundation
import Logging
import Metrics
import RampartCore
import RampartTransport
import ServiceLifecycle
import Synchronization

/// Puts the WAF's findings on tenant hosts (blocks, and detection-only hits that reached the
/// threshold) in the tenant's audit log. The gateway has no database, so it cannot use an outbox:
/// the request path only appends to a bounded in-memory queue (never waits, never does I/O), and
/// this service delivers the queue in the background to the region's audit
/// (`POST /internal/v1/events` over mutual TLS, batched), retrying with backoff while audit or
/// identity is unreachable. A full queue drops the finding (logged, counted in
/// `rampart_gateway_waf_audit_dropped_total`); the `waf.blocked` JSON log line written on the
/// request path stays the durable record. Event ids are fixed when the request is seen, so a
/// batch resent after a lost answer is counted by audit as duplicates.
public final class WAFAuditTrail: Service, Sendable {
    /// Queue bound, batch size and retry timings.
    public struct Settings: Sendable {
        /// Findings held at most while audit is unreachable.
        public var capacity = 10_000
        public var batchSize = 100
        public var initialBackoff: Duration = .milliseconds(500)
        public var maximumBackoff: Duration = .seconds(30)

        public init() {}
    }

    private let pending = Mutex<[WAFAuditRecord]>([])
    private let droppedTotal = Atomic<Int>(0)
    private let wake: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation
    private let upstreams: Upstreams
    private let directory: TenantDirectory
    private let settings: Settings
    private let logger: Logger

    init(upstreams: Upstreams, settings: Settings = Settings(), logger: Logger) {
        (wake, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.upstreams = upstreams
        directory = TenantDirectory(upstreams: upstreams)
        self.settings = settings
        var logger = logger
        logger[metadataKey: "component"] = "waf.audit"
        self.logger = logger
    }

    /// Queues a finding for delivery; called on the request path, so it only appends (or drops).
    func record(_ record: WAFAuditRecord) {
        let queued = pending.withLock { queue in
            guard queue.count < settings.capacity else { return false }
            queue.append(record)
            return true
        }
        if queued { wakeUp.yield() } else { drop([record], reason: "queue_full") }
    }

    /// Findings dropped since start (queue full, unknown tenant, refused by audit).
    var dropped: Int { droppedTotal.load(ordering: .relaxed) }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.deliverUntilCancelled() }
        let left = pending.withLock { $0.count }
        if left > 0 { logger.warning("waf.audit.undelivered_at_shutdown", metadata: ["waf.audit.pending": "\(left)"]) }
    }

    /// Delivers batches while there are findings, backing off while delivery fails.
    private func deliverUntilCancelled() async {
        var backoff = settings.initialBackoff
        for await _ in wake {
            while !Task.isCancelled {
                let batch = pending.withLock { Array($0.prefix(settings.batchSize)) }
                guard !batch.isEmpty else { break }
                var finished = Set<UUID>()
                var failed = false
                for (region, records) in Dictionary(grouping: batch, by: \.region) {
                    do {
                        finished.formUnion(try await deliver(records, to: region))
                    } catch {
                        failed = true
                        logger.warning("waf.audit.delivery_failed", metadata: ["region": "\(region)", "error.type": "\(type(of: error))", "retry_in": "\(backoff)"])
                    }
                }
                pending.withLock { $0.removeAll { finished.contains($0.id) } }
                guard failed else {
                    backoff = settings.initialBackoff
                    continue
                }
                do { try await Task.sleep(for: backoff) } catch { return }
                backoff = min(backoff * 2, settings.maximumBackoff)
            }
        }
    }

    /// Sends `records` of one region; returns the ids that are done with (delivered, or dropped
    /// for good: unknown tenant, refused by audit). Throws when it may pass on a later try.
    private func deliver(_ records: [WAFAuditRecord], to region: Region) async throws -> [UUID] {
        guard let upstream = upstreams.regions[region], let audit = upstream.endpoints[.audit] else {
            drop(records, reason: "no_audit_endpoint")
            return records.map(\.id)
        }
        var events: [(record: WAFAuditRecord, event: AuditEvent)] = []
        var unknown: [WAFAuditRecord] = []
        var answers: [TenantSlug: TenantDirectory.Answer] = [:]
        for record in records {
            let answer: TenantDirectory.Answer
            if let known = answers[record.tenant] { answer = known } else { answer = try await directory.lookUp(record.tenant, in: region) }
            answers[record.tenant] = answer
            switch answer {
            case .tenant(let id): events.append((record, record.event(tenantID: id)))
            case .unknown: unknown.append(record)
            }
        }
        if !unknown.isEmpty { drop(unknown, reason: "unknown_tenant") }
        guard !events.isEmpty else { return records.map(\.id) }
        let url = audit + "/internal/v1/events"
        if try await post(events.map(\.event), to: url, client: upstream.client) {
            Counter(label: "rampart_gateway_waf_audit_delivered_total").increment(by: events.count)
            return records.map(\.id)
        }
        // Audit refused the batch's content: find the event(s) it refuses, keep the others.
        for (record, event) in events {
            if try await post([event], to: url, client: upstream.client) {
                Counter(label: "rampart_gateway_waf_audit_delivered_total").increment()
            } else {
                drop([record], reason: "refused")
            }
        }
        return records.map(\.id)
    }

    /// Posts one batch: `true` when audit took it, `false` when it refused the content (4xx);
    /// throws on anything that may pass on retry (network, 5xx, 408, 429).
    private func post(_ events: [AuditEvent], to url: String, client: InternalClient) async throws -> Bool {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let reply = try await client.send(.POST, url: url, body: try encoder.encode(Batch(events: events)), maximumBodyBytes: 64 * 1024)
        switch reply.status {
        case 200..<300: return true
        case 408, 429, 500...: throw AuditUnavailable(status: reply.status)
        default: return false
        }
    }

    /// Counts and logs findings that will not reach audit (the `waf.blocked` line stays).
    private func drop(_ records: [WAFAuditRecord], reason: String) {
        droppedTotal.add(records.count, ordering: .relaxed)
        Counter(label: "rampart_gateway_waf_audit_dropped_total", dimensions: [("reason", reason)]).increment(by: records.count)
        for record in records {
            logger.warning("waf.audit.dropped", metadata: ["request.id": "\(record.requestID)", "tenant.slug": "\(record.tenant)", "reason": "\(reason)"])
        }
    }

    /// Audit's ingestion body.
    private struct Batch: Encodable {
        var events: [AuditEvent]
    }

    /// Audit answered with a status that may pass on retry.
    struct AuditUnavailable: Error {
        let status: Int
    }
}
