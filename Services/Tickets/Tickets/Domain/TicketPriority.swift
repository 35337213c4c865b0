/// How urgent a ticket is; `normal` unless set.
public enum TicketPriority: String, Codable, Sendable, CaseIterable {
    case low
    case normal
    case high
    case urgent
}
