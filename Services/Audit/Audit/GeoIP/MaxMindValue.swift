import Foundation

/// A value of a MaxMind DB data section (or of its metadata), as the format specification
/// defines its types. Pointers are followed while decoding, so none remains here.
public indirect enum MaxMindValue: Sendable, Equatable {
    case string(String)
    case double(Double)
    case float(Float)
    case bytes([UInt8])
    /// uint16, uint32 and uint64.
    case unsigned(UInt64)
    /// uint128, big-endian, without leading zero bytes.
    case uint128([UInt8])
    case int32(Int32)
    case boolean(Bool)
    case map([String: MaxMindValue])
    case array([MaxMindValue])

    /// The value at `path` of nested maps (`["location", "latitude"]`), if there is one.
    public subscript(path: String...) -> MaxMindValue? {
        var value: MaxMindValue? = self
        for key in path {
            guard case .map(let entries)? = value else { return nil }
            value = entries[key]
        }
        return value
    }

    /// A double, float or integer as a `Double`.
    public var number: Double? {
        switch self {
        case .double(let value): value
        case .float(let value): Double(value)
        case .unsigned(let value): Double(value)
        case .int32(let value): Double(value)
        default: nil
        }
    }

    public var text: String? {
        if case .string(let value) = self { value } else { nil }
    }

    public var integer: UInt64? {
        if case .unsigned(let value) = self { value } else { nil }
    }
}

/// Why a MaxMind DB file cannot be read; each names what is wrong, never a whole value.
public enum MaxMindError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No metadata marker in the file's last 128 KiB.
    case metadataNotFound
    /// A metadata key is missing or has the wrong type or value.
    case invalidMetadata(String)
    /// A read past the end of the section it must stay inside (a truncated or corrupt file).
    case outOfBounds(offset: Int)
    /// Data that breaks the format (an unknown type, a wrong size, invalid UTF-8 …).
    case invalidData(String, offset: Int)
    /// Nesting or pointer chains deeper, or records larger, than any real database has.
    case tooComplex(offset: Int)

    public var description: String {
        switch self {
        case .metadataNotFound: "no MaxMind DB metadata found (not a .mmdb file, or truncated)"
        case .invalidMetadata(let what): "invalid MaxMind DB metadata: \(what)"
        case .outOfBounds(let offset): "corrupt or truncated MaxMind DB: read past the end at byte \(offset)"
        case .invalidData(let what, let offset): "corrupt MaxMind DB: \(what) at byte \(offset)"
        case .tooComplex(let offset): "corrupt MaxMind DB: data nested too deep or too large at byte \(offset)"
        }
    }
}
