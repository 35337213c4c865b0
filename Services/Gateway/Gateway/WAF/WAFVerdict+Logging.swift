import Logging

extension WAFVerdict {
    /// Writes one `waf.match` JSON log line per matched rule (rule id, category, target, truncated
    /// fragment, score), then one `waf.blocked` or `waf.detected` line when the threshold was reached.
    /// Lines go to the operators' log only; none of this belongs in a response.
    public func log(to logger: Logger, requestID: String, tenant: String?, clientIP: String?) {
        guard !matches.isEmpty else { return }
        var base: Logger.Metadata = ["request.id": "\(requestID)"]
        if let tenant { base["tenant.slug"] = "\(tenant)" }
        if let clientIP { base["client.ip"] = "\(clientIP)" }
        for match in matches {
            var metadata = base
            metadata["waf.rule"] = "\(match.ruleID)"
            metadata["waf.category"] = "\(match.category.rawValue)"
            metadata["waf.target"] = "\(match.target)"
            metadata["waf.fragment"] = "\(match.fragment)"
            metadata["waf.score"] = "\(match.score)"
            logger.warning("waf.match", metadata: metadata)
        }
        guard reachedThreshold else { return }
        base["waf.score"] = "\(score)"
        base["waf.threshold"] = "\(threshold)"
        base["waf.rules"] = "\(matches.map { String($0.ruleID) }.joined(separator: ","))"
        logger.warning(blocked ? "waf.blocked" : "waf.detected", metadata: base)
    }
}
