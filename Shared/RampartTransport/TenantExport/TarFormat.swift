import Foundation

/// The POSIX ustar format, written and read here rather than by the `tar` tool: Foundation and
/// NIO offer no archive writer, and the archive is streamed into sealed chunks as it is built, so
/// no plaintext copy ever touches the disk. Only what exports need: regular files, names of at
/// most 100 bytes, sizes below 8 GiB. Any `tar` reads the result (`tar -xf export.tar`).
public enum TarFormat {
    public static let blockSize = 512

    /// The header block of a regular file `name` of `size` bytes.
    public static func header(name: String, size: Int, modified: Date) throws -> Data {
        let nameBytes = Array(name.utf8)
        guard (1...100).contains(nameBytes.count), size >= 0, size < 0o77777777777 else { throw TarError.unsupported(name) }
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], at offset: Int) { block.replaceSubrange(offset..<(offset + bytes.count), with: bytes) }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            Array(String(value, radix: 8).leftPadded(to: width - 1).utf8) + [0]
        }
        put(nameBytes, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(max(0, Int(modified.timeIntervalSince1970)), width: 12), at: 136)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        block[156] = UInt8(ascii: "0")
        put(Array("ustar\0".utf8) + Array("00".utf8), at: 257)
        let checksum = block.reduce(0) { $0 + Int($1) }
        put(Array(String(checksum, radix: 8).leftPadded(to: 6).utf8) + [0, UInt8(ascii: " ")], at: 148)
        return Data(block)
    }

    /// The zeros that fill a member of `size` bytes up to the next block.
    public static func padding(after size: Int) -> Data {
        Data(count: (blockSize - size % blockSize) % blockSize)
    }

    /// The two zero blocks that end an archive.
    public static let end = Data(count: 2 * blockSize)

    /// Name and size of the member a header block describes; `nil` for an end-of-archive block.
    public static func parse(header block: Data) throws -> (name: String, size: Int)? {
        let bytes = [UInt8](block)
        guard bytes.count == blockSize else { throw TarError.truncated }
        if bytes.allSatisfy({ $0 == 0 }) { return nil }
        let stored = Int(String(decoding: bytes[148..<156].prefix { $0 != 0 && $0 != UInt8(ascii: " ") }, as: UTF8.self), radix: 8)
        var copy = bytes
        copy.replaceSubrange(148..<156, with: Array(repeating: UInt8(ascii: " "), count: 8))
        guard stored == copy.reduce(0, { $0 + Int($1) }), bytes[156] == UInt8(ascii: "0") || bytes[156] == 0 else { throw TarError.badHeader }
        let name = String(decoding: bytes[0..<100].prefix { $0 != 0 }, as: UTF8.self)
        guard let size = Int(String(decoding: bytes[124..<136].prefix { $0 != 0 && $0 != UInt8(ascii: " ") }, as: UTF8.self), radix: 8), !name.isEmpty else {
            throw TarError.badHeader
        }
        return (name, size)
    }

    public enum TarError: Error, Equatable, CustomStringConvertible {
        case unsupported(String)
        case badHeader
        case truncated

        public var description: String {
            switch self {
            case .unsupported(let name): "cannot store \(name) in a ustar archive"
            case .badHeader: "a tar header is damaged"
            case .truncated: "the archive ends inside a member"
            }
        }
    }
}

/// Reads a tar file member by member from disk, a bounded chunk at a time.
public struct TarReader {
    let handle: FileHandle

    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        self.handle = handle
    }

    /// The next member's name and size; `nil` at the end of the archive.
    public mutating func next() throws -> (name: String, size: Int)? {
        guard let block = try handle.read(upToCount: TarFormat.blockSize), !block.isEmpty else { return nil }
        return try TarFormat.parse(header: block)
    }

    /// Hands the current member's `size` bytes to `body` in chunks, then skips its padding.
    public mutating func readBody(size: Int, _ body: (Data) throws -> Void) throws {
        var left = size
        while left > 0 {
            guard let chunk = try handle.read(upToCount: min(left, 1 << 20)), !chunk.isEmpty else { throw TarFormat.TarError.truncated }
            try body(chunk)
            left -= chunk.count
        }
        let padding = TarFormat.padding(after: size).count
        if padding > 0 {
            guard try handle.read(upToCount: padding)?.count == padding else { throw TarFormat.TarError.truncated }
        }
    }

    public func close() {
        try? handle.close()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
