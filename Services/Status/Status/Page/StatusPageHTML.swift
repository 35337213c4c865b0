import Crypto
import Foundation

/// The public page: server-rendered HTML with no script at all, one hashed stylesheet, inline
/// SVG uptime bars, and text alternatives for everything drawn.
enum StatusPageHTML {
    static func render(_ snapshot: PageSnapshot) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Rampart status: \(Markup.escape(snapshot.indicatorDescription))</title>
        <link rel="alternate" type="application/atom+xml" title="Incident history (Atom)" href="/history.atom">
        <link rel="alternate" type="application/rss+xml" title="Incident history (RSS)" href="/history.rss">
        <style>\(style)</style>
        </head>
        <body>
        <header><h1>Rampart status</h1>
        <p class="overall \(snapshot.indicator.rawValue)" role="status">\(Markup.escape(snapshot.indicatorDescription))</p></header>
        <main>
        \(notice(snapshot))\(incidentSection(snapshot))\(maintenanceSection(snapshot))<section aria-labelledby="components"><h2 id="components">Components by region</h2>
        <p class="note">Bars show daily uptime over the last 90 days (UTC); the monthly figure is measured against a 99.9&#160;% target.</p>
        \(snapshot.regions.map(region).joined(separator: "\n"))
        </section>
        \(historySection(snapshot))
        </main>
        <footer><p>\(snapshot.lastProbe.map { "Last checked \(Markup.readable($0))." } ?? "Waiting for the first checks.")
        Feeds: <a href="/history.atom">Atom</a>, <a href="/history.rss">RSS</a>. API: <a href="/api/v2/summary.json">/api/v2/summary.json</a>.</p></footer>
        </body>
        </html>
        """
    }

    /// The notice shown while the service's own database cannot be read.
    static func notice(_ snapshot: PageSnapshot) -> String {
        guard snapshot.databaseUnavailable else { return "" }
        let asOf = snapshot.storedAsOf.map { "as of \(Markup.readable($0))" } ?? "unavailable for the moment"
        return "<p class=\"notice\" role=\"alert\">This page cannot reach its own records right now. Component statuses are live; incidents and uptime are shown \(asOf).</p>\n"
    }

    static func incidentSection(_ snapshot: PageSnapshot) -> String {
        let open = snapshot.unresolved
        guard !open.isEmpty else { return "" }
        return "<section aria-labelledby=\"active\"><h2 id=\"active\">Active incidents</h2>\n\(open.map { incident($0, snapshot) }.joined(separator: "\n"))\n</section>\n"
    }

    static func maintenanceSection(_ snapshot: PageSnapshot) -> String {
        let windows = snapshot.activeMaintenances + snapshot.upcomingMaintenances
        guard !windows.isEmpty else { return "" }
        return "<section aria-labelledby=\"maintenance\"><h2 id=\"maintenance\">Maintenance</h2>\n\(windows.map { incident($0, snapshot) }.joined(separator: "\n"))\n</section>\n"
    }

    static func historySection(_ snapshot: PageSnapshot) -> String {
        let past = (snapshot.incidents + snapshot.maintenances).filter { $0.effectiveStatus(at: snapshot.generatedAt).isClosed }
            .sorted { $0.createdAt > $1.createdAt }
        let body = past.isEmpty ? "<p>No incidents in the last 90 days.</p>" : past.map { incident($0, snapshot) }.joined(separator: "\n")
        return "<section aria-labelledby=\"history\"><h2 id=\"history\">Incident history (90 days)</h2>\n\(body)\n</section>"
    }

    /// One incident or window with every update, newest first.
    static func incident(_ incident: Incident, _ snapshot: PageSnapshot) -> String {
        let id = incident.id.uuidString.lowercased()
        let status = incident.effectiveStatus(at: snapshot.generatedAt)
        var tags = "<span class=\"tag \(incident.impact.rawValue)\">\(incident.kind == .maintenance ? "Maintenance" : "Impact: \(incident.impact.rawValue)")</span>"
        if incident.security { tags += " <span class=\"tag security\">Security</span>" }
        let window = incident.scheduledFor.flatMap { start in incident.scheduledUntil.map { end in
            "<p class=\"window\">Scheduled <time datetime=\"\(Markup.iso(start))\">\(Markup.readable(start))</time> to <time datetime=\"\(Markup.iso(end))\">\(Markup.readable(end))</time></p>"
        } } ?? ""
        let affected = incident.componentIDs.isEmpty ? "" : "<p class=\"affected\">Affects: \(incident.componentIDs.map { Markup.escape($0) }.joined(separator: ", "))</p>"
        let updates = incident.updates.map { update in
            "<li><strong>\(Markup.escape(update.status.label))</strong> · <time datetime=\"\(Markup.iso(update.createdAt))\">\(Markup.readable(update.createdAt))</time><p>\(Markup.escape(update.body))</p></li>"
        }.joined()
        return """
        <article class="incident" id="incident-\(id)"><h3>\(Markup.escape(incident.name)) <span class="state">\(Markup.escape(status.label))</span></h3>
        <p>\(tags)</p>\(window)\(affected)<ol class="updates">\(updates)</ol></article>
        """
    }

    static func region(_ view: PageSnapshot.RegionView) -> String {
        let name = "Region \(view.region.rawValue.uppercased())"
        let month = view.month.map { "\(Markup.percent($0)) this month (\($0 >= Uptime.monthlyTarget ? "meets" : "below") the 99.9&#160;% target)" } ?? "No measurements this month"
        let rows = view.components.map { component in
            """
            <li class="component"><div class="row"><span class="name">\(Markup.escape(component.component.kind.displayName))</span>
            <span class="status \(component.status.rawValue)">\(component.status.label)</span></div>
            \(bars(component.days, label: "\(component.component.kind.displayName), \(name)"))
            <div class="legend"><span>90 days ago</span><span>\(Markup.percent(component.span)) uptime</span><span>Today</span></div></li>
            """
        }.joined(separator: "\n")
        return """
        <section class="region" aria-labelledby="region-\(view.region.rawValue)"><h3 id="region-\(view.region.rawValue)">\(name) <span class="status \(view.status.rawValue)">\(view.status.label)</span></h3>
        <p class="month">\(month) · \(Markup.percent(view.span)) over 90 days</p>
        \(bars(view.days, label: name))
        <ul class="components">
        \(rows)
        </ul></section>
        """
    }

    /// Inline SVG: one bar per day coloured by uptime, each with a title; the whole has a text alternative.
    static func bars(_ days: [Uptime.Day], label: String) -> String {
        let measured = days.compactMap(\.uptime)
        let summary = measured.isEmpty ? "no data yet" : "\(measured.filter { $0 < 1 }.count) of \(measured.count) measured days below 100 %"
        let rects = days.enumerated().map { index, day in
            "<rect x=\"\(index * 5)\" y=\"0\" width=\"4\" height=\"34\" rx=\"1\" fill=\"\(color(day.uptime))\"><title>\(day.day): \(Markup.percent(day.uptime))</title></rect>"
        }.joined()
        return "<svg class=\"bars\" viewBox=\"0 0 \(days.count * 5 - 1) 34\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(Markup.escape("\(label): 90-day uptime, \(summary)"))\">\(rects)</svg>"
    }

    static func color(_ uptime: Double?) -> String {
        guard let uptime else { return "#c9ced6" }
        switch uptime {
        case 0.999...: return "#2e9d5b"
        case 0.99..<0.999: return "#8fbf3a"
        case 0.95..<0.99: return "#e8a317"
        default: return "#d64545"
        }
    }

    static let style = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}header,main,footer{max-width:52rem;margin:0 auto;padding:1rem 1.25rem}h1{margin:.5rem 0}h2{margin-top:2rem;font-size:1.3rem}h3{font-size:1.1rem;margin:.25rem 0}.overall{padding:1rem;border-radius:6px;font-weight:700;color:#fff;background:#2e9d5b}.overall.minor{background:#b7791f}.overall.major{background:#c05621}.overall.critical{background:#c53030}.overall.maintenance{background:#2b6cb0}.notice{background:#fff4d6;border:1px solid #e8a317;padding:.75rem;border-radius:6px}.region,.incident{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;padding:1rem;margin:1rem 0}.components{list-style:none;padding:0;margin:0}.component{border-top:1px solid #e2e5ea;padding:.6rem 0}.row,.legend{display:flex;justify-content:space-between;gap:1rem}.legend{font-size:.8rem;color:#5a6275}.bars{width:100%;height:34px;display:block;margin:.3rem 0}.status{font-weight:600}.status.operational{color:#23794a}.status.degraded_performance{color:#8a5a00}.status.partial_outage{color:#b5470f}.status.major_outage{color:#b42323}.status.under_maintenance{color:#2b6cb0}.tag{display:inline-block;font-size:.8rem;padding:0 .5rem;border-radius:4px;background:#e2e5ea}.tag.security{background:#5b21b6;color:#fff}.state{font-weight:400;color:#5a6275}.updates{padding-left:1.2rem}.updates p{margin:.2rem 0 .6rem}.note,.month{color:#5a6275}a{color:#2456c7}:focus-visible{outline:3px solid #f0a500;outline-offset:2px}"

    /// Base64 of the SHA-256 of `style`: the one style the CSP allows.
    static let styleHash: String = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()

    /// No script, no framing, nothing loaded from anywhere; the one stylesheet by hash.
    static let contentSecurityPolicy = "default-src 'none'; style-src 'sha256-\(styleHash)'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}
