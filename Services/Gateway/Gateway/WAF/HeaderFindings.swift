import NIOPosix
import Synchronization

/// What the rules found in header values seen before. A browser sends the same `User-Agent`,
/// `Accept`, `Accept-Language` and `Accept-Encoding` on every request, and inspecting them (the
/// SQL and XSS tokenizers, the scanner phrases) is a large part of a GET's inspection; their
/// findings depend only on the header's name, its value and the paranoia level, so they are
/// worked out once and looked up afterwards.
///
/// Only the headers in ``remembered`` are kept: those a browser sends alike with every request
/// and that carry nothing secret (not `Referer`, whose URL may hold a reset or sign-in token,
/// nor any credential header), so the names are bounded and no secret outlives its request.
/// Each thread keeps its own table (no lock, nothing shared between the threads that inspect),
/// of at most `capacity` values of at most `maximumValueBytes` each; when it is full it starts
/// over, so a client sending a new value with every request costs a lookup per header and
/// never more memory. A header an exclusion covers in the request at hand is neither looked up
/// nor remembered: exclusions depend on the route.
///
/// A thread has one table, under one thread-specific key for the whole process (keys are few: a
/// key per instance would run out in a process that makes many WAFs, as the tests do). The table
/// belongs to the instance that last used it on that thread; another instance starts it over, so
/// findings of one rule set never answer for another.
final class HeaderFindings: Sendable {
    /// One rule's match in a value: the rule's position in the rule set and the matched fragment.
    struct Finding: Sendable {
        let position: Int
        let fragment: String
    }

    /// Made only by ``key(headerNamed:value:paranoia:)``, for a header whose findings are kept.
    struct Key: Hashable {
        let name: String
        let value: [UInt8]
        let paranoia: Int

        fileprivate init(name: String, value: [UInt8], paranoia: Int) {
            self.name = name
            self.value = value
            self.paranoia = paranoia
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            hasher.combine(paranoia)
            value.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    let capacity: Int
    let maximumValueBytes: Int
    /// This instance among all made in the process, for the tables it owns.
    private let owner: Int
    private static let owners = Atomic<Int>(0)
    private static let tables = ThreadSpecificVariable<Table>()

    /// One thread's findings, and the instance they belong to.
    private final class Table: @unchecked Sendable {
        // @unchecked: each table is read and written by the one thread it was made on.
        var owner: Int
        var findings: [Key: [Finding]] = [:]

        init(owner: Int) {
            self.owner = owner
        }
    }

    /// The headers whose findings are kept (lowercased names).
    static let remembered: Set<String> = [
        "user-agent", "accept", "accept-language", "accept-encoding", "host", "origin", "content-type", "cache-control",
        "pragma", "dnt", "upgrade-insecure-requests", "priority", "te", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
        "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user",
    ]

    init(capacity: Int = 4096, maximumValueBytes: Int = 1024) {
        self.capacity = capacity
        self.maximumValueBytes = maximumValueBytes
        owner = Self.owners.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// The key of header `name` (lowercased) with `value` at `paranoia`; `nil` when the header's
    /// findings are not kept (a header not listed, or a value over `maximumValueBytes`).
    func key(headerNamed name: String, value: [UInt8], paranoia: Int) -> Key? {
        guard value.count <= maximumValueBytes, Self.remembered.contains(name) else { return nil }
        return Key(name: name, value: value, paranoia: paranoia)
    }

    /// The findings remembered for `key` on this thread.
    func findings(for key: Key) -> [Finding]? {
        guard let table = Self.tables.currentValue, table.owner == owner else { return nil }
        return table.findings[key]
    }

    /// Remembers `findings` for `key` on this thread.
    func remember(_ findings: [Finding], for key: Key) {
        let table: Table
        if let existing = Self.tables.currentValue {
            table = existing
        } else {
            table = Table(owner: owner)
            Self.tables.currentValue = table
        }
        if table.owner != owner || table.findings.count >= capacity {
            table.owner = owner
            table.findings.removeAll(keepingCapacity: true)
        }
        table.findings[key] = findings
    }
}
