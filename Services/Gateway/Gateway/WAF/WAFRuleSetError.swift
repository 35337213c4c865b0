/// Why a rules file was refused; rule errors name the rule.
public enum WAFRuleSetError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(String)
    /// The file is not a valid document (YAML syntax or a wrong type, with where).
    case malformed(String)
    /// The document's version is not 1.
    case unsupportedVersion(Int)
    /// A rule is invalid; `position` counts from 1 in file order.
    case invalidRule(id: Int?, position: Int, reason: String)
    /// A route pattern does not start with `/`.
    case invalidRoute(String)
    /// An exclusion names an unknown rule or category.
    case invalidExclusion(String)

    /// A message naming what is wrong, for the start-up error.
    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read WAF rules file \(path)"
        case .malformed(let detail): "WAF rules file is not valid: \(detail)"
        case .unsupportedVersion(let version): "WAF rules file version \(version) is not supported (expected 1)"
        case .invalidRule(let id, let position, let reason):
            "WAF rule \(id.map(String.init) ?? "without id") (number \(position) in the file): \(reason)"
        case .invalidRoute(let route): "WAF route pattern \"\(route)\" must start with /"
        case .invalidExclusion(let reason): "WAF exclusion: \(reason)"
        }
    }
}
