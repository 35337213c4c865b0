import RampartWeb

/// What a section page shows (`admin/section`), in order: a secret shown once, paragraphs,
/// links, tables with per-row actions, forms.
struct AdminContent {
    var secretLabel = ""
    var secret = ""
    var intro: [String] = []
    var links: [AdminLink] = []
    var search: AdminSearch?
    var tables: [AdminTable] = []
    var forms: [AdminForm] = []

    var values: [String: Any] {
        ["hasSecret": !secret.isEmpty, "secretLabel": secretLabel, "secret": secret, "intro": intro, "links": links,
         "search": search.map { [$0] } ?? [], "tables": tables, "forms": forms]
    }
}

/// A search form above a section's tables: a `GET` of the same page with its fields (no CSRF
/// token: it changes nothing), and a way back to everything when a search is shown.
struct AdminSearch {
    let action: String
    let label: String
    let isFiltered: Bool
    let fields: [FormField]
}

/// A link of a section page; `download` names the file a browser saves it as.
struct AdminLink {
    let label: String
    let href: String
    let download: String
    let hasDownload: Bool

    init(_ label: String, _ href: String, download: String? = nil) {
        self.label = label
        self.href = href
        self.download = download ?? ""
        hasDownload = download != nil
    }
}

/// A table with a caption, column headers and rows; the last column holds each row's actions.
struct AdminTable {
    let caption: String
    let headers: [String]
    let rows: [AdminRow]
    let hasRows: Bool
    let empty: String
    let columns: Int

    /// `showsActions: false` for a table of facts, without the actions column.
    init(caption: String, headers: [String], rows: [AdminRow], empty: String, showsActions: Bool = true) {
        self.caption = caption
        self.headers = headers
        self.rows = rows.map { AdminRow(cells: $0.cells, actions: $0.actions, showsActions: showsActions) }
        hasRows = !rows.isEmpty
        self.empty = empty
        columns = headers.count
    }
}

struct AdminRow {
    let cells: [String]
    let actions: [AdminAction]
    var showsActions = true
}

/// A small form in a row: a button posting to `action`, with its fields.
struct AdminAction {
    let label: String
    let action: String
    let fields: [FormField]
    let secondary: Bool

    init(_ label: String, _ action: String, fields: [FormField] = [], secondary: Bool = false) {
        self.label = label
        self.action = action
        self.fields = fields
        self.secondary = secondary
    }
}

/// A form of a section, under its own heading; `hidden` values go back with it unchanged.
struct AdminForm {
    let id: String
    let heading: String
    let paragraphs: [String]
    let action: String
    let fields: [FormField]
    let button: String
    var hidden: [HiddenValue] = []

    /// A value the page gives the form to send back (the version of what it shows).
    struct HiddenValue {
        let name: String
        let value: String
    }
}
