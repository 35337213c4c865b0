import Crypto
import Foundation
import NIOHTTP1
@testable import Backup
@testable import Control
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

@Suite("Tenant export: a signed, sealed archive of the whole tenant, for its admins only, until it expires or the tenant is purged")
struct TenantExportTests {
    let eu = Region(rawValue: "eu")!
    let requests = DataSubjectRequestTests()
    typealias Region1 = TenantPurgeTests.Region1

    /// Planted where identity keeps secrets: none of it may reach an archive.
    static let passwordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$plantedHashNeverExported"
    static let apiKeySecretHex = "5ec4e75ec4e75ec4e75ec4e75ec4e75e"

    func admin(_ region: Region1, _ tenant: String, slug: String = "acme", kind: Principal.Kind = .admin, scopes: [String] = ["users:write"]) throws -> String {
        try requests.token(region, tenant: tenant, slug: slug, kind: kind, subject: "user:\(UUID().uuidString.lowercased())", scopes: scopes, audience: .backup)
    }

    func call(_ region: Region1, _ path: String, principal: String) async throws -> InternalClient.Reply {
        try await call(region, .GET, path, principal: principal)
    }

    func call(_ region: Region1, _ method: HTTPMethod, _ path: String, principal: String) async throws -> InternalClient.Reply {
        let client = InternalClient(tls: try InternalTLS(files: try region.pki.files(for: .service(.gateway, eu))))
        defer { Task { try? await client.shutdown() } }
        return try await client.send(method, url: region.backup.baseURL + path, principal: principal, maximumBodyBytes: 64 << 20)
    }

