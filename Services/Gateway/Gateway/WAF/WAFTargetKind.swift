/// Where in a request a value comes from.
public enum WAFTargetKind: Int, Sendable, CaseIterable {
    /// The path, as received.
    case path
    /// A query argument's name or value (percent-decoded once).
    case queryName, queryValue
    /// A header's value (its name is the field name).
    case header
    /// A cookie's name or value.
    case cookieName, cookieValue
    /// A JSON member name or string value, named by its dotted path.
    case jsonName, jsonValue
    /// A form field's name or value.
    case formName, formValue
    /// A multipart part's name or file name.
    case multipartName, multipartFilename
    /// A field configured as rich text (HTML and code allowed).
    case richText

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
