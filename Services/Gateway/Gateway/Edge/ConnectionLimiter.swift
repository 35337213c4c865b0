import Synchronization

/// Concurrent connections per client address, bounded: one address cannot take every connection.
public final class ConnectionLimiter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    public let maximumPerAddress: Int

    public init(maximumPerAddress: Int) {
        self.maximumPerAddress = maximumPerAddress
    }

    /// Counts a new connection from `address`; `false` (and nothing counted) when it is over the limit.
    public func open(_ address: String) -> Bool {
        counts.withLock { counts in
            let current = counts[address, default: 0]
            guard current < maximumPerAddress else { return false }
            counts[address] = current + 1
            return true
        }
    }

    /// Forgets one connection from `address` (entries of idle addresses are removed: memory stays bounded).
    public func close(_ address: String) {
        counts.withLock { counts in
            let remaining = counts[address, default: 1] - 1
            counts[address] = remaining > 0 ? remaining : nil
        }
    }
}
