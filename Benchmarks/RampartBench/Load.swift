import Foundation

/// What one bounded load run measured: every request's latency, over the run's wall time.
struct LoadResult: Sendable {
    var latencies: [Duration]
    var elapsed: Duration
    var concurrency: Int

    var requests: Int { latencies.count }
    var seconds: Double { Load.seconds(elapsed) }
    var perSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    /// The latency at `quantile` (0…1) in milliseconds; 0 when nothing was measured.
    func milliseconds(_ quantile: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        return Load.seconds(latencies[min(latencies.count - 1, Int(Double(latencies.count) * quantile))]) * 1e3
    }
}

/// A closed-loop load generator: `concurrency` workers each send the next request as soon as
/// the last answered, until `seconds` have passed; a failed request ends the run with its error.
enum Load {
    static func run(concurrency: Int, seconds: Int, _ request: @escaping @Sendable (_ worker: Int) async throws -> Void) async throws -> LoadResult {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var latencies: [Duration] = []
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        try await request(worker)
                        latencies.append(ContinuousClock.now - begin)
                    }
                    return latencies
                }
            }
            var all: [Duration] = []
            for try await latencies in group { all += latencies }
            return all.sorted()
        }
        return LoadResult(latencies: latencies, elapsed: ContinuousClock.now - started, concurrency: concurrency)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
