import Foundation

/// A `multipart/form-data` body taken apart (RFC 7578): each part's name, filename and bytes.
/// Only what the attachment upload needs; malformed bodies are refused, never guessed at.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var content: ArraySlice<UInt8>
    }

    var parts: [Part]

    /// The boundary of a `multipart/form-data` content type, if that is what it is.
    static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            var value = String(piece.dropFirst("boundary=".count))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// Parses `body`; nil when it is not well-formed multipart with this boundary.
    init?(_ body: [UInt8], boundary: String) {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard body.count >= delimiter.count, Array(body.prefix(delimiter.count)) == delimiter else { return nil }
        var parts: [Part] = []
        var position = delimiter.count
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body[position...].starts(with: [0x2D, 0x2D]) { break }
            guard body[position...].starts(with: [0x0D, 0x0A]) else { return nil }
            position += 2
            guard let headerEnd = Self.find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: position) else { return nil }
            let headers = String(decoding: body[position..<headerEnd], as: UTF8.self)
            guard let next = Self.find(separator, in: body, from: headerEnd + 4) else { return nil }
            guard let disposition = Self.disposition(headers) else { return nil }
            parts.append(Part(name: disposition.name, filename: disposition.filename, content: body[(headerEnd + 4)..<next]))
            position = next + separator.count
            guard parts.count <= 10, position <= body.count else { return nil }
        }
        self.parts = parts
    }

    /// `name` and `filename` of a part's `Content-Disposition: form-data` header.
    private static func disposition(_ headers: String) -> (name: String, filename: String?)? {
        for line in headers.split(separator: "\r\n") {
            let lower = line.lowercased()
            guard lower.hasPrefix("content-disposition:"), lower.contains("form-data") else { continue }
            func parameter(_ key: String) -> String? {
                guard let range = line.range(of: "\(key)=\"", options: .caseInsensitive) else { return nil }
                let rest = line[range.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { return nil }
                return String(rest[..<end])
            }
            guard let name = parameter(" name") ?? parameter(";name") else { return nil }
            return (name, parameter("filename"))
        }
        return nil
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
