import Foundation

/// The incident history as Atom (`/history.atom`, RFC 4287) and RSS 2.0 (`/history.rss`): one
/// entry per incident or maintenance window, newest change first, its latest update as summary.
enum HistoryFeeds {
    /// The records a feed lists: the 50 most recently changed.
    static func entries(_ snapshot: PageSnapshot) -> [Incident] {
        Array((snapshot.incidents + snapshot.maintenances).sorted { $0.updatedAt > $1.updatedAt }.prefix(50))
    }

    static func title(_ incident: Incident, at now: Date) -> String {
        let prefix = incident.kind == .maintenance ? "Maintenance" : (incident.security ? "Security incident" : "Incident")
        return "\(prefix): \(incident.name) (\(incident.effectiveStatus(at: now).label))"
    }

    static func summary(_ incident: Incident) -> String {
        guard let latest = incident.updates.first else { return incident.name }
        return "\(latest.status.label): \(latest.body)"
    }

    static func link(_ incident: Incident, _ snapshot: PageSnapshot) -> String {
        "\(snapshot.publicURL)/#incident-\(incident.id.uuidString.lowercased())"
    }

    static func atom(_ snapshot: PageSnapshot) -> String {
        let entries = entries(snapshot).map { incident in
            """
            <entry>
            <id>urn:uuid:\(incident.id.uuidString.lowercased())</id>
            <title>\(Markup.escape(title(incident, at: snapshot.generatedAt)))</title>
            <link rel="alternate" type="text/html" href="\(Markup.escape(link(incident, snapshot)))"/>
            <published>\(Markup.iso(incident.createdAt))</published>
            <updated>\(Markup.iso(incident.updatedAt))</updated>
            <summary>\(Markup.escape(summary(incident)))</summary>
            </entry>
            """
        }.joined(separator: "\n")
        return """
        <?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom">
        <id>\(Markup.escape(snapshot.publicURL))/history.atom</id>
        <title>Rampart status: incident history</title>
        <link rel="alternate" type="text/html" href="\(Markup.escape(snapshot.publicURL))/"/>
        <link rel="self" type="application/atom+xml" href="\(Markup.escape(snapshot.publicURL))/history.atom"/>
        <updated>\(Markup.iso(snapshot.updatedAt))</updated>
        <author><name>Rampart</name></author>
        \(entries)
        </feed>
        """
    }

    static func rss(_ snapshot: PageSnapshot) -> String {
        let items = entries(snapshot).map { incident in
            """
            <item>
            <title>\(Markup.escape(title(incident, at: snapshot.generatedAt)))</title>
            <link>\(Markup.escape(link(incident, snapshot)))</link>
            <guid isPermaLink="false">urn:uuid:\(incident.id.uuidString.lowercased())</guid>
            <pubDate>\(Markup.rfc822(incident.updatedAt))</pubDate>
            <description>\(Markup.escape(summary(incident)))</description>
            </item>
            """
        }.joined(separator: "\n")
        return """
        <?xml version="1.0" encoding="utf-8"?>
        <rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
        <channel>
        <title>Rampart status: incident history</title>
        <link>\(Markup.escape(snapshot.publicURL))/</link>
        <description>Incidents and maintenance of the Rampart platform, every region.</description>
        <atom:link href="\(Markup.escape(snapshot.publicURL))/history.rss" rel="self" type="application/rss+xml"/>
        <lastBuildDate>\(Markup.rfc822(snapshot.updatedAt))</lastBuildDate>
        \(items)
        </channel>
        </rss>
        """
    }
}
