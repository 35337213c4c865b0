/// The content types attachments may have, judged from their first bytes (never from the name
/// or the declared type, which the uploader controls).
enum AttachmentType: String, Sendable, CaseIterable {
    case png = "image/png"
    case jpeg = "image/jpeg"
    case gif = "image/gif"
    case webp = "image/webp"
    case pdf = "application/pdf"
    case zip = "application/zip"
    case text = "text/plain"

    /// The type of `content`, or nil when it is none of the allowed ones. Text must be valid
    /// UTF-8 without NUL bytes and must not look like markup a browser would render.
    static func sniff(_ content: [UInt8]) -> AttachmentType? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            content.count >= offset + magic.count && Array(content[offset..<offset + magic.count]) == magic
        }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("%PDF-".utf8)) { return .pdf }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return .zip }
        guard !content.isEmpty, !content.contains(0), String(validating: content, as: UTF8.self) != nil else { return nil }
        let head = String(decoding: content.prefix(1024), as: UTF8.self).lowercased()
        let markup = ["<html", "<script", "<svg", "<!doctype", "<body", "<iframe", "<?xml"]
        return markup.contains(where: head.contains) ? nil : .text
    }

    /// The file extension downloads are named with.
    var fileExtension: String {
        switch self {
        case .png: "png"
        case .jpeg: "jpg"
        case .gif: "gif"
        case .webp: "webp"
        case .pdf: "pdf"
        case .zip: "zip"
        case .text: "txt"
        }
    }
}
