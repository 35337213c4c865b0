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
}
