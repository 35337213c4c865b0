import Foundation
import Logging
import PostgresNIO
import RampartCore
import RampartStorage

/// A region's PostgreSQL cluster as its pgBackRest configuration describes it: where its files
/// are, which port it listens on, and the `pg_ctl` of its PostgreSQL version.
struct DatabaseCluster {
    let pgBackRest: PgBackRest
    let dataDirectory: String
    let port: Int
    let socketDirectory: String?

    init(pgBackRest: PgBackRest) throws {
        self.pgBackRest = pgBackRest
        guard let text = FileManager.default.contents(atPath: pgBackRest.configPath).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw ControlError("cannot read \(pgBackRest.configPath)")
        }
        let section = Self.section(pgBackRest.stanza, of: text)
        guard let path = section["pg1-path"] else { throw ControlError("\(pgBackRest.configPath) has no pg1-path for stanza \(pgBackRest.stanza)") }
        dataDirectory = path
        port = section["pg1-port"].flatMap(Int.init) ?? 5432
        socketDirectory = section["pg1-socket-path"]
    }

    /// The `key=value` lines of one `[name]` section of an INI file.
    static func section(_ name: String, of text: String) -> [String: String] {
        var current = ""
        var values: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast())
            } else if current == name, let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                values[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
        }
        return values
    }

    /// Runs this cluster's `pg_ctl` as the cluster's owner.
    func pgCtl(_ arguments: [String]) async throws -> Subprocess.Result {
        let version = (try? String(contentsOfFile: dataDirectory + "/PG_VERSION", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "15"
        return try await Subprocess.asUser(pgBackRest.osUser, "/usr/lib/postgresql/\(version)/bin/pg_ctl", arguments).run()
    }

    var isRunning: Bool {
        get async { (try? await pgCtl(["-D", dataDirectory, "status"]))?.status == 0 }
    }
}

/// Restores a region's cluster to one moment from one repository: side by side into a scratch
/// cluster, or in place. Either way PostgreSQL replays archived WAL up to exactly the moment and
/// stops there, so the result holds every transaction committed before it and none after.
struct PointInTimeRestore {
    let cluster: DatabaseCluster
    let repository: Int

    /// A new cluster in `directory`, recovered to `target`, started on 127.0.0.1:`port` with WAL
    /// archiving off (it must never write into the region's repositories).
    func sideBySide(to target: Date, directory: String, port: Int) async throws {
        try await archiveUntilNow()
        try await checkRestorable(target)
        let manager = FileManager.default
        if manager.fileExists(atPath: directory), !((try? manager.contentsOfDirectory(atPath: directory)) ?? []).isEmpty {
            throw ControlError("\(directory) is not empty")
        }
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let owner = cluster.pgBackRest.osUser, getuid() == 0 {
            try manager.setAttributes([.ownerAccountName: owner, .groupOwnerAccountName: owner], ofItemAtPath: directory)
        }
        try await restore(to: target, into: directory, delta: false)
        try await start(directory, options: "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(directory) -c archive_mode=off -c hot_standby=off")
    }

    /// The region's cluster itself, stopped, rewound to `target` and started again.
    func inPlace(to target: Date) async throws {
        try await archiveUntilNow()
        try await checkRestorable(target)
        if await cluster.isRunning {
            let stopped = try await cluster.pgCtl(["-D", cluster.dataDirectory, "-m", "fast", "-w", "-t", "120", "stop"])
            guard stopped.status == 0 else { throw ControlError("the cluster did not stop: \(stopped.errorOutput)") }
        }
        try await restore(to: target, into: cluster.dataDirectory, delta: true)
        try await start(cluster.dataDirectory, options: "-c hot_standby=off")
    }

    /// When the cluster runs, everything written until now reaches the repositories first, so
    /// any moment up to now can be restored. A cluster that is down (the reason for many a
    /// restore) has archived what it could.
    private func archiveUntilNow() async throws {
        guard await cluster.isRunning else { return }
        try? await cluster.pgBackRest.check()
    }

    /// Refuses a moment the repository cannot reach, naming the span it can.
    private func checkRestorable(_ target: Date) async throws {
        guard target <= Date() else { throw ControlError("--to is in the future") }
        let catalogue = try await cluster.pgBackRest.catalogue()
        guard let earliest = catalogue.earliestRecoverable(in: repository) else {
            throw ControlError("repository \(repository) holds no backup")
        }
        guard earliest <= target else {
            throw ControlError("repository \(repository) can restore to \(earliest.ISO8601Format()) at the earliest")
        }
    }

    private func restore(to target: Date, into directory: String, delta: Bool) async throws {
        do {
            try await cluster.pgBackRest.restore(to: target, repository: repository, dataDirectory: directory, delta: delta)
        } catch let failure as PgBackRest.Failure {
            throw ControlError("restore failed: \(failure.message)")
        }
    }

    /// Starts a restored cluster and waits until recovery reached the target and it was promoted
    /// (hot standby off: PostgreSQL accepts connections only then).
    private func start(_ directory: String, options: String) async throws {
        let log = directory + "/restore.log"
        let started = try await cluster.pgCtl(["-D", directory, "-l", log, "-w", "-t", "3600", "-o", options, "start"])
        guard started.status == 0 else {
            let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: "\n") ?? ""
            throw ControlError("the restored cluster did not start:\n\(tail)")
        }
    }
}

