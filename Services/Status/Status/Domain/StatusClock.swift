import Foundation

/// Where the status service reads the time: the system clock in production, a set time in tests,
/// so uptime days, maintenance windows and history are exact.
public protocol StatusClock: Sendable {
    func now() -> Date
}

/// The system's wall clock.
public struct SystemClock: StatusClock {
    public init() {}
    public func now() -> Date { Date() }
}
