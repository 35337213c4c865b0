import Logging
import RampartCore
import ServiceLifecycle

/// Work a service repeats for as long as it runs: sweeps, schedules, checks.
public enum Periodic {
    /// Runs `work` at once and then every `interval` after the previous run ended, until the
    /// service group shuts down gracefully (a run in progress is cancelled then). `work` handles
    /// its own failures: one bad run never ends the loop.
    public static func run(every interval: Duration, _ work: @escaping @Sendable () async -> Void) async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await work()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One run of a per-tenant sweep: `sweep` for every tenant `tenants` lists, each on its own.
    /// A tenant that fails is logged (`{name}.sweep_failed`) and tried again on the next run
    /// without holding up the others; a list that cannot be read is logged
    /// (`{name}.tenants_unreadable`) and ends the run.
    public static func eachTenant(_ name: String, logger: Logger, tenants: () async throws -> [TenantID],
                                  _ sweep: (TenantID) async throws -> Void) async {
        let all: [TenantID]
        do {
            all = try await tenants()
        } catch {
            logger.error("\(name).tenants_unreadable", metadata: ["error.type": "\(type(of: error))"])
            return
        }
        for tenant in all {
            do {
                try await sweep(tenant)
            } catch {
                logger.error("\(name).sweep_failed", metadata: ["tenant.id": "\(tenant)", "error.type": "\(type(of: error))"])
            }
        }
    }
}
