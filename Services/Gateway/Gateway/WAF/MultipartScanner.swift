import Foundation

/// Reads a `multipart/form-data` body: each part's name, its file name if it is a file, and the
/// value of parts that are not files. File contents are not inspected.
enum MultipartScanner {
    /// One part.
    struct Part {
        var name: [UInt8]
        var filename: [UInt8]?
        /// The part's content when it is not a file.
        var value: [UInt8]?
    }

    /// The boundary parameter of a `Content-Type` value.
    static func boundary(inContentType contentType: String) -> [UInt8]? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty || value.utf8.count > 70 ? nil : Array(value.utf8)
        }
        return nil
    }

    /// The parts of `body`, or nil when it is not valid multipart for `boundary` (cut-off bodies keep
    /// the parts read so far and return them with `complete` false).
    static func parts(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> (parts: [Part], complete: Bool)? {
        let bytes = Array(body)
        let delimiter: [UInt8] = [0x2D, 0x2D] + boundary
        guard var cursor = ASCII.firstIndex(of: delimiter, in: bytes) else { return nil }
        var parts: [Part] = []
        while parts.count < 256 {
            cursor += delimiter.count
            if ASCII.hasPrefix(bytes, at: cursor, "--") { return (parts, true) }
            guard let headersEnd = ASCII.firstIndex(of: [0x0D, 0x0A, 0x0D, 0x0A], in: bytes, from: cursor) else { return (parts, false) }
            let headers = bytes[cursor..<headersEnd]
            let contentStart = headersEnd + 4
            let next = ASCII.firstIndex(of: [0x0D, 0x0A] + delimiter, in: bytes, from: contentStart)
            guard let disposition = contentDisposition(headers), let name = parameter("name", in: disposition) else { return nil }
            let filename = parameter("filename", in: disposition)
            let contentEnd = next ?? bytes.count
            parts.append(Part(name: name, filename: filename, value: filename == nil ? Array(bytes[contentStart..<contentEnd]) : nil))
            guard let next else { return (parts, false) }
            cursor = next + 2
        }
        return (parts, false)
    }

    private static func contentDisposition(_ headers: ArraySlice<UInt8>) -> [UInt8]? {
        for line in headers.split(separator: 0x0A) {
            let text = Array(line.filter { $0 != 0x0D })
            if ASCII.hasPrefix(text, at: 0, "content-disposition:") { return Array(text.dropFirst(20)) }
        }
        return nil
    }

    /// The value of `name="…"` (or unquoted) in a `Content-Disposition` value.
    private static func parameter(_ name: StaticString, in disposition: [UInt8]) -> [UInt8]? {
        var index = 0
        while index < disposition.count {
            let atBoundary = index == 0 || disposition[index - 1] == 0x3B || ASCII.isSpace(disposition[index - 1])
            if atBoundary, ASCII.hasPrefix(disposition, at: index, name), index + name.utf8CodeUnitCount < disposition.count,
               disposition[index + name.utf8CodeUnitCount] == 0x3D {
                var start = index + name.utf8CodeUnitCount + 1
                if start < disposition.count, disposition[start] == 0x22 {
                    start += 1
                    let end = disposition[start...].firstIndex(of: 0x22) ?? disposition.count
                    return Array(disposition[start..<end])
                }
                let end = disposition[start...].firstIndex(of: 0x3B) ?? disposition.count
                return Array(disposition[start..<end])
            }
            index += 1
        }
        return nil
    }
}
