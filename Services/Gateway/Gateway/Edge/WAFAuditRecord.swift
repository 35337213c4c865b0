import Foundation
import RampartCore

/// What the audit event of one WAF finding needs, taken on the request path (cheap: no I/O) and
/// turned into an ``AuditEvent`` in the background once the tenant's id is known.
struct WAFAuditRecord: Sendable {
    /// The event's id, fixed when the request was seen: a resend after a lost answer is a
    /// duplicate at audit, not a second event.
    let id: UUID
    let occurredAt: Date
    let tenant: TenantSlug
    let region: Region
    let requestID: String
    let clientIP: String?
    let userAgent: String?
    let method: String
    /// The matched route prefix (never the full path or query).
    let route: String
    /// `true`: refused (403); `false`: the tenant's detection-only mode let it through.
    let blocked: Bool
    let score: Int
    let threshold: Int
    let matches: [WAFMatch]

    /// The longest value audit keeps in a change (`matches` is cut to it).
    static let maximumChangeLength = 2000
    /// The longest user agent kept (identity's sign-in events keep as much).
    static let maximumUserAgentLength = 300

    init(verdict: WAFVerdict, tenant: TenantSlug, region: Region, requestID: String, clientIP: String?, userAgent: String?,
         method: String, route: String, at occurredAt: Date = .now) {
        id = UUIDv7.make(at: occurredAt)
        self.occurredAt = occurredAt
        self.tenant = tenant
        self.region = region
        self.requestID = requestID
        self.clientIP = clientIP
        self.userAgent = userAgent.map { String(Self.printable($0).prefix(Self.maximumUserAgentLength)) }
        self.method = method
        self.route = route
        blocked = verdict.blocked
        score = verdict.score
        threshold = verdict.threshold
        matches = verdict.matches
    }

    /// The event for the tenant with `tenantID`: `waf.blocked` (outcome `failure`, the request was
    /// refused) or `waf.detected` (outcome `success`, detection-only mode let it through). The
    /// actor is the client as the network shows it — the WAF runs before the credential is
    /// resolved, so no principal is known, and an unverified credential is not taken for one.
    /// Rule ids, score and the matches (target and the log's truncated fragment, withheld for
    /// credentials) go in `changes`, which audit seals with the tenant's key.
    func event(tenantID: TenantID) -> AuditEvent {
        let described = Self.printable(matches.map { "\($0.ruleID) \($0.category.rawValue) \($0.target): \($0.fragment)" }.joined(separator: "; "))
        let changes: [String: [String?]] = [
            "rules": [nil, matches.map { String($0.ruleID) }.joined(separator: ",")],
            "categories": [nil, Array(Set(matches.map(\.category.rawValue))).sorted().joined(separator: ",")],
            "score": [nil, String(score)],
            "threshold": [nil, String(threshold)],
            "method": [nil, method],
            "route": [nil, route],
            "matches": [nil, String(described.prefix(Self.maximumChangeLength))],
        ]
        var event = AuditEvent(
            tenantID: tenantID, region: region,
            actor: .init(type: "anonymous", id: "unknown", ip: clientIP, userAgent: userAgent),
            action: blocked ? "waf.blocked" : "waf.detected", resource: .init(type: "http_request", id: requestID),
            changes: changes, outcome: blocked ? "failure" : "success", requestID: requestID, source: "system", occurredAt: occurredAt
        )
        event.id = id
        return event
    }

    /// `text` without control characters, which audit refuses in any field (fragments have them
    /// escaped already; names taken from a request may not).
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .control }))
    }
}
