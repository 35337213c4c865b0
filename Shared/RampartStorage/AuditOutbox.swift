import Foundation
import Logging
import PostgresNIO
import RampartCore

/// Writes audit events to the service's `outbox_events` table inside the caller's transaction,
/// so an event exists exactly when the change it records was committed.
public enum AuditOutbox {
    public static func append(_ event: AuditEvent, on connection: PostgresConnection, logger: Logger) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(event), as: UTF8.self)
        try await connection.query("""
            INSERT INTO outbox_events (id, tenant_id, occurred_at, event)
            VALUES (\(event.id), \(event.tenantID.rawValue), \(event.occurredAt), \(json)::jsonb)
            """, logger: logger)
    }
}
