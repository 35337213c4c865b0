/// One page to render: a template of the service (which extends `layout`), the values it
/// reads, and what the layout shows around it.
public struct WebPage {
    /// How wide the main column is: forms (sign-in) or working screens (lists, tickets).
    public enum Width: String, Sendable {
        case narrow, wide
    }

    public var title: String
    /// The template's name, such as `agent/ticket`.
    public var template: String
    /// What the template reads. Values are escaped when rendered; the key `page` is the layout's.
    public var values: [String: Any]
    public var width: Width = .narrow
    /// The bar with the product's navigation, for signed-in pages.
    public var header: PageHeader?
    /// Messages above the content: errors (`role="alert"`) and notices (`role="status"`).
    public var flashes: [Flash] = []
    /// The session's anti-CSRF token the `csrf` partial puts in every form.
    public var csrfToken: String = ""
    /// Whether the page loads `/assets/rampart.js` (keyboard shortcuts).
    public var script: Bool = false
    public var formTargets: WebHeaders.FormTargets = .sameOrigin

    public init(title: String, template: String, values: [String: Any] = [:]) {
        self.title = title
        self.template = template
        self.values = values
    }

    /// What the layout reads under `page`.
    struct Frame {
        let title: String
        let stylesheet: String
        let script: String
        let hasScript: Bool
        let width: String
        let header: PageHeader?
        let flashes: [Flash]
        let csrfToken: String
    }

    func context(assets: WebAssets) -> [String: Any] {
        var context = values
        context["page"] = Frame(title: title, stylesheet: assets.stylesheet.url, script: assets.script.url, hasScript: script,
                                width: width.rawValue, header: header, flashes: flashes, csrfToken: csrfToken)
        return context
    }
}

/// The bar at the top of signed-in pages: home, the tenant, the sections, who is signed in.
public struct PageHeader: Sendable {
    public let home: String
    public let tenant: String
    public let navLabel: String
    public let links: [Link]
    public let who: String

    public init(home: String, tenant: String, navLabel: String = "Main", links: [Link], who: String) {
        self.home = home
        self.tenant = tenant
        self.navLabel = navLabel
        self.links = links
        self.who = who
    }
}

/// A link; `current` marks the page the user is on (`aria-current="page"`).
public struct Link: Sendable {
    public let label: String
    public let href: String
    public let current: Bool

    public init(_ label: String, _ href: String, current: Bool = false) {
        self.label = label
        self.href = href
        self.current = current
    }
}

/// A message above a page's content; `items` lists several problems under one summary.
public struct Flash: Sendable {
    public let message: String
    public let isError: Bool
    public let items: [String]
    public let hasItems: Bool

    public init(error message: String, items: [String] = []) {
        self.message = message
        isError = true
        self.items = items
        hasItems = !items.isEmpty
    }

    public init(notice message: String) {
        self.message = message
        isError = false
        items = []
        hasItems = false
    }
}

/// Cursor paging links: back to the first page, on to the next.
public struct Pagination: Sendable {
    public let first: String
    public let hasFirst: Bool
    public let next: String
    public let hasNext: Bool

    public init(first: String?, next: String?) {
        self.first = first ?? ""
        hasFirst = first != nil
        self.next = next ?? ""
        hasNext = next != nil
    }
}
