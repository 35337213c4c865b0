import Foundation
import Logging
import RampartCore
import RampartTransport
import ServiceLifecycle

/// Delivers every incident and maintenance write taken here to every other region's status
/// instance (`POST /internal/v1/replica/incidents`), retrying with backoff until each accepts it.
/// Receivers apply copies idempotently by id and revision, so a repeated delivery is harmless.
public struct Replicator: Service {
    let incidents: IncidentRepository
    let client: InternalClient
    /// Each peer region's status instance.
    let peers: [Region: String]
    let clock: any StatusClock
    let pollInterval: Duration
    let logger: Logger

    public init(incidents: IncidentRepository, client: InternalClient, peers: [Region: String], clock: any StatusClock,
                pollInterval: Duration = .seconds(2), logger: Logger) {
        self.incidents = incidents
        self.client = client
        self.peers = peers
        self.clock = clock
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// The path receivers take copies on.
    public static let path = "/internal/v1/replica/incidents"

    /// The wire form of a copy: exact timestamps, so every copy compares the same.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

    public func run() async throws {
        await Periodic.run(every: pollInterval) { await self.deliverDue() }
        try await client.shutdown()
    }

    /// Attempts every delivery due now; returns how many were accepted.
    @discardableResult
    public func deliverDue() async -> Int {
        let now = clock.now()
        let due: [IncidentRepository.Delivery]
        do {
            due = try await incidents.dueDeliveries(now: now)
        } catch {
            logger.warning("replication.outbox_unreadable", metadata: ["error.type": "\(type(of: error))"])
            return 0
        }
        var delivered = 0
        for delivery in due {
            let accepted = await send(delivery)
            if accepted { delivered += 1 }
            do {
                try await incidents.settle(delivery, delivered: accepted, retryAt: now.addingTimeInterval(Self.backoff(attempts: delivery.attempts)))
            } catch {
                logger.warning("replication.settle_failed", metadata: ["error.type": "\(type(of: error))"])
            }
        }
        return delivered
    }

    /// Seconds before the next attempt: 1, 2, 4 … up to five minutes.
    static func backoff(attempts: Int) -> TimeInterval {
        min(300, pow(2, Double(min(attempts, 9))))
    }

    private func send(_ delivery: IncidentRepository.Delivery) async -> Bool {
        guard let base = peers[delivery.target] else { return false }
        do {
            guard let incident = try await incidents.find(id: delivery.incidentID) else { return false }
            let reply = try await client.send(.POST, url: base + Self.path, body: try Self.encoder.encode(incident))
            if !(200..<300).contains(reply.status) {
                logger.warning("replication.refused", metadata: ["target.region": "\(delivery.target)", "http.status": "\(reply.status)"])
            }
            return (200..<300).contains(reply.status)
        } catch {
            logger.info("replication.unreachable", metadata: ["target.region": "\(delivery.target)", "error.type": "\(type(of: error))"])
            return false
        }
    }
}
