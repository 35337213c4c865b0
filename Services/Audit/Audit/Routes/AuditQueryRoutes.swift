import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartTransport

/// The tenant admin's API under `/api/v1/audit` (through the gateway, with a principal holding
/// `audit:read`): events with filters and cursor pagination, exports (CSV, JSON Lines; each
/// export is itself an audited event), agent activity, alerts and their acknowledgement, and the
/// tenant's audit settings (changing them needs `security:write`).
struct AuditQueryRoutes: Sendable {
    let store: EventStore
    let alerts: AlertRepository
    let activity: ActivityReport
    let settings: SettingsRepository

    /// The most events one export holds; narrow the filter for more.
    static let maximumExport = 50_000

    struct Page<Item: Encodable>: Encodable {
        struct Meta: Encodable {
            var count: Int
            var limit: Int
        }

        struct Links: Encodable {
            var next: String?
        }

        var data: [Item]
        var meta: Meta
        var links: Links
    }

    func register(on router: Router<ServiceRequestContext>) {
        let group = router.group("/api/v1/audit", context: AuthenticatedContext.self)
        group.get("/events") { request, context -> Response in
            let principal = try AuditRequest.requireReader(context)
            return try await AuditRequest.run {
                let query = request.uri.queryParameters
                let filter = try EventFilter(query: query)
                let limit = try Self.limit(query)
                let before = try Self.cursor(query)
                let events = try await store.events(tenant: principal.tenantID, filter: filter, before: before, limit: limit + 1)
                let data = Array(events.prefix(limit))
                let next = events.count > limit ? data.last.map { last in
                    "/api/v1/audit/events?" + (filter.queryItems(query) + ["limit=\(limit)", "cursor=\(Self.cursor(after: last))"]).joined(separator: "&")
                } : nil
                return try AuditRequest.json(Page(data: data, meta: .init(count: data.count, limit: limit), links: .init(next: next)))
            }
        }
        group.get("/events/export") { request, context -> Response in
            let principal = try AuditRequest.requireReader(context)
            return try await AuditRequest.run {
                let query = request.uri.queryParameters
                let filter = try EventFilter(query: query)
                guard let format = ExportFormat(rawValue: query.get("format") ?? "jsonl") else {
                    throw AuditError.invalidQuery(field: "format", message: "must be csv or jsonl")
                }
                // The export is recorded before any event leaves: a failed export still shows it was asked for.
                try await store.database.withTenant(principal.tenantID) { connection in
                    try await store.record(AuditEvent(
                        tenantID: principal.tenantID, region: store.region, actor: AuditRequest.actor(principal), action: "audit.exported",
                        resource: .init(type: "audit_log", id: principal.tenantID.description, label: format.rawValue),
                        changes: ["filter": [nil, filter.queryItems(query).joined(separator: "&")]], requestID: context.requestID, source: "api"
                    ), on: connection)
                }
                var lines: [String] = format == .csv ? [EventView.csvHeader] : []
                var before: Int64?
                var exported = 0
                let encoder = AuditChain.encoder()
                while exported < Self.maximumExport {
                    let page = try await store.events(tenant: principal.tenantID, filter: filter, before: before, limit: min(1000, Self.maximumExport - exported))
                    for event in page {
                        lines.append(format == .csv ? event.csvLine : String(decoding: try encoder.encode(event), as: UTF8.self))
                    }
                    exported += page.count
                    guard page.count == 1000, let last = page.last else { break }
                    before = last.seq
                }
                let body = lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
                return Response(status: .ok, headers: [
                    .contentType: format.mediaType, .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"audit-events.\(format.rawValue)\"",
                ], body: .init(byteBuffer: ByteBuffer(string: body)))
            }
        }
        group.get("/activity") { request, context -> Response in
            let principal = try AuditRequest.requireReader(context)
            return try await AuditRequest.run {
                let query = request.uri.queryParameters
                let to = try Self.date(query, "to") ?? .now
                let from = try Self.date(query, "from") ?? to.addingTimeInterval(-7 * 86400)
                guard from < to, to.timeIntervalSince(from) <= ActivityReport.maximumRange else {
                    throw AuditError.invalidQuery(field: "from", message: "must be before to, at most 31 days earlier")
                }
                let agent = query.get("agent")
                let days = try await activity.days(tenant: principal.tenantID, from: from, to: to, agent: agent)
                return try AuditRequest.json(Page(data: days, meta: .init(count: days.count, limit: days.count), links: .init(next: nil)))
            }
        }
        group.get("/alerts") { request, context -> Response in
            let principal = try AuditRequest.requireReader(context)
            return try await AuditRequest.run {
                let query = request.uri.queryParameters
                let status = try Self.alertStatus(query)
                let limit = try Self.limit(query)
                let found = try await alerts.list(tenant: principal.tenantID, status: status, before: try Self.alertCursor(query), limit: limit + 1)
                let data = Array(found.prefix(limit))
                let next = found.count > limit ? data.last.map {
                    "/api/v1/audit/alerts?status=\(status.rawValue)&limit=\(limit)&cursor=\(Self.cursor(after: $0))"
                } : nil
                return try AuditRequest.json(Page(data: data, meta: .init(count: data.count, limit: limit), links: .init(next: next)))
            }
        }
        group.post("/alerts/{id}/acknowledge") { _, context -> Response in
            let principal = try AuditRequest.requireReader(context)
            return try await AuditRequest.run {
                guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw AuditError.alertNotFound }
                let alert = try await alerts.acknowledge(id, tenant: principal.tenantID, actor: AuditRequest.actor(principal), requestID: context.requestID)
                return try AuditRequest.json(alert)
            }
        }
        group.get("/settings") { _, context -> Response in
            let principal = try AuditRequest.requireReader(context)
            return try Self.settingsResponse(try await settings.settings(tenant: principal.tenantID))
        }
        group.put("/settings") { request, context -> Response in
            let principal = try AuditRequest.requireReader(context)
            guard principal.has(scope: "security:write") else {
                throw AuditError.permissionDenied("Changing audit settings needs the admin.security permission.").problem
            }
            let admits = try EntityTag.check(request.headers, mismatch: Self.changedMeanwhile)
            return try await AuditRequest.run {
                // Read as every service reads JSON (and as the gateway's WAF inspected it): exactly
                // application/json, UTF-8 without a byte-order mark; 415, 413 or 400 otherwise.
                let wanted = try await JSONRequestBody.decode(TenantAuditSettings.self, from: request, limit: 16 * 1024, decoder: JSONDecoder())
                let stored = try await settings.update(wanted, tenant: principal.tenantID, actor: AuditRequest.actor(principal),
                                                       requestID: context.requestID, store: store) { try admits($0.version) }
                return try Self.settingsResponse(stored)
            }
        }
    }

    /// `settings` as an answer with their version as the `ETag`.
    static func settingsResponse(_ settings: TenantAuditSettings) throws -> Response {
        var response = try AuditRequest.json(settings)
        response.headers[.eTag] = EntityTag.quoted(settings.version)
        return response
    }

    /// `If-Match` named another version of the settings than the stored one (or could not be read).
    static let changedMeanwhile = EntityTag.mismatch(detail: "The settings changed since the version named in If-Match; fetch them again.")

    /// `limit`, 1 to 200 (50 by default).
    static func limit(_ query: Parameters) throws -> Int {
        guard let raw = query.get("limit") else { return 50 }
        guard let value = Int(raw), (1...200).contains(value) else { throw AuditError.invalidQuery(field: "limit", message: "must be 1 to 200") }
        return value
    }

    /// The events cursor: the last sequence number seen, base64url.
    static func cursor(_ query: Parameters) throws -> Int64? {
        guard let raw = query.get("cursor") else { return nil }
        guard let value = Base64URL.decode(raw).flatMap({ Int64(String(decoding: $0, as: UTF8.self)) }), value > 0 else {
            throw AuditError.invalidQuery(field: "cursor", message: "is not a cursor this API gave")
        }
        return value
    }

    /// The events cursor after `event`.
    static func cursor(after event: EventView) -> String {
        Base64URL.encode(Data(String(event.seq).utf8))
    }

    /// `status` of the alerts list: open (the default), acknowledged or all.
    static func alertStatus(_ query: Parameters) throws -> AlertRepository.Status {
        guard let status = AlertRepository.Status(rawValue: query.get("status") ?? "open") else {
            throw AuditError.invalidQuery(field: "status", message: "must be open, acknowledged or all")
        }
        return status
    }

    /// The alerts cursor: the last alert's id, base64url.
    static func alertCursor(_ query: Parameters) throws -> UUID? {
        try query.get("cursor").map { raw -> UUID in
            guard let id = Base64URL.decode(raw).flatMap({ UUID(uuidString: String(decoding: $0, as: UTF8.self)) }) else {
                throw AuditError.invalidQuery(field: "cursor", message: "is not a cursor this API gave")
            }
            return id
        }
    }

    /// The alerts cursor after `alert`.
    static func cursor(after alert: AlertRepository.Alert) -> String {
        Base64URL.encode(Data(alert.id.uuidString.utf8))
    }

    static func date(_ query: Parameters, _ name: String) throws -> Date? {
        guard let raw = query.get(name) else { return nil }
        guard let date = try? Date(raw, strategy: .iso8601) else { throw AuditError.invalidQuery(field: name, message: "must be an ISO 8601 time") }
        return date
    }
}

/// An export's file format.
enum ExportFormat: String {
    case csv, jsonl

    var mediaType: String {
        switch self {
        case .csv: "text/csv; charset=utf-8"
        case .jsonl: "application/jsonl"
        }
    }
}

extension AuditRequest {
    /// The audit actor for the principal of a public request.
    static func actor(_ principal: Principal) -> AuditEvent.Actor {
        let type = switch principal.kind {
        case .apiClient: principal.clientID == nil ? "api_key" : "oauth_client"
        case .admin: "admin"
        case .agent: "agent"
        case .customer: "customer"
        case .operator: "operator"
        }
        return AuditEvent.Actor(type: type, id: principal.subject, sessionID: principal.sessionID, authenticationMethod: principal.authenticationMethod.rawValue)
    }
}
