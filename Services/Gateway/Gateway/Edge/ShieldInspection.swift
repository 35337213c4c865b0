import Crypto
import HTTPTypes
import Logging
import RampartCore

/// The edge's inspection: rate limits first (a table lookup), then the WAF's anomaly scoring
/// over the request as received. A refusal is a 429 with the rate-limit headers, or a 403 that
/// names only the request id — never the rule. Matches are logged as JSON lines by the WAF; a
/// finding on a tenant's host that reached the threshold also goes to the audit trail.
public struct ShieldInspection: EdgeInspection {
    let waf: WAF
    let limiter: RateLimiter
    /// Where blocks and detection-only findings on tenant hosts are queued for the tenant's audit log.
    let auditTrail: WAFAuditTrail?
    let logger: Logger

    public init(waf: WAF, limiter: RateLimiter, auditTrail: WAFAuditTrail? = nil, logger: Logger) {
        self.waf = waf
        self.limiter = limiter
        self.auditTrail = auditTrail
        self.logger = logger
    }

    /// Loads the rules, the WAF policy and the rate limits named in `settings`.
    public init(settings: EdgeSettings, auditTrail: WAFAuditTrail?, logger: Logger) throws {
        let ruleSet: WAFRuleSet
        let policy: WAFPolicy
        let limits: RateLimitConfiguration
        do { ruleSet = try WAFRuleSet(contentsOf: settings.wafRulesPath) } catch {
            throw ConfigError(key: "RAMPART_WAF_RULES", reason: "\(error)")
        }
        do { policy = try WAFPolicy(contentsOf: settings.wafPolicyPath) } catch {
            throw ConfigError(key: "RAMPART_WAF_POLICY", reason: "\(error)")
        }
        do { limits = try RateLimitConfiguration(contentsOf: settings.rateLimitsPath) } catch {
            throw ConfigError(key: "RAMPART_RATE_LIMITS", reason: "\(error)")
        }
        self.init(waf: WAF(ruleSet: ruleSet, policy: policy), limiter: RateLimiter(configuration: limits), auditTrail: auditTrail, logger: logger)
    }

    public func inspect(_ request: EdgeInspectionRequest) async -> InspectionVerdict {
        guard let subject = Self.subject(of: request) else { return InspectionVerdict(refusal: .ambiguousSignIn) }
        let tenant = subject.tenant
        let routeClass = subject.routeClass
        let limited = limit(subject, stage: .arrival)
        if limited.refusal != nil { return limited }
        let rateLimit = limited.rateLimit ?? "unlimited"
        // Without rules (the WAF switched off) the request is not even copied for it.
        guard !waf.ruleSet.rules.isEmpty else { return InspectionVerdict(wafScore: 0, rateLimit: rateLimit) }
        let target = request.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let verdict = waf.inspect(InspectedRequest(
            method: request.method.rawValue, rawPath: String(target[0]), rawQuery: target.count > 1 ? String(target[1]) : nil,
            headers: request.headers.map { ($0.name.rawName, $0.value) },
            body: request.body.map { ArraySlice($0.readableBytesView) }, bodyIsTruncated: request.bodyIsTruncated, tenant: tenant, routeClass: routeClass
        ))
        if !verdict.matches.isEmpty {
            verdict.log(to: logger, requestID: request.requestID, tenant: tenant, clientIP: request.clientIP)
        }
        if verdict.reachedThreshold, let auditTrail, case .tenant(let slug, let region) = request.host {
            auditTrail.record(WAFAuditRecord(
                verdict: verdict, tenant: slug, region: region, requestID: request.requestID, clientIP: request.clientIP,
                userAgent: request.headers[.userAgent], method: request.method.rawValue, route: request.route.prefix
            ))
        }
        guard !verdict.blocked else {
            return InspectionVerdict(refusal: EdgeProblem(.forbidden, code: "request_blocked", title: "Request blocked",
                                                          detail: "This request was refused by the security filter. Quote its request id to support if this is a mistake."),
                                     wafScore: verdict.score, rateLimit: rateLimit)
        }
        return InspectionVerdict(wafScore: verdict.score, rateLimit: rateLimit)
    }

    /// The tenant's own limits and the principal's (keyed by tenant or principal), for a request
    /// authenticated as one of the tenant's principals; anonymous requests never reach them,
    /// whatever host they name.
    public func admitAuthenticated(_ request: EdgeInspectionRequest, principal: String?) async -> InspectionVerdict {
        guard case .tenant = request.host, let subject = Self.subject(of: request, principal: principal) else { return .pass }
        return limit(subject, stage: .authenticated)
    }

    /// Gives back to the tenant's and the principal's limits a request its service refused to whoever asked.
    public func refundRefused(_ request: EdgeInspectionRequest, principal: String?) async {
        guard case .tenant = request.host, let subject = Self.subject(of: request, principal: principal) else { return }
        limiter.refund(subject, stage: .authenticated, now: .now)
    }

    /// What the rate limits count `request` by (limits keyed by the client's address skip a
    /// request without one); nil when a sign-in attempt's body names two different accounts
    /// (``SignInAccount``).
    private static func subject(of request: EdgeInspectionRequest, principal: String? = nil) -> RateLimitSubject? {
        let tenant: String? = if case .tenant(let slug, _) = request.host { slug.rawValue } else { nil }
        let routeClass = request.route.rateClass ?? "api"
        var account: String?
        if routeClass == signInClass {
            switch SignInAccount.find(body: request.body, contentType: request.headers[.contentType]) {
            case .absent: break
            case .account(let name): account = name
            case .ambiguous: return nil
            }
        }
        return RateLimitSubject(clientIP: request.clientIP ?? "", tenant: tenant, credential: credentialID(request.headers),
                                routeClass: routeClass, account: account, principal: principal)
    }

    /// Counts `subject` against the limits of `stage`: a 429 with the rate-limit headers past one,
    /// else the access log's `allowed`; no rate-limit decision when no limit applied.
    private func limit(_ subject: RateLimitSubject, stage: RateLimiter.Stage) -> InspectionVerdict {
        guard let decision = limiter.check(subject, stage: stage, now: .now) else { return .pass }
        guard decision.allowed else {
            var headers = HTTPFields()
            for (name, value) in decision.headers {
                if let field = HTTPField.Name(name) { headers[field] = value }
            }
            return InspectionVerdict(refusal: EdgeProblem(.tooManyRequests, code: "rate_limited", title: "Too many requests",
                                                          detail: "Slow down and retry after the time in Retry-After.", headers: headers),
                                     rateLimit: "limited:\(decision.limitName)")
        }
        return InspectionVerdict(rateLimit: "allowed")
    }

    /// The route class whose requests are sign-in attempts, counted per account too.
    static let signInClass = "sign_in"

    /// What a bearer credential (`rk_<id>_<secret>`, `rat_<id>_<secret>`) is counted as: its
    /// kind and id with a digest of the whole credential, so each key or token has its own count
    /// and a request with a key's id but a made-up secret (ids are not secret) counts apart from
    /// the key instead of spending its allowance; `nil` for cookies and anything else.
    static func credentialID(_ headers: HTTPFields) -> String? {
        guard let authorization = headers[.authorization], authorization.lowercased().hasPrefix("bearer ") else { return nil }
        let credential = authorization.dropFirst(7)
        let parts = credential.split(separator: "_", maxSplits: 2)
        guard parts.count == 3, parts[0].count <= 4, parts[1].count == 16 else { return nil }
        let digest = SHA256.hash(data: Array(credential.utf8))
        return "\(parts[0])_\(parts[1])_\(Hex.encode(digest.prefix(8)))"
    }
}
