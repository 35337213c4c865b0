/// Where in a request a value comes from.
public enum WAFTargetKind: Int, Sendable, CaseIterable {
    case path, queryName, queryValue, header, cookieName, cookieValue, jsonName, jsonValue
    case formName, formValue, multipartName, multipartFilename, richText

    /// The prefix of target labels in matches and logs (`query:q`, `json:message.subject`).
    var label: String {
        switch self {
        case .path: "path"
        case .queryName: "query-name"
        case .queryValue: "query"
        case .header: "header"
        case .cookieName: "cookie-name"
        case .cookieValue: "cookie"
        case .jsonName: "json-name"
        case .jsonValue: "json"
        case .formName: "form-name"
        case .formValue: "form"
        case .multipartName: "multipart-name"
        case .multipartFilename: "multipart-filename"
        case .richText: "rich-text"
        }
    }

    var bit: UInt32 { 1 << UInt32(rawValue) }
}

/// Which targets a rule inspects, compiled from the rules file's `targets` list.
struct WAFTargetSelector: Sendable {
    /// Kinds selected, as bits of `WAFTargetKind.bit`.
    let kinds: UInt32
    /// For headers: the lowercased names selected, or nil for every header except credentials.
    let headerNames: Set<String>?
    /// Whether protocol checks run (the `request` target).
    let request: Bool

    static let argumentKinds: [WAFTargetKind] = [.queryValue, .jsonValue, .formValue]
    static let argumentNameKinds: [WAFTargetKind] = [.queryName, .jsonName, .formName, .multipartName]

    /// Compiles the names used in the rules file; throws the first unknown one.
    init(_ names: [String]) throws {
        var kinds: [WAFTargetKind] = []
        var headers: Set<String> = []
        var allHeaders = false
        var request = false
        for name in names {
            switch name {
            case "path": kinds.append(.path)
            case "args": kinds += Self.argumentKinds
            case "args_names": kinds += Self.argumentNameKinds
            case "query": kinds.append(.queryValue)
            case "query_names": kinds.append(.queryName)
            case "json": kinds.append(.jsonValue)
            case "json_names": kinds.append(.jsonName)
            case "form": kinds.append(.formValue)
            case "form_names": kinds.append(.formName)
            case "cookies": kinds.append(.cookieValue)
            case "cookie_names": kinds.append(.cookieName)
            case "multipart_names": kinds.append(.multipartName)
            case "multipart_filenames": kinds.append(.multipartFilename)
            case "rich_text": kinds.append(.richText)
            case "request": request = true
            case "headers":
                kinds.append(.header)
                allHeaders = true
            case _ where name.hasPrefix("header:") && name.count > 7:
                kinds.append(.header)
                headers.insert(String(name.dropFirst(7)).lowercased())
            default:
                throw WAFTargetSelectorError(name: name)
            }
        }
        self.kinds = kinds.reduce(0) { $0 | $1.bit }
        self.headerNames = allHeaders ? nil : headers
        self.request = request
    }

    /// Headers `headers` leaves out: credentials are never inspected, cookies are inspected as cookies.
    static let skippedHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    /// Whether `field` is selected.
    @inline(__always) func selects(_ field: RequestField) -> Bool {
        guard kinds & field.kind.bit != 0 else { return false }
        guard field.kind == .header else { return true }
        if let headerNames { return headerNames.contains(field.name) }
        return !Self.skippedHeaders.contains(field.name)
    }
}

/// An unknown name in a rule's `targets`.
struct WAFTargetSelectorError: Error {
    let name: String
}

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
