import Foundation
import Logging
import ServiceLifecycle

/// Audit's scheduled work, in audit's service group: checkpoints, anomaly rules and retention,
/// every `interval` (and shortly after start). Each part runs even if another failed; failures
/// are logged and retried on the next round. Replicas may run it at once: every part is
/// idempotent.
public struct AuditScheduler: Service {
    /// One named piece of scheduled work, given the current time.
    public struct Job: Sendable {
        public let name: String
        public let run: @Sendable (Date) async throws -> Void

        public init(name: String, run: @escaping @Sendable (Date) async throws -> Void) {
            self.name = name
            self.run = run
        }
    }

    let jobs: [Job]
    let interval: Duration
    let logger: Logger

    public init(jobs: [Job], interval: Duration = .seconds(300), logger: Logger) {
        self.jobs = jobs
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                try await Task.sleep(for: .seconds(2))
                while !Task.isCancelled {
                    await runOnce(now: .now)
                    try await Task.sleep(for: interval)
                }
            } catch {
                // Cancelled: the service group is stopping.
            }
        }
    }

    /// Runs every job once.
    public func runOnce(now: Date) async {
        for job in jobs {
            do {
                try await job.run(now)
            } catch {
                logger.error("audit.job.failed", metadata: ["job": "\(job.name)", "error.type": "\(type(of: error))"])
            }
        }
    }
}
