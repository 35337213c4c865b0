import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import RampartCore

/// The templates a service renders its pages with: the kit's layout and partials (`layout`,
/// `header`, `field`, `flash`, `csrf`, `pagination`, `message`, `form-expired`) plus the
/// service's own, in one Mustache library so every page extends the same layout.
///
/// Mustache's `{{value}}` escapes HTML (`& < > " '`), so values are inert wherever they land
/// in element content or quoted attributes. `{{{value}}}` (unescaped) is forbidden for
/// anything but HTML that a sanitizer produced; `WebTemplatesTests` holds every template to it.
public struct WebTemplates: Sendable {
    let library: MustacheLibrary
    public let assets: WebAssets

    /// Loads the kit's templates and assets and, when given, every `*.mustache` below
    /// `serviceDirectory` (named by relative path without extension: `agent/ticket`).
    public init(serviceDirectory: URL? = nil) throws {
        guard let kit = Bundle.module.url(forResource: "Templates", withExtension: nil) else {
            throw WebKitError.missingResource("Templates")
        }
        var library = MustacheLibrary()
        for directory in [kit] + (serviceDirectory.map { [$0] } ?? []) {
            for (name, text) in try Self.templates(in: directory) {
                do {
                    try library.register(text, named: name)
                } catch {
                    throw WebKitError.template(name)
                }
            }
        }
        self.library = library
        assets = try WebAssets()
    }

    /// The templates' names and texts below `directory`.
    static func templates(in directory: URL) throws -> [(String, String)] {
        let root = directory.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { throw WebKitError.missingResource(directory.lastPathComponent) }
        var found: [(String, String)] = []
        for case let relative as String in enumerator where relative.hasSuffix(".mustache") {
            let text = try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
            found.append((String(relative.dropLast(".mustache".count)), text))
        }
        return found
    }

    /// The page's HTML.
    public func render(_ page: WebPage) -> String {
        library.render(page.context(assets: assets), withTemplate: page.template) ?? ""
    }

    /// The page as a response, with the page security headers (`WebHeaders`).
    public func response(_ page: WebPage, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        WebHeaders.apply(to: &headers, formTargets: page.formTargets)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: render(page))))
    }

    /// A short page of paragraphs and links (confirmations, refusals, "not found").
    public func message(_ title: String, _ paragraphs: [String], links: [Link] = [], flash: Flash? = nil, header: PageHeader? = nil,
                        status: HTTPResponse.Status = .ok) -> Response {
        var page = WebPage(title: title, template: "message", values: ["paragraphs": paragraphs, "links": links])
        page.header = header
        if let flash { page.flashes = [flash] }
        if header != nil { page.width = .wide }
        return response(page, status: status)
    }

    /// The answer to a form whose CSRF token did not match: 403 and `formExpiredPage`.
    public func formExpired(_ form: FormBody?, back: String, header: PageHeader? = nil) -> Response {
        response(formExpiredPage(form, back: back, header: header), status: .forbidden)
    }

    /// What happened, and the text fields the user typed (never passwords or tokens) so nothing
    /// is lost; `back` (a local path) reopens the form.
    public func formExpiredPage(_ form: FormBody?, back: String, header: PageHeader? = nil) -> WebPage {
        let kept = (form?.fields ?? [:])
            .filter { name, value in !value.isEmpty && !FormBody.isSecret(name) }
            .sorted { $0.key < $1.key }
            .map { KeptField(name: $0.key, value: $0.value) }
        var page = WebPage(title: "This form has expired", template: "form-expired",
                           values: ["kept": kept, "hasKept": !kept.isEmpty, "back": LocalPath.safe(back)])
        page.header = header
        if header != nil { page.width = .wide }
        page.flashes = [Flash(error: "Your changes were not saved: the form's security token did not match your session.")]
        return page
    }

    /// A field the user typed, shown back after a refused form.
    struct KeptField {
        let name: String
        let value: String
    }
}
