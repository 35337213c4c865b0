/// A string type that only holds valid values; coded as a plain JSON string, and decoding an
/// invalid one fails instead of producing a value that should not exist.
public protocol ValidatedString: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible where RawValue == String {}

extension ValidatedString {
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid \(Self.self)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}
