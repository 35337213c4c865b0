/// A JSON request body whose every member must be known: unknown fields are refused (400),
/// so a typo (`"priorty"`) or a field from another API never passes silently.
protocol StrictBody: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

/// A strict body (or nested object): decodes `Value` after checking that no member is unknown.
@dynamicMemberLookup
struct Strict<Value: StrictBody>: Decodable {
    let value: Value

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(Value.CodingKeys.allCases.map(\.stringValue))
        if let unknown = container.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw UnknownField(path: (decoder.codingPath + [unknown]).map(\.stringValue).joined(separator: "."))
        }
        value = try Value(from: decoder)
    }

    subscript<T>(dynamicMember keyPath: KeyPath<Value, T>) -> T { value[keyPath: keyPath] }
}

/// A member name that the body type does not declare.
struct UnknownField: Error {
    let path: String
}

/// Any member name, to list what a JSON object holds.
struct AnyKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
}

/// A field of a partial update: absent (leave it), `null` (clear it) or a value.
enum Patch<Value: Decodable & Sendable>: Sendable {
    case absent
    case clear
    case set(Value)

    /// The patch for `key` of `container`.
    init<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws {
        if !container.contains(key) { self = .absent }
        else if try container.decodeNil(forKey: key) { self = .clear }
        else { self = .set(try container.decode(Value.self, forKey: key)) }
    }

    var isAbsent: Bool { if case .absent = self { true } else { false } }
}
extension Strict: Sendable where Value: Sendable {}
