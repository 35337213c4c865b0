import Foundation

/// Configuration values from the environment, over an optional `KEY=value` file.
///
/// The file named by `RAMPART_CONFIG_FILE` holds the same keys as the environment; a
/// variable set in the environment wins over the file. Every key is documented in
/// `docs/configuration.md`.
public struct ConfigSource: Sendable {
    /// The key naming the optional configuration file.
    public static let fileKey = "RAMPART_CONFIG_FILE"

    private let values: [String: String]

    /// Values exactly as given, for tests and tools.
    public init(values: [String: String]) {
        self.values = values
    }

    /// Reads the file named by `RAMPART_CONFIG_FILE` (if any), then overlays the environment.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        knownKeys: Set<String>
    ) throws -> ConfigSource {
        var merged: [String: String] = [:]
        if let path = environment[fileKey], !path.isEmpty {
            merged = try parseFile(at: path, knownKeys: knownKeys)
        }
        for (key, value) in environment where key.hasPrefix("RAMPART_") {
            merged[key] = value
        }
        return ConfigSource(values: merged)
    }

    /// Parses a `KEY=value` file: `#` starts a comment line, values may be double-quoted.
    static func parseFile(at path: String, knownKeys: Set<String>) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigError(key: fileKey, reason: "cannot read file \(path)")
        }
        var result: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(key: fileKey, reason: "line \(index + 1) of \(path) is not KEY=value")
            }
            let key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard knownKeys.contains(key) || key == fileKey else {
                throw ConfigError(key: key, reason: "unknown key in \(path) (line \(index + 1))")
            }
            result[key] = value
        }
        return result
    }

    /// The value of `key`, or `nil` when unset or empty.
    public func optional(_ key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    /// The value of `key`; a missing key is an error naming it.
    public func required(_ key: String) throws -> String {
        guard let value = optional(key) else {
            throw ConfigError(key: key, reason: "is required but not set")
        }
        return value
    }

    /// The value of `key` converted by `parse`, or `defaultValue` when unset.
    public func value<T>(_ key: String, default defaultValue: T, expected: String, _ parse: (String) -> T?) throws -> T {
        guard let raw = optional(key) else { return defaultValue }
        guard let parsed = parse(raw) else {
            throw ConfigError(key: key, reason: "must be \(expected)")
        }
        return parsed
    }

    /// The required value of `key` converted by `parse`.
    public func required<T>(_ key: String, expected: String, _ parse: (String) -> T?) throws -> T {
        guard let parsed = parse(try required(key)) else {
            throw ConfigError(key: key, reason: "must be \(expected)")
        }
        return parsed
    }

    /// A path that must name a readable file.
    public func readableFile(_ key: String) throws -> String {
        let path = try required(key)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigError(key: key, reason: "file \(path) does not exist or is not readable")
        }
        return path
    }
}
