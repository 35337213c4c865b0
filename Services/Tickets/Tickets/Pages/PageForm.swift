import Foundation
import Hummingbird
import RampartCore
import RampartWeb

/// A form the agent console or portal posted: `application/x-www-form-urlencoded`, or
/// `multipart/form-data` when it carries files. Text fields as a `FormBody` (each name once),
/// chosen files apart; the empty part a browser sends for "no file chosen" is dropped.
///
/// A multipart form's text fields must all come before its first file, as browsers send the
/// console's forms (their file input is last): the edge's WAF reads such a form's fields up to
/// the first file before streaming the rest, so a text field after a file was never inspected
/// and the form is refused.
struct PageForm: Sendable {
    struct File: Sendable {
        let filename: String
        let content: [UInt8]
    }

    let fields: FormBody
    let files: [File]

    /// Text fields are small; the whole body (files included) stays within the gateway's upload class.
    static let maximumBytes = TicketSettings.attachmentCeiling + 64 * 1024

    /// The posted form, or `nil` when it is not a well-formed form of either kind.
    static func read(_ request: Request) async -> PageForm? {
        let contentType = request.headers[.contentType] ?? ""
        guard let boundary = MultipartBody.boundary(contentType: contentType) else {
            return (try? await FormBody.read(request, limit: 512 * 1024)).map { PageForm(fields: FormBody(fields: $0.fields.mapValues(plain)), files: []) }
        }
        guard let buffer = try? await request.body.collect(upTo: maximumBytes) else { return nil }
        let bytes = Array(buffer.readableBytesView)
        guard let multipart = MultipartBody(bytes, boundary: boundary, maximumParts: 10) else { return nil }
        var fields: [String: String] = [:]
        var files: [File] = []
        var sawFile = false
        for part in multipart.parts {
            let content = bytes[part.content]
            if let filename = part.filename {
                sawFile = true
                if !filename.isEmpty || !content.isEmpty { files.append(File(filename: filename, content: Array(content))) }
                continue
            }
            guard !sawFile, fields[part.name] == nil, let value = String(validating: content, as: UTF8.self) else { return nil }
            fields[part.name] = plain(value)
        }
        return PageForm(fields: FormBody(fields: fields), files: files)
    }

    /// Browsers send textarea line ends as CRLF; what was typed is kept with plain newlines.
    private static func plain(_ value: String) -> String {
        value.replacingOccurrences(of: "\r\n", with: "\n")
    }
}