/// Replays the region's erasure ledger on a cluster just restored: every schema's
/// `purge_tenant` runs again for every purged tenant and every schema's `erase_person` for every
/// erased person, so rows a restore brought back are deleted or anonymized again before anyone
/// reads them. (A purged tenant's sealed columns are unreadable anyway: its key is destroyed and
/// lives outside the backups.) Runs as the cluster owner over the Unix socket.
struct LedgerReplay {
    let cluster: DatabaseCluster
    let database: String
    let ledger: ErasureLedger

    /// Replays every ledger in turn; returns how many erasures (tenants and people) they name together.
    static func runAll(_ replays: [LedgerReplay], socketDirectory: String?, port: Int) async throws -> Int {
        var total = 0
        for replay in replays { total += try await replay.run(socketDirectory: socketDirectory, port: port) }
        return total
    }

    /// The statement that replays `entries` on a region database; `nil` when they name nothing.
    /// Every value written into it is a parsed UUID or a boolean, so it is safe to inline.
    static func statement(for entries: [ErasureLedger.Entry]) -> String? {
        let named = Self.erasures(in: entries)
        let tenants = named.filter { $0.kind == "tenant" }.map(\.id)
        let people = named.filter { $0.kind != "tenant" }.compactMap { entry -> String? in
            guard let tenant = entry.tenantID, let ids = entry.people, !ids.isEmpty else { return nil }
            let list = ids.map { "'\($0.uuidString.lowercased())'::uuid" }.joined(separator: ", ")
            return "('\(tenant.uuidString.lowercased())'::uuid, ARRAY[\(list)]::uuid[], \(entry.deleteTickets == true))"
        }
        guard !tenants.isEmpty || !people.isEmpty else { return nil }
        let tenantList = tenants.map { "'\($0.uuidString.lowercased())'::uuid" }.joined(separator: ", ")
        return """
            DO $replay$
            DECLARE f record; tenant uuid; person record;
            BEGIN
                FOR f IN SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = 'purge_tenant' LOOP
                    FOREACH tenant IN ARRAY ARRAY[\(tenantList)]::uuid[] LOOP
                        EXECUTE format('SELECT %I.purge_tenant($1, true)', f.nspname) USING tenant;
                    END LOOP;
                END LOOP;
                FOR f IN SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = 'erase_person' LOOP
                    FOR person IN SELECT * FROM (VALUES \(people.isEmpty ? "(NULL::uuid, NULL::uuid[], false)" : people.joined(separator: ", "))) AS v(tenant, ids, delete_tickets)
                                  WHERE v.tenant IS NOT NULL LOOP
                        EXECUTE format('SELECT %I.erase_person($1, $2, $3, true)', f.nspname) USING person.tenant, person.ids, person.delete_tickets;
                    END LOOP;
                END LOOP;
            END
            $replay$
            """
    }

    /// The erasures `entries` name, each once: purged tenants, completed erasures of people, and
    /// those begun but never completed (replayed too: what they erased stays erased, and the rest
    /// is done). A started erasure that completed is its completed entry.
    static func erasures(in entries: [ErasureLedger.Entry]) -> [ErasureLedger.Entry] {
        let completed = Set(entries.filter { $0.kind == "person" }.map(\.id))
        return entries.filter { entry in
            switch entry.kind {
            case "tenant", "person": true
            case ErasureLedger.Entry.personStarted: !completed.contains(entry.id)
            default: false
            }
        }
    }

    /// Replays `ledger` on the database `superuser` names, over its network connection; returns
    /// how many erasures the ledger names. A ledger that cannot be read stops it before anything runs.
    static func replay(_ ledger: ErasureLedger, superuser: DatabaseURL) async throws -> Int {
        let entries = try ledger.entries()
        guard let statement = statement(for: entries) else { return 0 }
        var logger = Logger(label: "rampartctl")
        logger.logLevel = .error
        try await Database.withTemporaryClient(superuser, logger: logger, timeout: .seconds(600)) { client in
            _ = try await client.query(PostgresQuery(unsafeSQL: statement)).collect()
        }
        return erasures(in: entries).count
    }

    /// Replays on the cluster listening on `port` with its socket in `socketDirectory`; returns
    /// how many erasures the ledger names.
    func run(socketDirectory: String?, port: Int) async throws -> Int {
        let entries = try ledger.entries()
        guard let statement = Self.statement(for: entries) else { return 0 }
        var arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-p", String(port), "-d", database, "-c", statement]
        if let socketDirectory { arguments = ["-h", socketDirectory] + arguments }
        // A restored cluster accepts connections only once recovery reached the target and it
        // promoted itself, which may be after pg_ctl returned.
        let deadline = ContinuousClock.now + .seconds(600)
        while true {
            let result = try await Subprocess.asUser(cluster.pgBackRest.osUser, "/usr/bin/psql", arguments).run()
            if result.status == 0 { return Self.erasures(in: entries).count }
            let recovering = ["not accepting connections", "starting up", "not yet accepting connections"].contains { result.errorOutput.contains($0) }
            guard recovering, ContinuousClock.now < deadline else {
                throw ControlError("replaying the erasure ledger failed: \(result.errorOutput)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}
