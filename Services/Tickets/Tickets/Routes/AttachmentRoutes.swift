import Foundation
import HTTPTypes
import Hummingbird
import RampartCore
import RampartTransport

/// `POST /api/v1/attachments` (multipart: `file`, and `ticket_id` unless the upload is for a new
/// ticket's first message) and `GET /api/v1/attachments/{id}`.
struct AttachmentRoutes: Sendable {
    let attachments: AttachmentRepository

    struct One: Encodable, Sendable {
        var data: AttachmentRecord
    }

    func register(on api: RouterGroup<AuthenticatedContext>) {
        api.post("attachments") { request, context -> Response in
            let caller = try Caller(context.principal)
            guard let contentType = request.headers[.contentType], let boundary = MultipartBody.boundary(contentType: contentType) else {
                throw ProblemError(status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type", detail: "Send multipart/form-data.")
            }
            let body: [UInt8]
            do {
                // The hard ceiling plus room for the form's own headers; the tenant's limit is checked after.
                body = Array(try await request.body.collect(upTo: TicketSettings.attachmentCeiling + 64 * 1024).readableBytesView)
            } catch {
                throw TicketsError.attachmentTooLarge(limit: TicketSettings.attachmentCeiling)
            }
            guard let form = MultipartBody(body, boundary: boundary, maximumParts: 10) else {
                throw ProblemError(status: .badRequest, code: "malformed_body", title: "Malformed request body", detail: "The body is not valid multipart/form-data.")
            }
            var errors: [ProblemDetailsField] = []
            let unknown = form.parts.map(\.name).filter { $0 != "file" && $0 != "ticket_id" }
            if !unknown.isEmpty {
                throw ProblemError(status: .badRequest, code: "unknown_field", title: "Unknown field", fieldErrors: unknown.map { .init(field: $0, message: "This API has no such field.") })
            }
            let files = form.parts.filter { $0.name == "file" }
            let ticketParts = form.parts.filter { $0.name == "ticket_id" }
            if files.count != 1 || files.first?.filename == nil { errors.append(.init(field: "file", message: "Exactly one file, with a filename.")) }
            // Without `ticket_id` the upload waits for the ticket its creator is about to open.
            var ticket: UUID?
            if !ticketParts.isEmpty {
                ticket = ticketParts.count == 1 ? UUID(uuidString: String(decoding: body[ticketParts[0].content], as: UTF8.self).trimmingCharacters(in: .whitespaces)) : nil
                if ticket == nil { errors.append(.init(field: "ticket_id", message: "One ticket id, or none for a new ticket's first message.")) }
            }
            guard errors.isEmpty, let file = files.first else { throw TicketsError.invalidInput(errors) }
            let record = try await attachments.upload(caller, ticket: ticket, filename: file.filename ?? "", content: Array(body[file.content]), requestID: context.requestID)
            return try TicketsRequest.json(One(data: record), status: .created)
        }
        api.get("attachments/{id}") { _, context -> Response in
            let caller = try Caller(context.principal)
            let (record, content) = try await attachments.download(caller, id: try TicketsRequest.id(context, resource: "attachment"))
            return Self.download(record, content)
        }
    }

    /// An attachment's bytes as a download (never shown inline, never sniffed, never cached),
    /// for the API and the pages alike.
    static func download(_ record: AttachmentRecord, _ content: Data) -> Response {
        let headers: HTTPFields = [
            .contentType: record.contentType,
            .contentDisposition: Self.disposition(record.filename),
            .cacheControl: "private, no-store",
            .contentSecurityPolicy: "default-src 'none'; sandbox",
            .xContentTypeOptions: "nosniff",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: content)))
    }

    /// RFC 8187 `attr-char`s that need no percent-encoding (ASCII letters, digits, `.-_`).
    static let attrChars = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")

    /// `attachment` with an ASCII fallback name and the UTF-8 name (RFC 6266 / 8187).
    static func disposition(_ filename: String) -> String {
        let ascii = String(filename.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
        let encoded = filename.addingPercentEncoding(withAllowedCharacters: Self.attrChars) ?? ascii
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
