/// One value taken from a request, as the rules see it before their transformations.
struct RequestField {
    var kind: WAFTargetKind
    /// The field's name: query or form argument, lowercased header name, cookie, dotted JSON path.
    var name: String
    var value: [UInt8]
    /// Only letters, digits and spaces: most rules cannot match, so they skip it.
    var isPlain: Bool
    /// The last component of a dotted JSON path (the name exclusions and rich-text fields use).
    let leafName: String

    init(kind: WAFTargetKind, name: String, value: [UInt8]) {
        self.kind = kind
        self.name = name
        self.value = value
        self.isPlain = value.allSatisfy { ASCII.isAlphanumeric($0) || $0 == 0x20 }
        self.leafName = Self.leaf(of: name, kind: kind)
    }

    /// The part of a dotted JSON path after its last dot; other names are their own leaf.
    static func leaf(of name: String, kind: WAFTargetKind) -> String {
        guard kind == .jsonName || kind == .jsonValue || kind == .richText, let dot = name.utf8.lastIndex(of: 0x2E) else { return name }
        return String(name[name.utf8.index(after: dot)...])
    }

    /// The label in matches: `query:q`, `json:message.body`, `path`.
    var label: String { kind == .path ? "path" : "\(kind.label):\(name)" }

}
