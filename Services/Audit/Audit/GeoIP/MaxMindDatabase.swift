import Foundation

/// A MaxMind DB file (`.mmdb`: GeoLite2 City, DB-IP City Lite …) read into memory, written from
/// the MaxMind DB File Format Specification 2.0: metadata at the end (after the last
/// `\xAB\xCD\xEFMaxMind.com`), a binary search tree of 24-, 28- or 32-bit records, 16 zero bytes,
/// then the data section.
///
/// Opening checks the metadata and that the tree and data section fit the file, so a truncated
/// or corrupt file fails at start; every later read is bounds-checked as well.
public struct MaxMindDatabase: Sendable {
    private let bytes: [UInt8]
    public let nodeCount: Int
    /// Bits per search-tree record: 24, 28 or 32.
    public let recordSize: Int
    /// 4 or 6: the address family of the tree.
    public let ipVersion: Int
    public let databaseType: String
    /// When the database was built.
    public let buildDate: Date
    private let data: MaxMindDecoder
    /// The record value reached after the 96 zero bits of `::/96`, where an IPv6 tree keeps
    /// IPv4 addresses.
    private let ipv4Root: Int

    static let marker: [UInt8] = [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)
    /// The metadata section, marker included, is at most this long.
    static let metadataLimit = 128 * 1024

    public init(contentsOf path: String) throws {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw CocoaError(.fileReadNoSuchFile)
        }
        try self.init(bytes: [UInt8](contents))
    }

    public init(bytes: [UInt8]) throws {
        self.bytes = bytes
        guard let markerStart = Self.lastMarker(in: bytes) else { throw MaxMindError.metadataNotFound }
        let metadataStart = markerStart + Self.marker.count
        let metadata = try MaxMindDecoder(bytes: bytes, start: metadataStart, end: bytes.count).decode(at: metadataStart)
        func number(_ key: String, _ range: ClosedRange<UInt64>) throws -> Int {
            guard let value = metadata[key]?.integer, range.contains(value) else {
                throw MaxMindError.invalidMetadata("\(key) missing or out of range")
            }
            return Int(value)
        }
        guard try number("binary_format_major_version", 0...UInt64(UInt16.max)) == 2 else {
            throw MaxMindError.invalidMetadata("binary_format_major_version is not 2")
        }
        nodeCount = try number("node_count", 1...UInt64(UInt32.max))
        recordSize = try number("record_size", 0...UInt64(UInt16.max))
        guard [24, 28, 32].contains(recordSize) else { throw MaxMindError.invalidMetadata("record_size \(recordSize) is not 24, 28 or 32") }
        ipVersion = try number("ip_version", 0...UInt64(UInt16.max))
        guard ipVersion == 4 || ipVersion == 6 else { throw MaxMindError.invalidMetadata("ip_version is not 4 or 6") }
        guard let type = metadata["database_type"]?.text else { throw MaxMindError.invalidMetadata("database_type missing") }
        databaseType = type
        buildDate = Date(timeIntervalSince1970: TimeInterval(metadata["build_epoch"]?.integer ?? 0))
        let treeSize = recordSize / 4 * nodeCount
        guard treeSize <= markerStart - 16 else { throw MaxMindError.invalidMetadata("search tree larger than the file") }
        guard bytes[treeSize..<treeSize + 16].allSatisfy({ $0 == 0 }) else {
            throw MaxMindError.invalidData("no data section separator after the search tree", offset: treeSize)
        }
        data = MaxMindDecoder(bytes: bytes, start: treeSize + 16, end: markerStart)
        var root = 0
        if ipVersion == 6 {
            for _ in 0..<96 where root < nodeCount {
                root = try Self.record(bytes, node: root, bit: 0, recordSize: recordSize)
            }
        }
        ipv4Root = root
    }

    /// The data record of the network containing `address` (4 or 16 bytes, network order), or
    /// `nil` when the database has none (and for IPv6 addresses in an IPv4 database).
    public func lookup(_ address: [UInt8]) throws -> MaxMindValue? {
        guard address.count == 4 || (address.count == 16 && ipVersion == 6) else { return nil }
        var value = address.count == 4 ? ipv4Root : 0
        var depth = 0
        while value < nodeCount {
            // A tree with a path longer than the address has no record for it: corrupt.
            guard depth < address.count * 8 else { throw MaxMindError.invalidData("search tree deeper than the address", offset: 0) }
            let bit = Int(address[depth / 8] >> (7 - UInt8(depth % 8)) & 1)
            value = try Self.record(bytes, node: value, bit: bit, recordSize: recordSize)
            depth += 1
        }
        guard value > nodeCount else { return nil }
        // The record counts from the tree's start; the data section begins 16 bytes after the tree.
        let offset = (value - nodeCount - 16) + data.start
        guard offset >= data.start, offset < data.end else { throw MaxMindError.outOfBounds(offset: offset) }
        return try data.decode(at: offset)
    }

    /// The left (`bit` 0) or right record of search-tree node `node`.
    private static func record(_ bytes: [UInt8], node: Int, bit: Int, recordSize: Int) throws -> Int {
        let width = recordSize / 4
        let base = node * width
        guard base >= 0, base + width <= bytes.count else { throw MaxMindError.outOfBounds(offset: base) }
        func bigEndian(_ from: Int, _ count: Int) -> Int {
            bytes[from..<from + count].reduce(0) { $0 << 8 | Int($1) }
        }
        switch recordSize {
        case 24:
            return bigEndian(base + bit * 3, 3)
        case 28:
            // The middle byte holds the high four bits of both records.
            let middle = Int(bytes[base + 3])
            return bit == 0 ? (middle >> 4) << 24 | bigEndian(base, 3) : (middle & 0x0f) << 24 | bigEndian(base + 4, 3)
        default:
            return bigEndian(base + bit * 4, 4)
        }
    }

    /// Where the last metadata marker starts, searching only the file's last 128 KiB.
    private static func lastMarker(in bytes: [UInt8]) -> Int? {
        let lowest = max(0, bytes.count - metadataLimit)
        var index = bytes.count - marker.count
        while index >= lowest {
            if bytes[index] == marker[0], bytes[index..<index + marker.count].elementsEqual(marker) { return index }
            index -= 1
        }
        return nil
    }
}
