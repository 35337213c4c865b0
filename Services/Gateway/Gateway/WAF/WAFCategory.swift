/// What kind of attack a rule detects.
public enum WAFCategory: String, Sendable, Codable, CaseIterable {
    case sqlInjection = "sqli"
    case crossSiteScripting = "xss"
    /// Path traversal and local file inclusion.
    case localFileInclusion = "lfi"
    case remoteFileInclusion = "rfi"
    /// OS command injection.
    case commandInjection = "rce"
    case phpInjection = "php"
    /// Java injection, including Log4Shell lookups and deserialization.
    case javaInjection = "java"
    /// Server-side template injection.
    case templateInjection = "ssti"
    /// Protocol violations and request smuggling.
    case protocolViolation = "protocol"
    /// Known scanners and attack tools.
    case scanner
}

/// How bad a match is; its score is added to the request's anomaly score.
public enum WAFSeverity: String, Sendable, Codable {
    case critical, error, warning, notice

    /// The anomaly score: critical 5, error 4, warning 3, notice 2.
    public var score: Int {
        switch self {
        case .critical: 5
        case .error: 4
        case .warning: 3
        case .notice: 2
        }
    }
}
