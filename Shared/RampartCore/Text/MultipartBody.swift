import Foundation

/// A `multipart/form-data` body (RFC 7578) taken apart the one way every service reads it: the
/// edge's WAF inspects forms with it and tickets reads forms and uploads with it, so no part can
/// be a file to one and a text field to the other. Strict, and refused (`nil`) rather than
/// guessed at: the body starts with the first delimiter (no preamble); each part has a header
/// block of `Name: value` lines with exactly one `Content-Disposition: form-data` carrying a
/// quoted `name` and at most a quoted `filename` (no unquoted or `filename*` values, no
/// parameter twice); the content runs to the next `CRLF--boundary`.
public struct MultipartBody: Sendable {
    public struct Part: Sendable {
        public let name: String
        /// Set for a file part (empty when a browser sends "no file chosen").
        public let filename: String?
        /// Where the content is in the parsed bytes (a cut-off body's last part runs to their end).
        public let content: Range<Int>
    }

    public let parts: [Part]
    /// Whether the closing delimiter was read. Only a body parsed as `partial` may lack it.
    public let complete: Bool

    /// The boundary of a `multipart/form-data` content type (1–70 bytes, quoted or not).
    public static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        var found: String?
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            guard found == nil else { return nil }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            found = value
        }
        guard let found, (1...70).contains(found.utf8.count), !found.contains(where: { $0 == "\r" || $0 == "\n" }) else { return nil }
        return found
    }

    /// Parses `bytes`. A `partial` body may be cut off anywhere after its first delimiter: the
    /// parts read so far are returned with `complete` false (a part whose headers are cut off is
    /// left out; one whose content is cut off runs to the end of the bytes). At most
    /// `maximumParts` parts.
    public init?(_ bytes: some RandomAccessCollection<UInt8>, boundary: String, partial: Bool = false, maximumParts: Int = 256) {
        let body = Array(bytes)
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard body.count >= delimiter.count, body[0..<delimiter.count].elementsEqual(delimiter) else { return nil }
        var parts: [Part] = []
        var position = delimiter.count
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if partial, body.count - position < 2 { break }
            if body[position...].starts(with: [0x2D, 0x2D]) {
                self.parts = parts
                complete = true
                return
            }
            guard body[position...].starts(with: [0x0D, 0x0A]), parts.count < maximumParts else { return nil }
            position += 2
            guard let headerEnd = Self.find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: position) else {
                guard partial, Self.headersSoFarAreValid(body[position...]) else { return nil }
                break
            }
            guard let disposition = Self.disposition(body[position..<headerEnd]) else { return nil }
            let start = headerEnd + 4
            guard let next = Self.find(separator, in: body, from: start) else {
                guard partial else { return nil }
                parts.append(Part(name: disposition.name, filename: disposition.filename, content: start..<max(start, body.count)))
                break
            }
            parts.append(Part(name: disposition.name, filename: disposition.filename, content: start..<next))
            position = next + separator.count
        }
        self.parts = parts
        complete = false
    }

    /// The `name` and `filename` of a part's header block, which must hold exactly one
    /// `Content-Disposition: form-data` and nothing but well-formed header lines.
    static func disposition(_ block: ArraySlice<UInt8>) -> (name: String, filename: String?)? {
        guard let text = String(validating: block, as: UTF8.self), !text.isEmpty else { return nil }
        var found: (name: String, filename: String?)?
        for line in text.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  !line[..<colon].contains(where: { $0 == " " || $0 == "\t" }) else { return nil }
            guard line[..<colon].lowercased() == "content-disposition" else { continue }
            guard found == nil, let parsed = formData(String(line[line.index(after: colon)...])) else { return nil }
            found = parsed
        }
        return found
    }

    /// `form-data; name="…"[; filename="…"]`, parameters in any order, each once, quoted.
    private static func formData(_ value: String) -> (name: String, filename: String?)? {
        var rest = Substring(value).drop { $0 == " " || $0 == "\t" }
        guard rest.lowercased().hasPrefix("form-data") else { return nil }
        rest = rest.dropFirst("form-data".count)
        var parameters: [String: String] = [:]
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.isEmpty { break }
            guard rest.first == ";" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
            guard let equals = rest.firstIndex(of: "=") else { return nil }
            let key = rest[..<equals].lowercased()
            rest = rest[rest.index(after: equals)...]
            guard ["name", "filename"].contains(key), parameters[key] == nil, rest.first == "\"" else { return nil }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else { return nil }
            parameters[key] = String(rest[..<close])
            rest = rest[rest.index(after: close)...]
        }
        guard let name = parameters["name"], !name.isEmpty else { return nil }
        return (name, parameters["filename"])
    }

    /// Whether the header lines of a cut-off header block are well-formed so far.
    private static func headersSoFarAreValid(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let text = String(validating: bytes, as: UTF8.self) else { return true }
        return text.components(separatedBy: "\r\n").dropLast().allSatisfy { line in
            guard let colon = line.firstIndex(of: ":") else { return false }
            return colon != line.startIndex
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        let first = needle[0]
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
