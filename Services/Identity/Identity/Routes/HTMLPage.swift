import Crypto
import Foundation
import RampartCore
import Hummingbird

/// A server-rendered page of identity's (sign-in, second factor, consent): one layout, every
/// dynamic value escaped, no script at all, a strict Content-Security-Policy and no caching.
struct HTMLPage: Sendable {
    var title: String
    /// The page's body, already escaped where it holds dynamic values (build it with `escape`).
    var body: String

    /// Escapes text for HTML element content and double-quoted attribute values.
    static func escape(_ text: String) -> String {
        HTMLText.escape(text)
    }

    /// A hidden form field.
    static func hidden(_ name: String, _ value: String?) -> String {
        guard let value else { return "" }
        return #"<input type="hidden" name="\#(escape(name))" value="\#(escape(value))">"#
    }

    /// An error summary announced to screen readers, or nothing.
    static func alert(_ message: String?) -> String {
        guard let message else { return "" }
        return #"<p class="error" role="alert">\#(escape(message))</p>"#
    }

    /// The response: `text/html`, `no-store`, a CSP without script, and no framing.
    func response(status: HTTPResponse.Status = .ok) -> Response {
        let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(Self.escape(title)) · Rampart</title>
        <style>\(Self.style)</style>
        </head>
        <body>
        <main>
        <h1>\(Self.escape(title))</h1>
        \(body)
        </main>
        </body>
        </html>
        """
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(string: html)))
        response.headers[.contentType] = "text/html; charset=utf-8"
        response.headers[.cacheControl] = "no-store"
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'sha256-\(Self.styleHash)'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
        return response
    }

    static let style = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}label{display:block;margin-top:1rem;font-weight:600}input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;margin-top:.25rem;border:1px solid #8a93a6;border-radius:4px;font:inherit}button{margin-top:1.5rem;margin-right:.5rem;padding:.6rem 1.2rem;font:inherit;border-radius:4px;border:1px solid #2456c7;background:#2456c7;color:#fff;cursor:pointer}button.secondary{background:#fff;color:#2456c7}.error{color:#a1121a;background:#fdecec;padding:.6rem;border-radius:4px}code{word-break:break-all}:focus-visible{outline:3px solid #f0a500;outline-offset:2px}"

    /// Base64 of the SHA-256 of `style`, allowed by the CSP instead of `'unsafe-inline'`.
    static let styleHash: String = {
        Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()
    }()
}
