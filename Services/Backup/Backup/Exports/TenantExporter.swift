import Crypto
import Foundation
import Logging
import RampartCore
import RampartSecurity
import RampartTransport
import ServiceLifecycle

/// Builds tenants' export archives (portability): asks identity, tickets and audit for each of
/// their entities page by page over their allow-listed internal routes and streams the pages,
/// the attachments' bytes and a signed manifest into a tar that is sealed chunk by chunk with the
/// tenant's data key as it is written — memory stays bounded by a page and one attachment, and
/// no plaintext reaches the disk. Exports expire (`RAMPART_EXPORT_DAYS`); the sweep deletes
/// expired ones, and a tenant purge deletes all of the tenant's.
public struct TenantExporter: Service {
    /// The services asked, in this order; each names its own entities.
    static let sources: [ServiceName] = [.identity, .tickets, .audit]
    /// Rows asked for per page.
    static let pageSize = 500

    let services: RegionServices
    let exports: TenantExportRepository
    let keyring: TenantKeyring
    let signingKey: PrincipalSigningKey
    /// Where the sealed archives live: `<directory>/<tenant>/<export>.sealed`.
    let directory: String
    /// How long a finished export can be downloaded.
    let lifetime: TimeInterval
    let checkInterval: Duration
    /// Decides expiry; tests move it.
    let clock: @Sendable () -> Date

    var logger: Logger { services.logger }

    public init(services endpoints: [ServiceName: String], region: Region, tls: InternalTLS, exports: TenantExportRepository, keyring: TenantKeyring,
                signingKey: PrincipalSigningKey, directory: String, lifetime: TimeInterval, logger: Logger, checkInterval: Duration,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        services = RegionServices(region: region, endpoints: endpoints, tls: tls, logger: logger)
        self.exports = exports
        self.keyring = keyring
        self.signingKey = signingKey
        self.directory = directory
        self.lifetime = lifetime
        self.checkInterval = checkInterval
        self.clock = clock
    }

    public func run() async throws {
        await Periodic.run(every: checkInterval) { await self.sweep() }
    }

