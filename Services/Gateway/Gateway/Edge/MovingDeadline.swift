import NIOCore

/// A deadline that events keep moving and one scheduled check watches: moving it only sets it,
/// and a check that runs before the deadline schedules itself again at it, so a request or a
/// body piece costs no timer of its own. `expired` runs once the deadline passes unmoved. Used
/// on `eventLoop` only; ``stop()`` ends it and lets go of `expired` and what that holds.
final class MovingDeadline {
    private let eventLoop: any EventLoop
    private var expired: (() -> Void)?
    private var at: NIODeadline?
    private var check: Scheduled<Void>?
    private var checkAt = NIODeadline.distantFuture

    init(on eventLoop: any EventLoop, expired: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.expired = expired
    }

    /// Expires `timeout` from now, unless moved or cleared before.
    func move(by timeout: TimeAmount) {
        move(to: NIODeadline.now() + timeout)
    }

    /// Expires at `next` (at once when that has passed), unless moved or cleared before.
    func move(to next: NIODeadline) {
        at = next
        if check == nil || next < checkAt { schedule(next) }
    }

    /// Nothing is waited for now: a pending check finds no deadline and ends.
    func clear() {
        at = nil
    }

    /// Ends the deadline for good.
    func stop() {
        at = nil
        expired = nil
        check?.cancel()
        check = nil
    }

    private func schedule(_ deadline: NIODeadline) {
        check?.cancel()
        checkAt = deadline
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        check = eventLoop.scheduleTask(deadline: deadline) { bound.value.run() }
    }

    private func run() {
        check = nil
        guard let at else { return }
        guard at <= .now() else { return schedule(at) }
        self.at = nil
        expired?()
    }
}
