import Foundation

/// A parsed `postgres://user:password@host:port/database?sslmode=…` URL.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// How the connection uses TLS.
    public enum TLSMode: String, Sendable {
        /// Plain TCP; only for loopback development clusters.
        case disable
        /// TLS, server certificate and host name verified against the system or given CA.
        case verifyFull = "verify-full"
        /// TLS without verifying the server (never in production; kept for parity with libpq).
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode

    public init(host: String, port: Int, username: String, password: String?, database: String, tlsMode: TLSMode) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
    }

    /// Parses a URL; the error never repeats the URL, which carries a password.
    public init(parsing text: String, key: String) throws {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql"
        else {
            throw ConfigError(key: key, reason: "must be a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ConfigError(key: key, reason: "has no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ConfigError(key: key, reason: "has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw ConfigError(key: key, reason: "has no database name")
        }
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        guard let tlsMode = TLSMode(rawValue: mode) else {
            throw ConfigError(key: key, reason: "sslmode must be disable, require or verify-full")
        }
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 },
            database: database,
            tlsMode: tlsMode
        )
    }

    /// The URL without its password, safe for logs.
    public var redacted: String {
        "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(tlsMode.rawValue)"
    }

    public var description: String { redacted }
    public var debugDescription: String { redacted }
    /// Reflection (test failures, `dump`) shows the redacted URL, never the password.
    public var customMirror: Mirror { Mirror(self, children: ["url": redacted]) }

    /// The URL as text, password included, percent-encoded; for configuration files only.
    public var urlString: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.host = host
        components.port = port
        components.path = "/" + database
        components.queryItems = [URLQueryItem(name: "sslmode", value: tlsMode.rawValue)]
        return components.string ?? redacted
    }
}
