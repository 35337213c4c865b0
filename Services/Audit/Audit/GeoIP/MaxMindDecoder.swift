import Foundation

/// Decodes values of one section of a MaxMind DB file (the data section, or the metadata),
/// following the format specification: a control byte (type in the top three bits, extended
/// types in the next byte; payload size in the low five bits, extended by up to three bytes),
/// then the payload. Pointers are offsets from the section's start.
///
/// Every read is checked against the section's bounds, and nesting, pointer chains and the
/// number of values one decode produces are limited, so a corrupt or hostile file is an error,
/// never a crash, an out-of-bounds read or an endless loop.
struct MaxMindDecoder {
    let bytes: [UInt8]
    /// Where the section starts (pointers count from here) and ends (exclusive).
    let start: Int
    let end: Int

    /// Deeper than any real database nests (city records nest three levels).
    static let maxDepth = 32
    /// More values than any real record holds; bounds the work of pointer-heavy files.
    static let maxValues = 100_000

    /// The value at absolute file offset `offset`.
    func decode(at offset: Int) throws -> MaxMindValue {
        var cursor = offset
        var budget = Self.maxValues
        return try decode(&cursor, depth: 0, budget: &budget)
    }

    private func byte(_ offset: Int) throws -> UInt8 {
        guard offset >= start, offset < end else { throw MaxMindError.outOfBounds(offset: offset) }
        return bytes[offset]
    }

    /// `count` bytes at `offset`, inside the section.
    private func slice(_ offset: Int, _ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, offset >= start, offset <= end, count <= end - offset else {
            throw MaxMindError.outOfBounds(offset: offset)
        }
        return bytes[offset..<offset + count]
    }

    /// A big-endian unsigned integer of `count` bytes at `cursor`, advancing it.
    private func unsigned(_ cursor: inout Int, _ count: Int) throws -> UInt64 {
        let value = try slice(cursor, count).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        cursor += count
        return value
    }

    private func decode(_ cursor: inout Int, depth: Int, budget: inout Int) throws -> MaxMindValue {
        let at = cursor
        budget -= 1
        guard depth < Self.maxDepth, budget >= 0 else { throw MaxMindError.tooComplex(offset: at) }
        let control = try byte(cursor)
        cursor += 1
        var type = Int(control >> 5)
        if type == 1 {
            var target = try pointer(control, &cursor)
            guard try byte(target) >> 5 != 1 else { throw MaxMindError.invalidData("pointer to a pointer", offset: at) }
            return try decode(&target, depth: depth + 1, budget: &budget)
        }
        if type == 0 {
            type = 7 + Int(try byte(cursor))
            cursor += 1
            guard (8...15).contains(type) else { throw MaxMindError.invalidData("unknown extended type \(type)", offset: at) }
        }
        let size = try payloadSize(control, &cursor)
        switch type {
        case 2:
            guard let text = String(validating: try slice(cursor, size), as: UTF8.self) else {
                throw MaxMindError.invalidData("string is not UTF-8", offset: at)
            }
            cursor += size
            return .string(text)
        case 3:
            guard size == 8 else { throw MaxMindError.invalidData("double of \(size) bytes", offset: at) }
            return .double(Double(bitPattern: try unsigned(&cursor, 8)))
        case 4:
            let payload = Array(try slice(cursor, size))
            cursor += size
            return .bytes(payload)
        case 5, 6, 9:
            let limit = type == 5 ? 2 : (type == 6 ? 4 : 8)
            guard size <= limit else { throw MaxMindError.invalidData("unsigned integer of \(size) bytes", offset: at) }
            return .unsigned(try unsigned(&cursor, size))
        case 10:
            guard size <= 16 else { throw MaxMindError.invalidData("uint128 of \(size) bytes", offset: at) }
            let payload = Array(try slice(cursor, size).drop { $0 == 0 })
            cursor += size
            return .uint128(payload)
        case 8:
            guard size <= 4 else { throw MaxMindError.invalidData("int32 of \(size) bytes", offset: at) }
            let raw = try unsigned(&cursor, size)
            // Fewer than four bytes are the low bytes of a two's complement int32.
            return .int32(Int32(bitPattern: UInt32(truncatingIfNeeded: raw)))
        case 7:
            var entries: [String: MaxMindValue] = [:]
            for _ in 0..<size {
                guard case .string(let key) = try decode(&cursor, depth: depth + 1, budget: &budget) else {
                    throw MaxMindError.invalidData("map key is not a string", offset: at)
                }
                entries[key] = try decode(&cursor, depth: depth + 1, budget: &budget)
            }
            return .map(entries)
        case 11:
            var items: [MaxMindValue] = []
            for _ in 0..<size { items.append(try decode(&cursor, depth: depth + 1, budget: &budget)) }
            return .array(items)
        case 14:
            guard size <= 1 else { throw MaxMindError.invalidData("boolean of size \(size)", offset: at) }
            return .boolean(size == 1)
        case 15:
            guard size == 4 else { throw MaxMindError.invalidData("float of \(size) bytes", offset: at) }
            return .float(Float(bitPattern: UInt32(try unsigned(&cursor, 4))))
        default:
            // 12 (data cache container) and 13 (end marker) are never a value of a record.
            throw MaxMindError.invalidData("type \(type) where a value belongs", offset: at)
        }
    }

    /// The payload size (or count, for maps and arrays) from the control byte's low five bits.
    private func payloadSize(_ control: UInt8, _ cursor: inout Int) throws -> Int {
        let low = Int(control & 0x1f)
        switch low {
        case 29: return 29 + Int(try unsigned(&cursor, 1))
        case 30: return 285 + Int(try unsigned(&cursor, 2))
        case 31: return 65_821 + Int(try unsigned(&cursor, 3))
        default: return low
        }
    }

    /// The absolute file offset a pointer (control byte `001SSVVV`) points to.
    private func pointer(_ control: UInt8, _ cursor: inout Int) throws -> Int {
        let high = UInt64(control & 0x07)
        let value: UInt64 = switch (control >> 3) & 0x03 {
        case 0: high << 8 | (try unsigned(&cursor, 1))
        case 1: (high << 16 | (try unsigned(&cursor, 2))) + 2048
        case 2: (high << 24 | (try unsigned(&cursor, 3))) + 526_336
        default: try unsigned(&cursor, 4)
        }
        return start + Int(value)
    }
}
