/// Where a ticket stands. `closed` is final; nothing returns to `new`.
public enum TicketStatus: String, Codable, Sendable, CaseIterable {
    case new
    case open
    case awaitingCustomer = "awaiting_customer"
    case awaitingAgent = "awaiting_agent"
    case resolved
    case closed

    /// The statuses a ticket may move to from this one.
    var allowedNext: Set<TicketStatus> {
        switch self {
        case .new, .open, .awaitingCustomer, .awaitingAgent:
            Set(Self.allCases).subtracting([.new, self])
        case .resolved: [.open, .awaitingAgent, .closed]
        case .closed: []
        }
    }

    /// Whether a change to `next` is allowed (staying put always is).
    func canMove(to next: TicketStatus) -> Bool {
        next == self || allowedNext.contains(next)
    }

    /// The status after a public reply: the customer answered (or reopened a resolved ticket),
    /// or staff answered a customer. Notes never change the status.
    func afterReply(byStaff: Bool) -> TicketStatus {
        switch (self, byStaff) {
        case (.closed, _): .closed
        case (_, false): self == .new ? .new : .awaitingAgent
        case (.resolved, true): .resolved
        case (_, true): .awaitingCustomer
        }
    }
}
