import Foundation
import RampartCore

/// A validated batch of events from one service: `{"events": [AuditEvent, …]}`, bounded in
/// count (and, by the request context, in bytes), every event checked before any is stored.
public struct EventBatch: Sendable {
    public static let maximumEvents = 500

    public let events: [AuditEvent]

    /// Actor types the issue names, plus `anonymous` for sign-in attempts naming no known user.
    static let actorTypes: Set<String> = ["admin", "agent", "customer", "api_key", "oauth_client", "system", "operator", "anonymous"]
    /// Change fields whose values are secrets by name; such an event is refused, not stored.
    static let secretFieldWords = ["password", "secret", "token", "private_key", "api_key_value", "recovery_code"]

    private struct Envelope: Decodable {
        var events: [AuditEvent]
    }

    /// Decodes and validates `body` for this audit instance's `region`.
    public init(json body: Data, region: Region, now: Date = .now) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let envelope: Envelope
        do {
            envelope = try decoder.decode(Envelope.self, from: body)
        } catch let error as DecodingError {
            throw Self.problem(for: error)
        } catch {
            throw AuditError.malformedBatch("The body is not JSON.")
        }
        guard !envelope.events.isEmpty else { throw AuditError.malformedBatch("The batch holds no event.") }
        guard envelope.events.count <= Self.maximumEvents else {
            throw AuditError.malformedBatch("A batch holds at most \(Self.maximumEvents) events.")
        }
        for (index, event) in envelope.events.enumerated() {
            try Self.validate(event, at: "events[\(index)]", region: region, now: now)
        }
        events = envelope.events
    }

    static func validate(_ event: AuditEvent, at path: String, region: Region, now: Date) throws {
        func fail(_ field: String, _ message: String) -> AuditError { .invalidEvent(field: "\(path).\(field)", message: message) }
        func bounded(_ value: String?, _ field: String, _ limit: Int, required: Bool = false) throws {
            guard let value else {
                if required { throw fail(field, "is required") }
                return
            }
            guard !(required && value.isEmpty), value.count <= limit else { throw fail(field, required ? "must be 1 to \(limit) characters" : "must be at most \(limit) characters") }
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw fail(field, "must not contain control characters") }
        }
        guard event.id.uuid.6 >> 4 == 7 else { throw fail("id", "must be a UUIDv7") }
        guard event.region == region else { throw fail("region", "must be this region (\(region))") }
        guard event.occurredAt <= now.addingTimeInterval(300) else { throw fail("occurred_at", "is in the future") }
        guard Self.actorTypes.contains(event.actor.type) else { throw fail("actor.type", "must be one of \(Self.actorTypes.sorted().joined(separator: ", "))") }
        try bounded(event.actor.id, "actor.id", 200, required: true)
        try bounded(event.actor.displayName, "actor.display_name", 300)
        try bounded(event.actor.ip, "actor.ip", 64)
        try bounded(event.actor.userAgent, "actor.user_agent", 512)
        try bounded(event.actor.sessionID, "actor.session_id", 200)
        try bounded(event.actor.authenticationMethod, "actor.authentication_method", 50)
        guard event.action.count <= 100, event.action.range(of: #"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"#, options: .regularExpression) != nil else {
            throw fail("action", "must be a dotted lowercase verb such as user.created")
        }
        try bounded(event.resource.type, "resource.type", 100, required: true)
        try bounded(event.resource.id, "resource.id", 200, required: true)
        try bounded(event.resource.label, "resource.label", 300)
        guard ["success", "failure"].contains(event.outcome) else { throw fail("outcome", "must be success or failure") }
        guard ["ui", "api", "system"].contains(event.source) else { throw fail("source", "must be ui, api or system") }
        try bounded(event.requestID, "request_id", 100)
        try bounded(event.attestation, "attestation", 16_000)
        if event.attestation != nil, event.action != EventStore.deletionCertificateAction {
            throw fail("attestation", "is carried only by \(EventStore.deletionCertificateAction) events")
        }
        if let changes = event.changes {
            guard changes.count <= 50 else { throw fail("changes", "holds at most 50 fields") }
            for (field, values) in changes {
                try bounded(field, "changes", 100, required: true)
                let lowered = field.lowercased()
                guard !Self.secretFieldWords.contains(where: { lowered.contains($0) }) else {
                    throw fail("changes.\(field)", "names a secret; record that it changed, never its value")
                }
                guard values.count == 2 else { throw fail("changes.\(field)", "must be [from, to]") }
                for value in values { try bounded(value, "changes.\(field)", 2000) }
            }
        }
    }

    /// A decoding failure as a problem naming the field, never echoing the value.
    static func problem(for error: DecodingError) -> AuditError {
        func path(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return context.codingPath.isEmpty ? .malformedBatch("The body must be {\"events\": [...]}.") : .invalidEvent(field: path(context, key), message: "is required")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return context.codingPath.isEmpty ? .malformedBatch("The body must be {\"events\": [...]}.") : .invalidEvent(field: path(context), message: "has the wrong type")
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? .malformedBatch("The body is not JSON.") : .invalidEvent(field: path(context), message: "is not valid (dates are ISO 8601, ids UUIDs)")
        @unknown default:
            return .malformedBatch("The body could not be read.")
        }
    }
}
