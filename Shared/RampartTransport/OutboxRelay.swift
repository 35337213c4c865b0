import Foundation
import Logging
import Metrics
import NIOHTTP1
import PostgresNIO
import RampartCore
import RampartStorage
import ServiceLifecycle
import Synchronization

/// Drains a service's `outbox_events` to the region's audit service, so an audit outage loses
/// nothing and never blocks a user's request (requests only ever write the outbox row).
///
/// Each round, in one transaction as the relay's own database role: the oldest rows are locked
/// with `FOR UPDATE SKIP LOCKED` (replicas take disjoint rows), posted to audit's
/// `POST /internal/v1/events` over mutual TLS, and deleted only once audit acknowledged them.
/// A crash or timeout between the two leaves the rows in place; audit recognises the resent ids
/// as duplicates. Failures back off exponentially. An event audit refuses outright (malformed,
/// unknown tenant, too large) is isolated by resending the batch one by one and set aside for
/// ``Settings/parkDuration`` before it is tried again, so it cannot hold up the others; it stays
/// in the outbox and in the `rampart_outbox_events_refused_total` metric until it is accepted.
public struct OutboxRelay: Service {
    /// Batch sizes and timings.
    public struct Settings: Sendable {
        public var batchSize = 100
        /// Audit refuses bodies over 1 MiB; batches stop growing at half of that.
        public var maximumBatchBytes = 512 * 1024
        /// How long to wait when the outbox is empty.
        public var idleInterval: Duration = .milliseconds(500)
        public var initialBackoff: Duration = .milliseconds(500)
        public var maximumBackoff: Duration = .seconds(30)
        /// How long an event audit refused is left aside before it is offered again.
        public var parkDuration: Duration = .seconds(300)

        public init() {}
    }

    let database: DatabaseURL
    let eventsURL: String
    let tls: InternalTLS
    let logger: Logger
    let settings: Settings
    private let parked = ParkedEvents()

    public init(database: DatabaseURL, auditURL: String, tls: InternalTLS, logger: Logger, settings: Settings = Settings()) {
        self.database = database
        self.eventsURL = auditURL + "/internal/v1/events"
        self.tls = tls
        var logger = logger
        logger[metadataKey: "component"] = "outbox.relay"
        self.logger = logger
        self.settings = settings
    }

    /// The relay of `runtime`'s service as its configuration describes it, or none (logged as a
    /// warning: events then wait in the outbox) when the outbox database or audit URL is not set.
    public static func services(for runtime: ServiceRuntime, settings: Settings = Settings()) -> [any Service] {
        guard let database = runtime.config.outboxDatabase, let auditURL = runtime.config.auditURL else {
            runtime.logger.warning("outbox.relay.disabled", metadata: ["reason": "RAMPART_OUTBOX_DATABASE_URL or RAMPART_AUDIT_URL not set"])
            return []
        }
        return [OutboxRelay(database: database, auditURL: auditURL, tls: runtime.tls, logger: runtime.logger, settings: settings)]
    }

    public func run() async throws {
        let client = PostgresClient(configuration: Database.configuration(for: database, maximumConnections: 2), backgroundLogger: logger)
        let http = InternalClient(tls: tls, timeout: .init(connect: .seconds(5), read: .seconds(20)))
        try await client.whileRunning {
            await cancelWhenGracefulShutdown {
                await relayUntilCancelled(client: client, http: http)
            }
        }
        logger.debug("outbox.relay.stopping")
        try? await http.shutdown()
        logger.debug("outbox.relay.stopped")
    }

    /// Rounds back to back while there is work, pausing when idle and backing off on failure.
    private func relayUntilCancelled(client: PostgresClient, http: InternalClient) async {
        var backoff = settings.initialBackoff
        while !Task.isCancelled {
            do {
                let taken = try await relayOneBatch(client: client, http: http)
                backoff = settings.initialBackoff
                if taken == 0 { try await Task.sleep(for: settings.idleInterval) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("outbox.relay.failed", metadata: ["error.type": "\(type(of: error))", "retry_in": "\(backoff)"])
                Counter(label: "rampart_outbox_relay_failures_total").increment()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, settings.maximumBackoff)
            }
        }
    }

    /// One round; returns how many rows it took from the outbox (delivered or not).
    func relayOneBatch(client: PostgresClient, http: InternalClient) async throws -> Int {
        let skip = parked.current()
        return try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query("""
                SELECT id, event::text FROM outbox_events
                WHERE NOT (id = ANY(\(skip)))
                ORDER BY occurred_at, id
                LIMIT \(settings.batchSize)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var batch: [(id: UUID, json: String)] = []
            var bytes = 0
            for try await (id, json) in rows.decode((UUID, String).self) {
                // Rows past the byte bound stay locked until commit and go in the next round.
                if !batch.isEmpty && bytes + json.utf8.count > settings.maximumBatchBytes { continue }
                batch.append((id, json))
                bytes += json.utf8.count
            }
            guard !batch.isEmpty else { return 0 }
            var delivered: [UUID] = []
            switch try await post(batch.map(\.json), http: http) {
            case .accepted:
                delivered = batch.map(\.id)
            case .refused(let status):
                // Find the refused event(s): one at a time, keeping every one audit takes.
                for event in batch {
                    if case .accepted = try await post([event.json], http: http) {
                        delivered.append(event.id)
                    } else {
                        parked.park(event.id, until: .now + settings.parkDuration)
                        Counter(label: "rampart_outbox_events_refused_total").increment()
                        logger.error("outbox.event.refused", metadata: ["event.id": "\(event.id)", "http.status": "\(status)"])
                    }
                }
            }
            if !delivered.isEmpty {
                try await connection.query("DELETE FROM outbox_events WHERE id = ANY(\(delivered))", logger: logger)
                Counter(label: "rampart_outbox_events_delivered_total").increment(by: delivered.count)
            }
            return batch.count
        }
    }

    enum Delivery { case accepted, refused(status: Int) }

    /// Posts events (each already a JSON object) in one envelope. A refusal of the content is
    /// returned; anything that may pass on retry (network, 5xx, 408, 429) throws.
    private func post(_ events: [String], http: InternalClient) async throws -> Delivery {
        let body = Data(("{\"events\":[" + events.joined(separator: ",") + "]}").utf8)
        let reply = try await http.send(.POST, url: eventsURL, body: body, maximumBodyBytes: 64 * 1024)
        switch reply.status {
        case 200..<300: return .accepted
        case 408, 429, 500...: throw AuditUnavailable(status: reply.status)
        default: return .refused(status: reply.status)
        }
    }
}

/// Audit answered with a status that may pass on retry.
struct AuditUnavailable: Error {
    let status: Int
}

/// Events audit refused, each left aside until a moment; bounded so it cannot grow without limit.
final class ParkedEvents: Sendable {
    private let entries = Mutex<[UUID: ContinuousClock.Instant]>([:])
    private static let capacity = 10_000

    /// The ids still set aside now.
    func current() -> [UUID] {
        entries.withLock { entries in
            let now = ContinuousClock.now
            entries = entries.filter { $0.value > now }
            return Array(entries.keys)
        }
    }

    func park(_ id: UUID, until instant: ContinuousClock.Instant) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[id] = instant
        }
    }
}
