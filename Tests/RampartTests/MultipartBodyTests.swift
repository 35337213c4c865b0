import Foundation
import RampartCore
import Testing

/// The one multipart parser the edge's WAF and tickets share: what it reads, and everything it
/// refuses rather than reads one way here and another way there.
@Suite("Multipart bodies: one strict parser for the edge and tickets")
struct MultipartBodyTests {
    static let boundary = "XyZ"

    static func part(_ headers: String, _ content: String) -> String {
        "--\(boundary)\r\n\(headers)\r\n\r\n\(content)\r\n"
    }

    static func body(_ parts: String...) -> [UInt8] {
        Array((parts.joined() + "--\(boundary)--\r\n").utf8)
    }

    static func parse(_ bytes: [UInt8], partial: Bool = false) -> MultipartBody? {
        MultipartBody(bytes, boundary: boundary, partial: partial)
    }

    @Test func readsNamesFileNamesAndContents() throws {
        let bytes = Self.body(Self.part(#"Content-Disposition: form-data; name="ticket_id""#, "abc"),
                              Self.part("Content-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\nContent-Type: text/plain", "hello\r\nworld"),
                              Self.part(#"content-disposition: form-data; filename=""; name="files""#, ""))
        let form = try #require(Self.parse(bytes))
        #expect(form.complete)
        #expect(form.parts.map(\.name) == ["ticket_id", "file", "files"])
        #expect(form.parts.map(\.filename) == [nil, "a b.txt", ""])
        #expect(String(decoding: bytes[form.parts[0].content], as: UTF8.self) == "abc")
        #expect(String(decoding: bytes[form.parts[1].content], as: UTF8.self) == "hello\r\nworld")
        #expect(form.parts[2].content.isEmpty)
    }

    /// Each of these was read differently by the edge's old scanner and tickets' old parser: a
    /// text field could pass the WAF as a file, or the WAF could give up on a body tickets read.
    @Test(arguments: [
        ("an unquoted file name", Self.part(#"Content-Disposition: form-data; name="subject"; filename=x"#, "text")),
        ("an unquoted name", Self.part("Content-Disposition: form-data; name=subject", "text")),
        ("an extended file name", Self.part(#"Content-Disposition: form-data; name="f"; filename*=UTF-8''a.txt"#, "x")),
        ("a name given twice", Self.part(#"Content-Disposition: form-data; name="a"; name="b""#, "x")),
        ("two dispositions", Self.part("Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"", "x")),
        ("an empty header block", "--XyZ\r\n\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\ntext\r\n"),
        ("a disposition that is not form-data", Self.part(#"Content-Disposition: inline; name="subject""#, "text")),
        ("a header line without a name", Self.part("Content-Disposition: form-data; name=\"a\"\r\nno colon here", "x")),
        ("an empty name", Self.part(#"Content-Disposition: form-data; name="""#, "x")),
        ("an unknown parameter", Self.part(#"Content-Disposition: form-data; name="a"; size="3""#, "x")),
    ])
    func refusesAmbiguousParts(_ label: String, _ part: String) {
        #expect(Self.parse(Self.body(part)) == nil, "\(label)")
        #expect(Self.parse(Self.body(part), partial: true) == nil, "\(label), cut off or not")
    }

    @Test func refusesMalformedBodies() {
        let good = Self.part(#"Content-Disposition: form-data; name="a""#, "x")
        #expect(Self.parse(Array(("preamble\r\n" + good + "--XyZ--\r\n").utf8)) == nil, "a preamble")
        #expect(Self.parse(Array(good.utf8)) == nil, "no closing delimiter")
        #expect(Self.parse(Array("--XyZ\r\nno end".utf8)) == nil)
        #expect(Self.parse(Array("--XyZxx".utf8)) == nil, "neither a part nor the end after a delimiter")
        #expect(MultipartBody(Self.body(good, good, good), boundary: Self.boundary, maximumParts: 2) == nil, "too many parts")
        #expect(MultipartBody(Self.body(good, good), boundary: Self.boundary, maximumParts: 2) != nil)
    }

    @Test func aCutOffBodyKeepsWhatWasRead() throws {
        let full = Self.body(Self.part(#"Content-Disposition: form-data; name="subject""#, "Printer"),
                             Self.part("Content-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"", "%PDF-1.7 and more"))
        // Cut inside the file's content: both parts, the file's content to the end.
        let inContent = try #require(Self.parse(Array(full.prefix(full.count - 20)), partial: true))
        #expect(!inContent.complete && inContent.parts.map(\.name) == ["subject", "files"] && inContent.parts[1].filename == "a.pdf")
        // Cut inside the file part's headers: the text field only.
        let text = String(decoding: full, as: UTF8.self)
        let cut = try #require(text.range(of: "filename=")).lowerBound
        let inHeaders = try #require(Self.parse(Array(text[..<cut].utf8), partial: true))
        #expect(inHeaders.parts.map(\.name) == ["subject"] && !inHeaders.complete)
        // The whole body parsed as partial is complete.
        #expect(try #require(Self.parse(full, partial: true)).complete)
        // A cut-off body is refused when not parsed as partial.
        #expect(Self.parse(Array(full.prefix(full.count - 20))) == nil)
    }

    @Test func boundariesComeOnlyFromAFormDataContentType() {
        #expect(MultipartBody.boundary(contentType: "multipart/form-data; boundary=\"XyZ\"") == "XyZ")
        #expect(MultipartBody.boundary(contentType: "Multipart/Form-Data; charset=utf-8; boundary=----abc") == "----abc")
        #expect(MultipartBody.boundary(contentType: "application/json") == nil)
        #expect(MultipartBody.boundary(contentType: "multipart/mixed; boundary=XyZ") == nil)
        #expect(MultipartBody.boundary(contentType: "multipart/form-data; boundary=a; boundary=b") == nil, "two boundaries")
        #expect(MultipartBody.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "b", count: 71)) == nil)
        #expect(MultipartBody.boundary(contentType: "multipart/form-data") == nil)
    }
}
