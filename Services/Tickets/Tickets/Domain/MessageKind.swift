/// A public reply (seen by the customer) or an internal note (staff only).
public enum MessageKind: String, Codable, Sendable, CaseIterable {
    case reply
    case note
}

/// How a message body is written: plain text, or HTML that is sanitized before it is stored.
enum MessageFormat: String, Codable, Sendable, CaseIterable {
    case text
    case html
}
