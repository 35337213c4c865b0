import NIOPosix

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
final class HeaderFindings: Sendable {
    /// One rule's match in a value: the rule's position in the rule set and the matched fragment.
    struct Finding: Sendable {
        let position: Int
        let fragment: String
    }

    struct Key: Hashable {
        let name: String
        let value: [UInt8]
        let paranoia: Int

        func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            hasher.combine(paranoia)
            value.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    let capacity: Int
    let maximumValueBytes: Int
    private let tables = ThreadSpecificVariable<Table>()

    /// One thread's findings.
    private final class Table: @unchecked Sendable {
        // @unchecked: each table is read and written by the one thread it was made on.
        var findings: [Key: [Finding]] = [:]
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
    }

    /// Whether the findings of header `name` (lowercased) with a value of `count` bytes are kept.
    func keeps(headerNamed name: String, valueBytes count: Int) -> Bool {
        count <= maximumValueBytes && Self.remembered.contains(name)
    }

    /// The findings remembered for `key` on this thread.
    func findings(for key: Key) -> [Finding]? {
        tables.currentValue?.findings[key]
    }

    /// Remembers `findings` for `key` on this thread (a header ``keeps(headerNamed:valueBytes:)`` allows).
    func remember(_ findings: [Finding], for key: Key) {
        guard keeps(headerNamed: key.name, valueBytes: key.value.count) else { return }
        let table: Table
        if let existing = tables.currentValue {
            table = existing
        } else {
            table = Table()
            tables.currentValue = table
        }
        if table.findings.count >= capacity { table.findings.removeAll(keepingCapacity: true) }
        table.findings[key] = findings
    }
}
