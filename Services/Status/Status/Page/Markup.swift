import Foundation
import RampartCore

/// Text made safe for HTML and XML (element content and quoted attributes), and the formats the
/// page, the API and the feeds print numbers and times in.
enum Markup {
    static func escape(_ text: String) -> String {
        HTMLText.escape(text)
    }

    /// `2026-11-29T10:58:45.123Z`, as Statuspage and Atom write times.
    static func iso(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// RFC 822 as RSS requires: `Sun, 29 Nov 2026 10:58:45 +0000`.
    static func rfc822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    /// `29 Nov 2026, 10:58 UTC` for readers.
    static func readable(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "d MMM yyyy, HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    /// `99.95 %`, or an en dash when nothing was measured. Rounded down, so 99.9996 never reads 100.
    static func percent(_ value: Double?) -> String {
        guard let value else { return "–" }
        let hundredths = (value * 10000).rounded(.down) / 100
        return String(format: "%.2f %%", hundredths)
    }
}
