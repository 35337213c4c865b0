/// Lets only a few database provisionings and service start-ups (migrations) run at once. Swift
/// Testing starts the suites together; on a busy machine that many start-ups against one
/// PostgreSQL made some wait past their one-minute bound and report the database unreachable.
/// Queued here, each start-up's bound counts from when it is its turn.
actor StartupGate {
    static let shared = StartupGate(limit: 6)

    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private init(limit: Int) {
        self.limit = limit
    }

    /// Runs `body` when fewer than `limit` others are running.
    static func pass<R>(_ body: () async throws -> R) async throws -> R {
        await shared.enter()
        do {
            let result = try await body()
            await shared.leave()
            return result
        } catch {
            await shared.leave()
            throw error
        }
    }

    private func enter() async {
        guard running >= limit else {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the place to the next in line, or frees it.
    private func leave() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
