import Foundation

/// The live, in-memory state of every component: its hysteresis and what the page shows. It
/// keeps working when the service's own database does not, so the page still reflects the
/// latest probes.
public actor ComponentBoard {
    private var states: [Component: Hysteresis]
    /// When the last probe round finished; `nil` before the first.
    public private(set) var lastRound: Date?

    public init(components: [Component], confirmations: Int) {
        states = Dictionary(uniqueKeysWithValues: components.map { ($0, Hysteresis(confirmations: confirmations)) })
    }

    /// Records one round of results; returns the published status of each component.
    public func record(_ observed: [Component: ComponentStatus], at time: Date) -> [Component: ComponentStatus] {
        var published: [Component: ComponentStatus] = [:]
        for (component, status) in observed {
            var state = states[component] ?? Hysteresis(confirmations: 1)
            published[component] = state.record(status)
            states[component] = state
        }
        lastRound = time
        return published
    }

    /// What the page shows for each probed component (components not yet probed are absent).
    public func published() -> [Component: ComponentStatus] {
        states.compactMapValues(\.published)
    }
}
