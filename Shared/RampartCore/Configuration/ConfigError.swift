/// A configuration problem, named by its key so an operator can fix it from one line.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The configuration key at fault, for example `RAMPART_DATABASE_URL`.
    public let key: String
    /// What is wrong with it; never the value itself, which may be a secret.
    public let reason: String

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "configuration error: \(key): \(reason)" }
}
