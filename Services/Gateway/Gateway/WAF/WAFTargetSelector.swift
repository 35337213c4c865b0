/// Which targets a rule inspects, compiled from the rules file's `targets` list.
struct WAFTargetSelector: Sendable {
    /// Kinds selected, as bits of `WAFTargetKind.bit`.
    let kinds: UInt32
    /// Whether every header is selected, except credentials and cookies (`headers`).
    let allHeaders: Bool
    /// Headers selected by name (`header:<name>`), lowercased; these may include credentials.
    let headerNames: Set<String>
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
        self.allHeaders = allHeaders
        self.headerNames = headers
        self.request = request
    }

    /// Headers `headers` leaves out: credentials are never inspected, cookies are inspected as cookies.
    static let skippedHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    /// Whether `field` is selected.
    @inline(__always) func selects(_ field: RequestField) -> Bool {
        guard kinds & field.kind.bit != 0 else { return false }
        guard field.kind == .header else { return true }
        if headerNames.contains(field.name) { return true }
        return allHeaders && !Self.skippedHeaders.contains(field.name)
    }
}

/// An unknown name in a rule's `targets`.
struct WAFTargetSelectorError: Error {
    let name: String
}
