/// What a `Content-Type` says a body is, read the way the gateway's WAF reads it: the media type
/// (RFC 9110 §8.3.1) lowercased, without parameters or surrounding whitespace, compared exactly.
/// A service that parsed `application/jsonx` as JSON, or a body the WAF could not read as UTF-8
/// JSON, would act on fields the WAF never inspected.
public enum MediaType {
    public static let json = "application/json"
    public static let form = "application/x-www-form-urlencoded"

    /// The media type of `contentType`; `nil` without one.
    public static func of(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        var type = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }[...]
        while let first = type.first, first == 0x20 || first == 0x09 { type = type.dropFirst() }
        while let last = type.last, last == 0x20 || last == 0x09 { type = type.dropLast() }
        return String(decoding: type.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// Whether `contentType` is exactly `application/json` (parameters aside).
    public static func isJSON(_ contentType: String?) -> Bool { of(contentType) == json }

    /// Whether `contentType` is exactly `application/x-www-form-urlencoded` (parameters aside).
    public static func isForm(_ contentType: String?) -> Bool { of(contentType) == form }

    /// Whether `body` can be JSON as the WAF reads it: UTF-8 without a byte-order mark (RFC 8259
    /// §8.1), so not UTF-16 or UTF-32 either, which a decoder would transcode behind its back.
    public static func isPlainUTF8JSON<Bytes: Collection>(_ body: Bytes) -> Bool where Bytes.Element == UInt8 {
        !body.starts(with: [0xEF, 0xBB, 0xBF]) && !body.prefix(4).contains(0)
    }
}
