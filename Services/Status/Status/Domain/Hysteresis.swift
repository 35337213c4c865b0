/// Turns raw probe results into the status the page publishes, so one slow or failed probe does
/// not flap the page: the published status moves only when the last `confirmations` results all
/// lie on the same side of it, and then only as far as the mildest (when worsening) or the worst
/// (when improving) of them.
public struct Hysteresis: Sendable, Equatable {
    public let confirmations: Int
    /// The newest results, oldest first, at most `confirmations` of them.
    public private(set) var recent: [ComponentStatus] = []
    /// What the page shows; `nil` until the first result arrives.
    public private(set) var published: ComponentStatus?

    public init(confirmations: Int, published: ComponentStatus? = nil) {
        self.confirmations = max(1, confirmations)
        self.published = published
    }

    /// Records one probe result and returns the status to publish.
    @discardableResult
    public mutating func record(_ observed: ComponentStatus) -> ComponentStatus {
        recent.append(observed)
        if recent.count > confirmations { recent.removeFirst(recent.count - confirmations) }
        guard let current = published else {
            // Nothing shown yet: the first result is the best knowledge there is.
            published = observed
            return observed
        }
        guard recent.count == confirmations else { return current }
        if recent.allSatisfy({ $0 > current }), let mildest = recent.min() {
            published = mildest
        } else if recent.allSatisfy({ $0 < current }), let worst = recent.max() {
            published = worst
        }
        return published ?? observed
    }
}
