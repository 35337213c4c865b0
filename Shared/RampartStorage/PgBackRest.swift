import Foundation

/// pgBackRest for one region's PostgreSQL cluster (one stanza): backups into its repositories
/// (repo1 in-region, repo2 off-site, both encrypted), their catalogue, verification and
/// point-in-time restores. Runs as the cluster's OS user, so files in the repositories always
/// belong to the account that archives WAL into them.
public struct PgBackRest: Sendable {
    /// A backup's kind: a full copy, or the changes since the last full (`diff`) or last backup (`incr`).
    public enum BackupType: String, Sendable, Codable, CaseIterable {
        case full, diff, incr
    }

    /// A pgBackRest command that did not succeed; `message` is pgBackRest's own error line
    /// (which never contains the repositories' passphrases).
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let command: String
        public let status: Int32
        public let message: String
        public var description: String { "pgbackrest \(command) failed (\(status)): \(message)" }
    }

    /// One backup in a repository's catalogue.
    public struct Backup: Sendable, Equatable {
        public let repository: Int
        public let label: String
        public let type: BackupType
        public let startedAt: Date
        public let stoppedAt: Date
    }

    /// What a repository holds: its backups, oldest first, and the span of archived WAL.
    public struct Catalogue: Sendable {
        public let backups: [Backup]
        /// The stanza's status as pgBackRest reports it (`ok` when healthy).
        public let status: String

        /// The newest backup of `repository`, if any.
        public func newest(in repository: Int) -> Backup? {
            backups.filter { $0.repository == repository }.max { $0.stoppedAt < $1.stoppedAt }
        }

        /// The earliest moment `repository` can restore to: the end of its oldest backup.
        public func earliestRecoverable(in repository: Int) -> Date? {
            backups.filter { $0.repository == repository }.map(\.stoppedAt).min()
        }
    }

    public let configPath: String
    public let stanza: String
    /// The cluster's OS user; when set and this process runs as root, commands run as that user.
    public let osUser: String?

    public init(configPath: String, stanza: String, osUser: String? = nil) {
        self.configPath = configPath
        self.stanza = stanza
        self.osUser = osUser
    }

    /// Takes a backup of `type` into `repository` and returns its label.
    public func backup(repository: Int, type: BackupType) async throws -> String {
        try await run("backup", ["--repo=\(repository)", "--type=\(type.rawValue)"])
        guard let newest = try await catalogue().newest(in: repository) else {
            throw Failure(command: "backup", status: 0, message: "the backup does not appear in the repository's catalogue")
        }
        return newest.label
    }

    /// The catalogue of every repository.
    public func catalogue() async throws -> Catalogue {
        let output = try await run("info", ["--output=json"])
        guard let stanzas = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]],
              let entry = stanzas.first(where: { $0["name"] as? String == stanza })
        else {
            throw Failure(command: "info", status: 0, message: "unreadable catalogue")
        }
        let status = ((entry["status"] as? [String: Any])?["message"] as? String) ?? "unknown"
        let backups: [Backup] = (entry["backup"] as? [[String: Any]] ?? []).compactMap { item in
            guard let label = item["label"] as? String,
                  let type = (item["type"] as? String).flatMap(BackupType.init(rawValue:)),
                  let repository = ((item["database"] as? [String: Any])?["repo-key"] as? Int),
                  let times = item["timestamp"] as? [String: Any],
                  let start = times["start"] as? Int, let stop = times["stop"] as? Int
            else { return nil }
            return Backup(repository: repository, label: label, type: type,
                          startedAt: Date(timeIntervalSince1970: TimeInterval(start)),
                          stoppedAt: Date(timeIntervalSince1970: TimeInterval(stop)))
        }
        return Catalogue(backups: backups.sorted { $0.stoppedAt < $1.stoppedAt }, status: status)
    }

    /// Reads every file of the repositories back and checks it (`pgbackrest verify`).
    ///
    /// pgBackRest 2.45 ends `verify` with status 0 even when it found damaged files; only its
    /// report says so (`status: error`, then per archive and backup a line naming it and a line
    /// of counts). The report is therefore read, and damage is a `Failure` naming what is wrong.
    public func verify(repository: Int? = nil) async throws {
        let report = try await run("verify", ["--output=text", "--verbose"] + (repository.map { ["--repo=\($0)"] } ?? []))
        let lines = report.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !lines.contains("status: ok") || lines.contains("status: error") else { return }
        // Each archive or backup with a non-zero count, with its counts.
        let damaged = zip(lines, lines.dropFirst()).filter { header, counts in
            (header.hasPrefix("archiveId:") || header.hasPrefix("backup:")) && counts.range(of: ": [1-9]", options: .regularExpression) != nil
        }.map { "\($0) (\($1))" }
        throw Failure(command: "verify", status: 0, message: String((damaged.isEmpty ? lines : damaged).joined(separator: "; ").prefix(500)))
    }

    /// Checks that the cluster archives WAL into every repository; it also switches to a new WAL
    /// segment, so everything written until now is archived when it returns.
    public func check() async throws {
        try await run("check", [])
    }

    /// Restores the cluster's files as of `target` from `repository` into `dataDirectory`
    /// (empty or, with `delta`, the stopped cluster's own directory). The restored cluster
    /// recovers to exactly `target` and then promotes itself.
    public func restore(to target: Date, repository: Int, dataDirectory: String, delta: Bool) async throws {
        var arguments = [
            "--repo=\(repository)", "--pg1-path=\(dataDirectory)", "--type=time",
            "--target=\(Self.targetFormat(target))", "--target-action=promote",
        ]
        if delta { arguments.append("--delta") }
        try await run("restore", arguments)
    }

    /// A recovery target pgBackRest and PostgreSQL read unambiguously: UTC with microseconds.
    static func targetFormat(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded())
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: seconds))
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, micros)
    }

    /// Runs one pgBackRest command for the stanza and returns what it printed.
    @discardableResult
    func run(_ command: String, _ arguments: [String]) async throws -> String {
        let base = ["--config=\(configPath)", "--stanza=\(stanza)", "--log-level-console=error", command] + arguments
        let result = try await Subprocess.asUser(osUser, "pgbackrest", base).run()
        guard result.status == 0 else {
            let lines = (result.errorOutput + "\n" + result.output).split(separator: "\n").map(String.init)
            let message = lines.last { $0.contains("ERROR") } ?? lines.last ?? "no output"
            throw Failure(command: command, status: result.status, message: String(message.prefix(500)))
        }
        return result.output
    }
}
