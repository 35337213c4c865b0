/// Request-level checks for protocol violations and request smuggling, named in the rules file.
public enum ProtocolCheck: String, Sendable, Codable, CaseIterable {
    /// Both `Content-Length` and `Transfer-Encoding` (the classic smuggling pair).
    case lengthWithTransferEncoding = "content_length_with_transfer_encoding"
    /// More than one `Content-Length`, or one holding a list.
    case multipleContentLength = "multiple_content_length"
    /// A `Content-Length` that is not a plain decimal number.
    case invalidContentLength = "invalid_content_length"
    /// A `Transfer-Encoding` other than exactly `chunked`, or more than one.
    case invalidTransferEncoding = "invalid_transfer_encoding"
    /// A header name with characters outside the token set.
    case invalidHeaderName = "invalid_header_name"
    /// A header value with control characters (NUL, CR, LF, DEL, …).
    case invalidHeaderValue = "invalid_header_value"
    /// A header value continued on the next line (obs-fold), or starting with whitespace.
    case obsoleteLineFolding = "obs_fold"
    /// A `%` in the path or query not followed by two hexadecimal digits.
    case invalidURLEncoding = "invalid_url_encoding"
    /// A method that is not a token or not in the rule's `values`.
    case methodNotAllowed = "method_not_allowed"
    /// A JSON, form or multipart body that could not be parsed (a complete body only).
    case malformedBody = "malformed_body"
    /// A query, form body or `Cookie` header of more than ``RequestFields/maximumPairs`` fields:
    /// the rest would go uninspected.
    case tooManyFields = "too_many_fields"

    /// The offending part of the request (header name, value, …), or nil when the request passes.
    func violation(in request: InspectedRequest, headers: HeaderSummary, allowedValues: Set<String>, bodyMalformed: Bool,
                   overflowed: String?) -> (target: String, fragment: String)? {
        switch self {
        case .lengthWithTransferEncoding:
            guard !headers.contentLengths.isEmpty, let encoding = headers.transferEncodings.first else { return nil }
            return ("header:transfer-encoding", encoding)
        case .multipleContentLength:
            let values = headers.contentLengths
            guard values.count > 1 || values.first?.utf8.contains(0x2C) == true else { return nil }
            return ("header:content-length", values.joined(separator: ", "))
        case .invalidContentLength:
            guard let value = headers.contentLengths.first,
                  value.isEmpty || !value.utf8.allSatisfy(ASCII.isDigit) || value.utf8.count > 18 else { return nil }
            return ("header:content-length", value)
        case .invalidTransferEncoding:
            guard let first = headers.transferEncodings.first,
                  headers.transferEncodings.count > 1 || !first.caseInsensitiveEquals("chunked") else { return nil }
            return ("header:transfer-encoding", first)
        case .invalidHeaderName:
            return headers.invalidName.map { ("header-name", $0) }
        case .invalidHeaderValue:
            return headers.invalidValue.map { ("header:\($0.name.lowercased())", $0.value) }
        case .obsoleteLineFolding:
            return headers.folded.map { ("header:\($0.name.lowercased())", $0.value) }
        case .invalidURLEncoding:
            if URLDecoding.hasInvalidEscape(request.rawPath) { return ("path", request.rawPath) }
            if let query = request.rawQuery, URLDecoding.hasInvalidEscape(query) { return ("query", query) }
            return nil
        case .methodNotAllowed:
            let valid = !request.method.isEmpty && request.method.utf8.allSatisfy(Self.isTokenByte)
            guard !valid || (!allowedValues.isEmpty && !allowedValues.contains(request.method)) else { return nil }
            return ("method", request.method)
        case .malformedBody:
            return bodyMalformed ? ("body", request.mediaType ?? "") : nil
        case .tooManyFields:
            return overflowed.map { ($0, "more than \(RequestFields.maximumPairs) fields") }
        }
    }

    /// RFC 9110 token characters.
    @inline(__always) static func isTokenByte(_ byte: UInt8) -> Bool {
        if ASCII.isAlphanumeric(byte) { return true }
        switch byte {
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }
}
