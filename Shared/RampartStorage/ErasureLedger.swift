import Foundation
import RampartCore

/// The ids of purged tenants and erased people, kept in a file outside the region databases (so
/// outside their backups) and replayed after every restore, so that a restore cannot bring
/// deleted data back.
/// One JSON object per line, appended and flushed to disk before a purge counts as done; it holds
/// ids and times only, never personal data.
public struct ErasureLedger: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        /// What was erased: `tenant` (`id` is the tenant), `person` (`id` is the erasure's id) or
        /// `person_started`: a person's erasure that services had begun (the same id as its
        /// `person` entry once it completes), replayed alike, so one that stopped half-way is
        /// finished by a restore rather than undone by it.
        public var kind: String
        /// A person's erasure begun in the services (``kind``).
        public static let personStarted = "person_started"
        public var id: UUID
        public var region: Region
        public var erasedAt: Date
        /// SHA-256 (hex) of the signed deletion certificate (a tenant) or of the erasure receipt
        /// (a person) that records the erasure; empty for a started one (no receipt yet).
        public var certificateSHA256: String
        /// A person's tenant.
        public var tenantID: UUID?
        /// A person's ids in the services (identity user ids, tickets person ids).
        public var people: [UUID]?
        /// Whether the person's requested tickets were deleted (the tenant's policy at the time).
        public var deleteTickets: Bool?

        public init(kind: String, id: UUID, region: Region, erasedAt: Date, certificateSHA256: String,
                    tenantID: UUID? = nil, people: [UUID]? = nil, deleteTickets: Bool? = nil) {
            self.kind = kind
            self.id = id
            self.region = region
            self.erasedAt = erasedAt
            self.certificateSHA256 = certificateSHA256
            self.tenantID = tenantID
            self.people = people
            self.deleteTickets = deleteTickets
        }

        enum CodingKeys: String, CodingKey {
            case kind, id, region, people
            case erasedAt = "erased_at"
            case certificateSHA256 = "certificate_sha256"
            case tenantID = "tenant_id"
            case deleteTickets = "delete_tickets"
        }
    }

    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Every entry, oldest first; a missing file is an empty ledger, a damaged line an error
    /// (a ledger that cannot be read must stop a replay, not shorten it).
    public func entries() throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw LedgerError("cannot read \(path)") }
            return []
        }
        return try Self.decode(data, path: path)
    }

    /// Appends `entry` unless the ledger already names the same erasure, and flushes it to disk.
    ///
    /// Several writers may share the file (the replicas of a region's backup service on one
    /// shared volume): the check and the append happen under an exclusive lock on the file
    /// (an open-file-description lock, which NFS and CephFS carry across hosts), so an erasure
    /// is written once and lines never interleave.
    public func append(_ entry: Entry) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let descriptor = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LedgerError("cannot open \(path)") }
        defer { close(descriptor) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        while fcntl(descriptor, Self.lockWaiting, &lock) == -1 {
            guard errno == EINTR else { throw LedgerError("cannot lock \(path)") }
        }
        // Closing the descriptor releases the lock.
        guard try !Self.decode(Self.readAll(descriptor), path: path).contains(where: { $0.kind == entry.kind && $0.id == entry.id }) else { return }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        var line = try encoder.encode(entry)
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else { throw LedgerError("cannot write \(path)") }
    }

    /// `F_OFD_SETLKW` (Linux 3.15): a lock owned by the open file description, so two writers
    /// in one process exclude each other too (a classic POSIX lock would not). Swift's Glibc
    /// module does not export the constant.
    private static let lockWaiting: Int32 = 38

    private static func readAll(_ descriptor: Int32) throws -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var offset: off_t = 0
        while true {
            let count = pread(descriptor, &buffer, buffer.count, offset)
            if count > 0 {
                data.append(buffer, count: count)
                offset += off_t(count)
            } else if count == 0 {
                return data
            } else if errno != EINTR {
                throw LedgerError("cannot read the ledger")
            }
        }
    }

    private static func decode(_ data: Data, path: String) throws -> [Entry] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try data.split(separator: UInt8(ascii: "\n")).enumerated().map { index, line in
            guard let entry = try? decoder.decode(Entry.self, from: Data(line)) else { throw LedgerError("\(path) line \(index + 1) is not a ledger entry") }
            return entry
        }
    }

    public struct LedgerError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
