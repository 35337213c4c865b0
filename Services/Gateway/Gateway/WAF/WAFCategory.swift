/// What kind of attack a rule detects.
public enum WAFCategory: String, Sendable, Codable, CaseIterable {
    /// SQL injection.
    case sqlInjection = "sqli"
    /// Cross-site scripting.
    case crossSiteScripting = "xss"
    /// Path traversal and local file inclusion.
    case localFileInclusion = "lfi"
    /// Remote file inclusion and dangerous URL schemes.
    case remoteFileInclusion = "rfi"
    /// OS command injection.
    case commandInjection = "rce"
    /// PHP code injection and object injection.
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