    /// Starts an export of `tenant`, recorded in the tenant's audit log first; the archive is built
    /// in the background. 409 while another export of the tenant is running.
    public func request(tenant: TenantID, requester: AuditEvent.Actor, requestID: String?) async throws -> TenantExport {
        guard try await keyring.hasLiveKey(tenant) else {
            throw ProblemError(status: .notFound, code: "tenant_not_found", title: "Unknown tenant", detail: "No tenant with this id in region \(services.region).")
        }
        // The tenant's folder first: the sweep finds tenants by their folders, so even a build
        // cut off before it wrote anything is found and failed.
        try FileManager.default.createDirectory(atPath: directory + "/" + tenant.description, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let now = clock()
        let started = try await exports.start(tenant: tenant, requestedBy: "\(requester.type):\(requester.id)", at: now,
                                              expiresAt: now.addingTimeInterval(lifetime))
        // A build cut off by a stop no longer holds the tenant, and what it wrote goes.
        removeArchives(started.interrupted, tenant: tenant)
        guard var export = started.export else {
            throw ProblemError(status: .conflict, code: "export_running", title: "Export running",
                               detail: "An export of this tenant is being built; wait for it to finish.")
        }
        do {
            try await services.withClient { client in
                try await services.audit("export.requested", resource: .init(type: "export", id: export.id.uuidString.lowercased()),
                                         tenant: tenant, requester: requester, requestID: requestID, client)
            }
        } catch {
            export.state = .failed
            export.error = "the request could not be recorded in the audit log"
            _ = try? await exports.finish(export)
            throw error
        }
        Task { [self, export] in _ = await build(export) }
        return export
    }

    /// Builds the archive of a running export and records how it ended.
    func build(_ start: TenantExport) async -> TenantExport {
        var export = start
        let tenantDirectory = directory + "/" + export.tenantID.description
        let path = archivePath(export)
        do {
            try FileManager.default.createDirectory(atPath: tenantDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var archive = try ExportArchiveWriter(path: path, keyring: keyring, tenant: export.tenantID, export: export.id, created: clock())
            do {
                // While it is built, the export says it is alive: one whose process was stopped
                // stops holding the tenant's one running export after a few minutes.
                try await withHeartbeat(every: TenantExportRepository.heartbeatInterval, beat: { [exports, start, clock, logger] in
                    do { try await exports.beat(start, at: clock()) } catch {
                        logger.warning("export.heartbeat_failed", metadata: ["export": "\(start.id)", "error": "\(type(of: error))"])
                    }
                }) {
                    try await services.withClient { client in try await collect(into: &archive, tenant: export.tenantID, client) }
                }
                let manifest = try await archive.finish(region: services.region, signingKey: signingKey)
                export.state = .completed
                export.size = archive.size
                export.manifestSHA256 = ExportManifest.hex(SHA256.hash(data: manifest))
                export.completedAt = clock()
                export.expiresAt = clock().addingTimeInterval(lifetime)
                logger.notice("export.completed", metadata: ["tenant": "\(export.tenantID)", "export": "\(export.id)", "bytes": "\(archive.size)"])
            } catch {
                archive.abandon()
                throw error
            }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            export.state = .failed
            export.completedAt = clock()
            export.error = (error as? ProblemError).map { "\($0.code): \($0.detail ?? $0.title)" } ?? "the archive could not be built (\(type(of: error)))"
            logger.error("export.failed", metadata: ["tenant": "\(export.tenantID)", "export": "\(export.id)", "error": "\(export.error ?? "")"])
        }
        do {
            if try await !exports.finish(export) {
                // Failed as interrupted while it was built (its heartbeats stopped reaching the
                // database): that stands, and an archive nobody can download is not kept.
                try? FileManager.default.removeItem(atPath: path)
                logger.warning("export.superseded", metadata: ["tenant": "\(export.tenantID)", "export": "\(export.id)"])
            }
        } catch {
            logger.error("export.record_failed", metadata: ["export": "\(export.id)", "error": "\(type(of: error))"])
        }
        return export
    }

    /// Every entity of every source, page by page; a row naming a `file` brings that file's bytes.
    private func collect(into archive: inout ExportArchiveWriter, tenant: TenantID, _ client: InternalClient) async throws {
        struct Entities: Decodable { var entities: [String] }
        struct PageRequest: Encodable { var after: String?; var limit: Int }
        for service in Self.sources {
            let base = "/internal/v1/tenants/\(tenant)/export"
            let listed = try JSONDecoder().decode(Entities.self, from: try await services.send(client, .POST, service, base, body: Data("{}".utf8)).body)
            for entity in listed.entities where entity.range(of: "^[a-z_]{1,40}$", options: .regularExpression) != nil {
                var cursor: String?
                var part = 0
                repeat {
                    let body = try JSONEncoder().encode(PageRequest(after: cursor, limit: Self.pageSize))
                    let reply = try await services.send(client, .POST, service, "\(base)/\(entity)", body: body, maximumBodyBytes: 8 << 20)
                    part += 1
                    try await archive.add(entity: "\(service)/\(entity)", part: part, lines: reply.body)
                    for file in Self.files(in: reply.body, service: service) {
                        let content = try await services.send(client, .POST, service, "/internal/v1/tenants/\(tenant)/export-files/\(file.id)",
                                                              body: Data("{}".utf8), maximumBodyBytes: 64 << 20)
                        try await archive.add(path: file.path, content: content.body)
                    }
                    cursor = reply.headers.first(name: TenantExportPage.nextHeader)
                } while cursor != nil
            }
        }
    }

    /// The files a page's rows name (`"file"`, under the service's folder), by row id.
    static func files(in lines: Data, service: ServiceName) -> [(id: UUID, path: String)] {
        lines.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let row = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let path = row["file"] as? String,
                  let id = (row["id"] as? String).flatMap(UUID.init(uuidString:)),
                  path.hasPrefix("\(service)/"), path.range(of: "^[a-z_/0-9-]{1,100}$", options: .regularExpression) != nil
            else { return nil }
            return (id, path)
        }
    }

    /// Fails builds cut off by a stop (silent for ``TenantExportRepository/silenceLimit``) and
    /// deletes expired exports, rows and files, tenant by tenant.
    public func sweep() async {
        let now = clock()
        await Periodic.eachTenant("export", logger: logger, tenants: tenantsWithExports) { tenant in
            let interrupted = try await exports.failInterrupted(tenant: tenant, at: now)
            let removed = try await exports.delete(tenant: tenant, expiredBy: now)
            removeArchives(interrupted + removed, tenant: tenant)
            if !interrupted.isEmpty { logger.warning("export.interrupted", metadata: ["tenant": "\(tenant)", "count": "\(interrupted.count)"]) }
            if !removed.isEmpty { logger.info("export.expired", metadata: ["tenant": "\(tenant)", "count": "\(removed.count)"]) }
        }
    }

    /// Deletes the archive files of `ids` (absent ones are no error).
    private func removeArchives(_ ids: [UUID], tenant: TenantID) {
        for id in ids { try? FileManager.default.removeItem(atPath: "\(directory)/\(tenant)/\(id.uuidString.lowercased()).sealed") }
    }

    /// A purge's step: every export of the tenant, rows and files. Returns the rows deleted.
    func purge(_ tenant: TenantID) async throws -> TenantDataDeletion {
        let removed = try await exports.delete(tenant: tenant, expiredBy: nil)
        let folder = "\(directory)/\(tenant)"
        if FileManager.default.fileExists(atPath: folder) { try FileManager.default.removeItem(atPath: folder) }
        return TenantDataDeletion(service: ServiceName.backup.rawValue, deleted: ["tenant_exports": removed.count])
    }

    /// A finished, unexpired export of `tenant` and a reader of its archive; 404 for another
    /// tenant's or an unknown id, 409 while it is built or when it failed, 410 once it expired.
    func openArchive(_ id: UUID, tenant: TenantID) async throws -> (TenantExport, SealedArchiveFile.Reader) {
        guard let export = try await exports.find(id, tenant: tenant) else { throw Self.notFound }
        guard export.state == .completed else {
            throw ProblemError(status: .conflict, code: "export_not_ready", title: "Export not ready", detail: "The export is \(export.state.rawValue).")
        }
        guard export.expiresAt > clock() else {
            throw ProblemError(status: .gone, code: "export_expired", title: "Export expired",
                               detail: "The export expired at \(export.expiresAt.ISO8601Format()); request a new one.")
        }
        return (export, try SealedArchiveFile.Reader(path: archivePath(export), keyring: keyring, tenant: tenant, export: id))
    }

    static let notFound = ProblemError(status: .notFound, code: "export_not_found", title: "No such export")

    func archivePath(_ export: TenantExport) -> String {
        "\(directory)/\(export.tenantID)/\(export.id.uuidString.lowercased()).sealed"
    }

    private func tenantsWithExports() -> [TenantID] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { TenantID($0) }
    }
}