    func json(_ reply: InternalClient.Reply) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] ?? [:]
    }

    /// acme as the data-subject tests seed it, plus an internal note, an attachment and identity's secrets planted in its rows.
    func seeded(_ region: Region1) async throws -> String {
        let (acme, _) = try await requests.seeded(region)
        let staff = try requests.token(region, tenant: acme, slug: "acme", kind: .admin, subject: "user:\(UUID().uuidString.lowercased())",
                                       scopes: ["tickets:read", "tickets:write"], audience: .tickets)
        let (created, ticket) = try await region.send(.service(.gateway, eu), .POST, region.tickets.baseURL + "/api/v1/tickets",
                                                      json: #"{"subject":"Server room","requester":{"email":"ops@example.org"},"message":{"body":"Fans are loud"}}"#,
                                                      principal: staff)
        #expect(created == 201, "\(ticket)")
        let ticketID = try #require((ticket["data"] as? [String: Any])?["id"] as? String)
        let (noted, note) = try await region.send(.service(.gateway, eu), .POST, region.tickets.baseURL + "/api/v1/tickets/\(ticketID)/messages",
                                                  json: #"{"kind":"note","body":"Internal: vendor contract ends in May"}"#, principal: staff)
        #expect(noted == 201, "\(note)")
        let client = InternalClient(tls: try InternalTLS(files: try region.pki.files(for: .service(.gateway, eu))))
        let upload = try await client.send(.POST, url: region.tickets.baseURL + "/api/v1/attachments", principal: staff,
                                           body: TicketsAttachmentTests.form(ticket: ticketID, filename: "rack.txt", content: Data("Rack 7 wiring diagram".utf8)),
                                           contentType: "multipart/form-data; boundary=\(TicketsAttachmentTests.boundary)")
        try? await client.shutdown()
        #expect(upload.status == 201, "\(String(decoding: upload.body, as: UTF8.self))")
        let planted: [Int32] = try await region.audit.superuserValues("""
            WITH pw AS (UPDATE identity.users SET password_hash = '\(Self.passwordHash)' WHERE tenant_id = '\(acme)' RETURNING id, tenant_id),
                 key AS (INSERT INTO identity.api_keys (id, tenant_id, user_id, name, secret_hash, scopes)
                         SELECT 'plantedkey000001', tenant_id, id, 'ci', decode('\(Self.apiKeySecretHex)', 'hex'), '{tickets:read}' FROM pw LIMIT 1 RETURNING 1)
            SELECT 1 FROM key
            """)
        #expect(planted == [1])
        #expect(try await TenantPurgeTests().outboxesDrained(region))
        return acme
    }

    /// Waits for the export to be built; returns its record.
    func completed(_ region: Region1, _ id: String, principal: String) async throws -> [String: Any] {
        var record: [String: Any] = [:]
        let done = try await OutboxRelayTests.eventually {
            record = json(try await call(region, "/api/v1/exports/\(id)", principal: principal))
            return record["state"] as? String != "running"
        }
        #expect(done)
        return record
    }

    /// The archive's members, name and bytes, in order.
    func members(_ path: String) throws -> [(String, Data)] {
        var reader = try TarReader(path: path)
        defer { reader.close() }
        var members: [(String, Data)] = []
        while let (name, size) = try reader.next() {
            var data = Data()
            try reader.readBody(size: size) { data.append($0) }
            members.append((name, data))
        }
        return members
    }

    func write(_ members: [(String, Data)], to path: String) throws {
        var tar = Data()
        for (name, data) in members {
            tar += try TarFormat.header(name: name, size: data.count, modified: Date()) + data + TarFormat.padding(after: data.count)
        }
        try (tar + TarFormat.end).write(to: URL(fileURLWithPath: path))
    }

    @Test func anAdminsExportHoldsTheWholeTenantSignedAndSealedAndNothingOfAnother() async throws {
        try await TenantPurgeTests().withRegion { region in
            let acme = try await seeded(region)
            let admin = try admin(region, acme)
            let requested = try await call(region, .POST, "/api/v1/exports", principal: admin)
            #expect(requested.status == 202, "\(json(requested))")
            let id = try #require(json(requested)["id"] as? String)
            let record = try await completed(region, id, principal: admin)
            #expect(record["state"] as? String == "completed", "\(record)")

            let download = try await call(region, "/api/v1/exports/\(id)/download", principal: admin)
            #expect(download.status == 200)
            #expect(download.headers.first(name: "content-disposition")?.hasPrefix("attachment;") == true)
            #expect(download.headers.first(name: "cache-control") == "no-store")
            #expect((record["size"] as? NSNumber)?.intValue == download.body.count)
            let archive = region.pki.directory.appendingPathComponent("export.tar").path
            try download.body.write(to: URL(fileURLWithPath: archive))

            // Every hash and the signature verify, under the install's key and no other.
            let manifest = try ExportManifest.verify(archiveAt: archive, keys: region.certificateKey.publicKeySet)
            #expect(manifest.tenantID.description == acme)
            #expect(manifest.region == eu)
            #expect(record["manifest_sha256"] as? String == ExportManifest.hex(SHA256.hash(data: try #require(members(archive).first { $0.0 == "manifest.json" }?.1))))
            #expect(throws: ExportVerificationError.badSignature) {
                try ExportManifest.verify(archiveAt: archive, keys: PrincipalSigningKey.generate().publicKeySet)
            }

            // Complete for acme: its people, tickets, replies and notes, attachments' bytes, audit events; nothing of globex; no secrets.
            let contents = try members(archive)
            let text = contents.map { String(decoding: $0.1, as: UTF8.self) }.joined(separator: "\n")
            for expected in ["ada@acme.test", "grace.hopper@example.org", "Grace Hopper", "Printer on fire", "Hopper Lane 1 smells of smoke",
                             "Crane stuck", "Portal question", "Internal: vendor contract ends in May", "Rack 7 wiring diagram", "ticket.created",
                             "export.requested", "\"role\":\"customer\"", "admin.users"] {
                #expect(text.contains(expected), "the archive lacks \(expected)")
            }
            #expect(contents.contains { $0.0.hasPrefix("tickets/attachment-files/") && $0.1 == Data("Rack 7 wiring diagram".utf8) })
            #expect(Set(contents.map { $0.0.split(separator: "/").prefix(2).joined(separator: "/") }).isSuperset(of: [
                "identity/users", "identity/roles", "identity/sso_configurations", "tickets/tickets", "tickets/messages", "tickets/people",
                "tickets/organizations", "tickets/departments", "tickets/teams", "tickets/custom_fields", "tickets/attachments", "audit/events",
            ]))
            #expect(manifest.rows["tickets/tickets"] == 5)
            for foreign in ["globex", "Invoice for globex"] {
                #expect(!text.contains(foreign), "the archive holds \(foreign)")
            }
            let base64Key = Data(stride(from: 0, to: Self.apiKeySecretHex.count, by: 2).map { offset -> UInt8 in
                let start = Self.apiKeySecretHex.index(Self.apiKeySecretHex.startIndex, offsetBy: offset)
                return UInt8(Self.apiKeySecretHex[start..<Self.apiKeySecretHex.index(start, offsetBy: 2)], radix: 16) ?? 0
            }).base64EncodedString()
            for secret in ["$argon2", "plantedHashNeverExported", Self.apiKeySecretHex, base64Key, "password_hash", "secret_hash", "sealed_secret"] {
                #expect(!text.contains(secret), "the archive holds \(secret)")
            }

            // At rest the archive is sealed: none of the tenant's words are in the file.
            let stored = try Data(contentsOf: URL(fileURLWithPath: region.pki.directory.appendingPathComponent("exports/\(acme)/\(id.lowercased()).sealed").path))
            for plain in ["Grace Hopper", "Printer on fire", "manifest.json", "ustar"] {
                #expect(stored.range(of: Data(plain.utf8)) == nil, "the stored archive shows \(plain)")
            }

            // Tampering: a flipped byte, a file added, a file removed, the manifest edited — each named.
            let tampered = region.pki.directory.appendingPathComponent("tampered.tar").path
            let (attachmentName, attachment) = try #require(contents.first { $0.0.hasPrefix("tickets/attachment-files/") })
            var flipped = attachment
            flipped[0] ^= 0x01
            try write(contents.map { $0.0 == attachmentName ? ($0.0, flipped) : $0 }, to: tampered)
            #expect(throws: ExportVerificationError.mismatch(attachmentName)) { try ExportManifest.verify(archiveAt: tampered, keys: region.certificateKey.publicKeySet) }
            try write(contents + [("tickets/attachment-files/extra", Data("planted".utf8))], to: tampered)
            #expect(throws: ExportVerificationError.unlisted("tickets/attachment-files/extra")) {
                try ExportManifest.verify(archiveAt: tampered, keys: region.certificateKey.publicKeySet)
            }
            try write(contents.filter { $0.0 != attachmentName }, to: tampered)
            #expect(throws: ExportVerificationError.missing(attachmentName)) { try ExportManifest.verify(archiveAt: tampered, keys: region.certificateKey.publicKeySet) }
            try write(contents.map { $0.0 == "manifest.json" ? ($0.0, Data(String(decoding: $0.1, as: UTF8.self).replacingOccurrences(of: "\"eu\"", with: "\"us\"").utf8)) : $0 },
                      to: tampered)
            #expect(throws: ExportVerificationError.badSignature) { try ExportManifest.verify(archiveAt: tampered, keys: region.certificateKey.publicKeySet) }

            // The request and the download are in acme's audit log, by the export's id.
            let logged: [String] = try await region.audit.superuserValues(
                "SELECT action FROM audit.events WHERE tenant_id = '\(acme)' AND resource_type = 'export' AND resource_id = '\(id.lowercased())' ORDER BY seq")
            #expect(logged == ["export.requested", "export.downloaded"])
        }
    }

    @Test func onlyTheTenantsAdminsReachAnExportOneAtATimeAndNotAfterItExpired() async throws {
        try await TenantPurgeTests().withRegion { region in
            let acme = try await TenantPurgeTests().tenantWithData(region, slug: "acme")
            let globex = try await TenantPurgeTests().tenantWithData(region, slug: "globex")
            let admin = try admin(region, acme)
            let requested = try await call(region, .POST, "/api/v1/exports", principal: admin)
            let id = try #require(json(requested)["id"] as? String)
            #expect(try await completed(region, id, principal: admin)["state"] as? String == "completed")

            // Another tenant's admin: no such export. An agent: 403. A customer: nothing to see (404).
            let foreign = try self.admin(region, globex, slug: "globex")
            for path in ["/api/v1/exports/\(id)", "/api/v1/exports/\(id)/download"] {
                let reply = try await call(region, path, principal: foreign)
                #expect(reply.status == 404)
                #expect(json(reply)["code"] as? String == "export_not_found")
            }
            #expect((json(try await call(region, "/api/v1/exports", principal: foreign))["data"] as? [Any])?.isEmpty == true)
            let agent = try self.admin(region, acme, kind: .agent, scopes: ["tickets:read", "tickets:write"])
            let customer = try self.admin(region, acme, kind: .customer, scopes: [])
            for (principal, status) in [(agent, 403), (customer, 404)] {
                for (method, path) in [(HTTPMethod.POST, "/api/v1/exports"), (.GET, "/api/v1/exports"), (.GET, "/api/v1/exports/\(id)/download")] {
                    #expect(try await call(region, method, path, principal: principal).status == status, "\(method) \(path)")
                }
            }
            // Another tenant's service can't page through acme's data: only backup may.
            let (direct, _) = try await region.send(.service(.gateway, eu), .POST, region.tickets.baseURL + "/internal/v1/tenants/\(acme)/export/messages", json: "{}")
            #expect(direct == 403)

            // One export of a tenant at a time: while one is running, another is refused.
            let globexID = try #require(TenantID(globex))
            _ = try await region.exporter.exports.start(tenant: globexID, requestedBy: "admin:x", at: Date(), expiresAt: Date().addingTimeInterval(60))
            let busy = try await call(region, .POST, "/api/v1/exports", principal: foreign)
            #expect(busy.status == 409)
            #expect(json(busy)["code"] as? String == "export_running")

            // An operator's export (rampartctl tenant export) downloads an archive that rampartctl export verify accepts.
            let files = try region.pki.files(for: .operator("alice"))
            let out = region.pki.directory.appendingPathComponent("operator-export.tar").path
            let endpoints = region.pki.directory.appendingPathComponent("endpoints-operator.json")
            try JSONSerialization.data(withJSONObject: ["regions": ["eu": ["backup": region.backup.baseURL, "identity": region.identity.baseURL]]]).write(to: endpoints)
            try await TenantCommand.Export.parse([
                "--endpoints", endpoints.path, "--ca", files.caCertificatePath,
                "--cert", files.certificatePath, "--key", files.privateKeyPath, "--region", "eu", "--tenant", acme, "--out", out,
            ]).run()
            let jwks = region.pki.directory.appendingPathComponent("export-jwks.json").path
            try region.certificateKey.publicKeySet.jwks().write(to: URL(fileURLWithPath: jwks))
            try await ExportCommand.Verify.parse([out, "--key", jwks]).run()
            let otherKey = region.pki.directory.appendingPathComponent("other-jwks.json").path
            try PrincipalSigningKey.generate().publicKeySet.jwks().write(to: URL(fileURLWithPath: otherKey))
            await #expect(throws: ControlError.self) { try await ExportCommand.Verify.parse([out, "--key", otherKey]).run() }
            let operatorEvents: [String] = try await region.audit.superuserValues(
                "SELECT actor_type || ':' || action FROM audit.events WHERE tenant_id = '\(acme)' AND actor_type = 'operator' AND resource_type = 'export' ORDER BY seq")
            #expect(operatorEvents == ["operator:export.requested", "operator:export.downloaded"])

            // After its lifetime (7 days) the download is refused; the sweep removes the row and the file.
            region.clock.advance(days: 8)
            let expired = try await call(region, "/api/v1/exports/\(id)/download", principal: admin)
            #expect(expired.status == 410)
            #expect(json(expired)["code"] as? String == "export_expired")
            let file = region.pki.directory.appendingPathComponent("exports/\(acme)/\(id.lowercased()).sealed").path
            #expect(FileManager.default.fileExists(atPath: file))
            await region.exporter.sweep()
            #expect(!FileManager.default.fileExists(atPath: file))
            #expect(try await call(region, "/api/v1/exports/\(id)", principal: admin).status == 404)
        }
    }

    /// A build cut off by a stop (no heartbeat any more) holds the tenant's one running export
    /// for a few minutes, not for a day: then the next request, or the sweep, fails it, and the
    /// sweep deletes what it had written.
    @Test func aBuildCutOffByAStopIsFailedAndItsPartialArchiveDeleted() async throws {
        try await TenantPurgeTests().withRegion { region in
            let acme = try await TenantPurgeTests().tenantWithData(region, slug: "acme")
            let tenant = try #require(TenantID(acme))
            let admin = try admin(region, acme)
            func cutOff() async throws -> TenantExport {
                let now = region.clock.now
                return try #require(try await region.exporter.exports.start(tenant: tenant, requestedBy: "admin:x", at: now, expiresAt: now.addingTimeInterval(86_400)).export)
            }
            let minutes = 1.0 / 1440
            // Cut off before its folder was made, then found by the next request.
            let first = try await cutOff()
            let busy = try await call(region, .POST, "/api/v1/exports", principal: admin)
            #expect(busy.status == 409)
            #expect(json(busy)["code"] as? String == "export_running")
            region.clock.advance(days: 6 * minutes)
            let requested = try await call(region, .POST, "/api/v1/exports", principal: admin)
            #expect(requested.status == 202, "\(json(requested))")
            let id = try #require(json(requested)["id"] as? String)
            #expect(try await completed(region, id, principal: admin)["state"] as? String == "completed")
            let old = json(try await call(region, "/api/v1/exports/\(first.id.uuidString.lowercased())", principal: admin))
            #expect(old["state"] as? String == "failed")
            #expect((old["error"] as? String)?.hasPrefix("interrupted") == true)

            // Cut off with part of its archive written: the sweep fails it and deletes the part.
            let second = try await cutOff()
            let partial = region.pki.directory.appendingPathComponent("exports/\(acme)/\(second.id.uuidString.lowercased()).sealed").path
            try Data("partial".utf8).write(to: URL(fileURLWithPath: partial))
            await region.exporter.sweep()
            #expect(FileManager.default.fileExists(atPath: partial), "a build that beat a moment ago is left alone")
            region.clock.advance(days: 6 * minutes)
            await region.exporter.sweep()
            #expect(!FileManager.default.fileExists(atPath: partial))
            let swept = json(try await call(region, "/api/v1/exports/\(second.id.uuidString.lowercased())", principal: admin))
            #expect(swept["state"] as? String == "failed")
            let finished = region.pki.directory.appendingPathComponent("exports/\(acme)/\(id.lowercased()).sealed").path
            #expect(FileManager.default.fileExists(atPath: finished), "the finished export stays")

            // Cut off with part written, then found by the next request (before any sweep): its part goes too.
            let third = try await cutOff()
            let part = region.pki.directory.appendingPathComponent("exports/\(acme)/\(third.id.uuidString.lowercased()).sealed").path
            try Data("partial".utf8).write(to: URL(fileURLWithPath: part))
            region.clock.advance(days: 6 * minutes)
            let again = try await call(region, .POST, "/api/v1/exports", principal: admin)
            #expect(again.status == 202, "\(json(again))")
            #expect(!FileManager.default.fileExists(atPath: part))
            let last = try #require(json(again)["id"] as? String)
            #expect(try await completed(region, last, principal: admin)["state"] as? String == "completed")
        }
    }

    @Test func aPurgeDeletesTheTenantsExportsAndLeavesCopiesUnreadable() async throws {
        try await TenantPurgeTests().withRegion { region in
            let acme = try await TenantPurgeTests().tenantWithData(region, slug: "acme")
            let admin = try admin(region, acme)
            let id = try #require(json(try await call(region, .POST, "/api/v1/exports", principal: admin))["id"] as? String)
            #expect(try await completed(region, id, principal: admin)["state"] as? String == "completed")
            let file = region.pki.directory.appendingPathComponent("exports/\(acme)/\(id.lowercased()).sealed").path
            let copy = region.pki.directory.appendingPathComponent("copied.sealed").path
            try FileManager.default.copyItem(atPath: file, toPath: copy)
            let tenant = try #require(TenantID(acme)), exportID = try #require(UUID(uuidString: id))
            var before = try SealedArchiveFile.Reader(path: copy, keyring: region.exporter.keyring, tenant: tenant, export: exportID)
            #expect(try await before.next() != nil)
            before.close()

            #expect(try await TenantPurgeTests().outboxesDrained(region))
            let op = CallerIdentity.operator("alice")
            #expect(try await region.send(op, .POST, region.identity.baseURL + "/internal/v1/operator/tenants/acme/cancel").0 == 200)
            let (purged, job) = try await region.send(op, .POST, region.backup.baseURL + "/internal/v1/backup/purges", json: #"{"tenant_id":"\#(acme)","immediately":true}"#)
            #expect(purged == 200, "\(job)")
            #expect(job["state"] as? String == "completed")
            #expect((job["deleted"] as? [[String: Any]])?.first { $0["service"] as? String == "backup" }?["deleted"] as? [String: Int] == ["tenant_exports": 1])
            #expect(!FileManager.default.fileExists(atPath: file))
            #expect(try await region.audit.superuserValues("SELECT count(*) FROM backup.tenant_exports WHERE tenant_id = '\(acme)'", as: Int64.self) == [0])
            var after = try SealedArchiveFile.Reader(path: copy, keyring: region.exporter.keyring, tenant: tenant, export: exportID)
            await #expect(throws: EnvelopeError.tenantKeyDestroyed) { _ = try await after.next() }
        }
    }
}
